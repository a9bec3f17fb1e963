import {Args} from '@oclif/core'
import {NetlabCommand, topologyPath} from '../cli/base.js'
import {loadLab, DEFAULT_TOPOLOGY} from '../lab/load.js'
import {allPods} from '../model/types.js'

export default class Validate extends NetlabCommand {
  static override description = 'Check a topology file without running anything (no root needed).'
  static override examples = ['<%= config.bin %> validate topologies/three-node.yaml']
  static override args = {topology: Args.string({description: 'topology YAML file', required: false})}
  static override flags = {json: NetlabCommand.jsonFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Validate)
    const file = topologyPath(args.topology, DEFAULT_TOPOLOGY)
    const {model, plan} = loadLab(file)
    const summary = {file, valid: true, lab: model.lab, nodes: model.nodes.length, pods: allPods(model).length, external: model.external.length, actions: plan.actions.length}
    if (flags.json) return this.printJson(summary)
    this.log(`${file}: valid — lab ${model.lab}, ${summary.nodes} nodes, ${summary.pods} pods, ${summary.external} external host(s), ${summary.actions} actions`)
  }
}
