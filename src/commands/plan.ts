import {Args, Flags} from '@oclif/core'
import {NetlabCommand, topologyPath} from '../cli/base.js'
import {loadLab, printWarnings, DEFAULT_TOPOLOGY} from '../lab/load.js'
import {renderPlan, type PlanFormat} from '../plan/render.js'

export default class Plan extends NetlabCommand {
  static override summary = 'Print the actions that would build a lab, or a bash script.'
  static override description =
    'Print the ordered plan of ip/iptables/sysctl actions that would build the lab. Runs ' + 'nothing; no root needed.'
  static override examples = [
    '<%= config.bin %> plan topologies/three-node.yaml',
    '<%= config.bin %> plan topologies/three-node.yaml --format sh > lab.sh',
  ]
  static override args = {topology: Args.string({description: 'topology YAML file', required: false})}
  static override flags = {
    format: Flags.string({
      description: 'text: grouped and explained; sh: a bash script that builds the same lab by hand; json: data',
      options: ['text', 'sh', 'json'],
      default: 'text',
    }),
    json: Flags.boolean({description: 'same as --format json', default: false}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Plan)
    const {plan, warnings} = loadLab(topologyPath(args.topology, DEFAULT_TOPOLOGY))
    printWarnings(warnings)
    process.stdout.write(renderPlan(plan, (flags.json ? 'json' : flags.format) as PlanFormat) + '\n')
  }
}
