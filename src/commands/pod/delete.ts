import {Args, Flags} from '@oclif/core'
import {ShortcutCommand} from '../../cli/shortcut.js'

export default class PodDelete extends ShortcutCommand {
  static override summary = "Delete a pod from a running lab's topology; apply it."
  static override description =
    "Delete pod NAME (NS/NAME in another namespace) from the lab's topology and apply it as netlab " +
    'apply does: only that pod goes (its namespace, its routes; CNI DEL in a CNI lab), and its ' +
    'address is free again. A node whose pods were a count gets the other pods as names, so they keep theirs.'
  static override usage = ['pod delete [--lab LAB] NAME [--namespace NS] [--dry-run] [--json]']
  static override examples = ['<%= config.bin %> pod delete web-2', '<%= config.bin %> pod delete --lab netpol-e2e x/a --dry-run']
  static override args = {
    name: Args.string({description: 'the pod: NAME, or NS/NAME outside the default namespace', required: true}),
  }
  static override flags = {
    ...ShortcutCommand.shortcutFlags,
    namespace: Flags.string({char: 'n', description: "the pod's namespace"}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(PodDelete)
    const {editAndApply} = await import('../../lab/topology-edit.js')
    const {deletePod} = await import('../../topology/edit.js')
    const result = await editAndApply(flags.lab, 'pod delete --lab', (text, name) => deletePod(text, name, args.name, flags.namespace), {
      dryRun: flags['dry-run'],
    })
    this.report(result, flags.json)
  }
}
