import {Args, Flags} from '@oclif/core'
import {NetlabCommand, topologyPath} from '../cli/base.js'
import {UsageError} from '../core/errors.js'
import {loadLab, printWarnings, DEFAULT_TOPOLOGY} from '../lab/load.js'
import {ownerMark} from '../core/names.js'
import {renderPlan, renderTeardown, type PlanFormat} from '../plan/render.js'
import {stateRoot} from '../state/paths.js'

export default class Plan extends NetlabCommand {
  static override summary = 'Print the actions that would build a lab, or a bash script.'
  static override description =
    'Print the ordered plan of ip/iptables/sysctl actions that would build the lab. Runs ' +
    'nothing; no root needed. --format sh is the hard way: a bash script that builds the lab ' +
    'command by command (bash lab.sh), rolls back on a failing command or Ctrl-C, and tears it ' +
    'down again (bash lab.sh down, or the script --teardown prints); netlab probe --topology ' +
    'proves a lab built so.'
  static override examples = [
    '<%= config.bin %> plan topologies/three-node.yaml',
    '<%= config.bin %> plan three-node --format sh > lab.sh && sudo bash lab.sh',
    '<%= config.bin %> probe --topology three-node',
    '<%= config.bin %> plan three-node --teardown > teardown.sh',
  ]
  static override args = {topology: Args.string({description: 'topology YAML file', required: false})}
  static override flags = {
    format: Flags.string({
      description: 'text: grouped and explained; sh: a bash script that builds the same lab by hand; json: data',
      options: ['text', 'sh', 'json'],
    }),
    teardown: Flags.boolean({description: 'print the bash script that tears the lab down instead', default: false}),
    json: Flags.boolean({description: 'same as --format json', default: false}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Plan)
    const format = (flags.json ? 'json' : (flags.format ?? (flags.teardown ? 'sh' : 'text'))) as PlanFormat
    if (flags.teardown && format !== 'sh') throw new UsageError('--teardown prints a bash script: use it with --format sh (or alone)')
    const {model, plan, warnings} = loadLab(topologyPath(args.topology, DEFAULT_TOPOLOGY))
    printWarnings(warnings)
    // the mark the plan gives each namespace (it names the state directory when it is not the default)
    const owner = ownerMark(model.lab, stateRoot())
    process.stdout.write((flags.teardown ? renderTeardown(plan, {owner}) : renderPlan(plan, format, {owner})) + '\n')
  }
}
