import {Args, Flags} from '@oclif/core'
import {ShortcutCommand} from '../../cli/shortcut.js'

export default class NodeAdd extends ShortcutCommand {
  static override summary = "Add a node (and its pods) to a running lab's topology; apply it."
  static override description =
    "Add node NAME (with N pods, NAME-p0 …, when --pods N) at the end of the lab's topology and " +
    'apply it as netlab apply does: the node joins with the next free subnet and underlay address, ' +
    'and every other node (and router, and VPC route table) learns its route as the routing mode requires.'
  static override usage = ['node add [--lab LAB] NAME [--pods N] [--dry-run] [--json]']
  static override examples = [
    '<%= config.bin %> node add node-3 --pods 2',
    '<%= config.bin %> node add --lab three-node-vxlan node-3 --dry-run',
  ]
  static override args = {
    name: Args.string({description: 'the new node', required: true}),
  }
  static override flags = {
    ...ShortcutCommand.shortcutFlags,
    pods: Flags.integer({description: 'how many pods it runs (NAME-p0, NAME-p1, …)', min: 0}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(NodeAdd)
    const {editAndApply} = await import('../../lab/topology-edit.js')
    const {addNode} = await import('../../topology/edit.js')
    const result = await editAndApply(
      flags.lab,
      'node add --lab',
      (text, name) => addNode(text, name, {name: args.name, pods: flags.pods}),
      {
        dryRun: flags['dry-run'],
      },
    )
    this.report(result, flags.json)
  }
}
