import {Args, Flags} from '@oclif/core'
import {ShortcutCommand} from '../../cli/shortcut.js'

export default class PodAdd extends ShortcutCommand {
  static override summary = "Add a pod to a node in a running lab's topology; apply it."
  static override description =
    "Add pod NAME (NS/NAME in another namespace) to NODE in the lab's topology, as netlab topology " +
    'prints it, and apply it as netlab apply does: only the new pod is made, with a free address of ' +
    "NODE's subnet; every other pod keeps its address. A node whose pods were a count (pods: 2) " +
    'gets them as names (node-0-p0, node-0-p1), so they keep theirs.'
  static override usage = ['pod add [--lab LAB] NODE NAME [--label KEY=VALUE]… [--namespace NS] [--dry-run] [--json]']
  static override examples = [
    '<%= config.bin %> pod add node-1 web-9',
    '<%= config.bin %> pod add --lab policy-three-tier node-0 frontend-9 --label app=shop --label tier=frontend',
    '<%= config.bin %> pod add node-0 x/a --dry-run',
  ]
  static override args = {
    node: Args.string({description: 'the node the pod runs on', required: true}),
    name: Args.string({description: 'the pod: NAME, or NS/NAME outside the default namespace', required: true}),
  }
  static override flags = {
    ...ShortcutCommand.shortcutFlags,
    label: Flags.string({description: 'a label of the pod, KEY=VALUE (repeat it for more)', multiple: true}),
    namespace: Flags.string({char: 'n', description: "the pod's namespace (one the topology lists)"}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(PodAdd)
    const {editAndApply} = await import('../../lab/topology-edit.js')
    const {addPod} = await import('../../topology/edit.js')
    const add = {node: args.node, name: args.name, namespace: flags.namespace, labels: flags.label}
    const result = await editAndApply(flags.lab, 'pod add --lab', (text, name) => addPod(text, name, add), {dryRun: flags['dry-run']})
    this.report(result, flags.json)
  }
}
