import {Args} from '@oclif/core'
import {ShortcutCommand} from '../../cli/shortcut.js'

export default class NodeDelete extends ShortcutCommand {
  static override summary = "Delete a node (its pods too) from a running lab's topology; apply it."
  static override description =
    "Delete node NAME and its pods from the lab's topology and apply it as netlab apply does: the " +
    'node and its pods go, and every other node (and router, and VPC route table) forgets its ' +
    'route. A lab keeps at least one node (netlab down removes the whole lab).'
  static override usage = ['node delete [--lab LAB] NAME [--dry-run] [--json]']
  static override examples = ['<%= config.bin %> node delete node-2', '<%= config.bin %> node delete --lab fifty-node node-49 --dry-run']
  static override args = {
    name: Args.string({description: 'the node', required: true}),
  }
  static override flags = {...ShortcutCommand.shortcutFlags}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(NodeDelete)
    const {editAndApply} = await import('../../lab/topology-edit.js')
    const {deleteNode} = await import('../../topology/edit.js')
    const result = await editAndApply(flags.lab, 'node delete --lab', (text, name) => deleteNode(text, name, args.name), {
      dryRun: flags['dry-run'],
    })
    this.report(result, flags.json)
  }
}
