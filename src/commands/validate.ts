import {Args} from '@oclif/core'
import {NetlabCommand, topologyPath} from '../cli/base.js'
import {loadLab, printWarnings, DEFAULT_TOPOLOGY} from '../lab/load.js'
import {allPods} from '../model/types.js'
import {plural} from '../core/plural.js'

export default class Validate extends NetlabCommand {
  static override summary = 'Check a topology file without running anything.'
  static override description =
    'Parse the file, build the model and compile the plan, touching nothing (no root needed). ' +
    'Each problem is one line, file:line:column: message; with --json, every problem the file ' +
    'has is listed (exit 2).'
  static override examples = ['<%= config.bin %> validate topologies/three-node.yaml']
  static override args = {topology: Args.string({description: 'topology YAML file', required: false})}
  static override flags = {json: NetlabCommand.jsonFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Validate)
    const file = topologyPath(args.topology, DEFAULT_TOPOLOGY)
    const {model, plan, warnings} = loadLab(file)
    const policies = model.policies ? {policies: model.policies.length} : {}
    const summary = {
      file,
      valid: true,
      lab: model.lab,
      nodes: model.nodes.length,
      pods: allPods(model).length,
      external: model.external.length,
      ...policies,
      actions: plan.actions.length,
      warnings: warnings.map((w) => w.message),
    }
    printWarnings(warnings)
    if (flags.json) return this.printJson(summary)
    const withPolicies = model.policies ? `, ${plural(model.policies.length, 'policy', 'policies')}` : ''
    const warned = warnings.length ? ` (${plural(warnings.length, 'warning')})` : ''
    this.log(
      `${file}: valid — lab ${model.lab}, ${plural(summary.nodes, 'node')}, ${plural(summary.pods, 'pod')}, ` +
        `${plural(summary.external, 'external host')}${withPolicies}, ${plural(summary.actions, 'action')}${warned}`,
    )
  }
}
