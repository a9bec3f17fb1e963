import {NetlabCommand} from '../cli/base.js'

export default class Topology extends NetlabCommand {
  static override summary = "Print a running lab's topology: what to edit for netlab apply."
  static override description =
    'The topology the lab was brought up from, as its text (comments and all), changed by every ' +
    'apply and shortcut (pod add, node delete, …) since. Save it, edit it, and give it to netlab ' +
    'apply. --json: {lab, file (where up read it from), yaml (the text), topology (the same as data)}.'
  static override examples = [
    '<%= config.bin %> topology',
    '<%= config.bin %> topology three-node > lab.yaml',
    '<%= config.bin %> topology three-node --json',
  ]
  static override args = {lab: NetlabCommand.labArg}
  static override flags = {json: NetlabCommand.jsonFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Topology)
    const {labTopology, topologyJson} = await import('../lab/topology-edit.js')
    const t = labTopology(args.lab, 'topology')
    if (flags.json) return this.printJson(topologyJson(t))
    process.stdout.write(t.yaml.endsWith('\n') || t.yaml === '' ? t.yaml : `${t.yaml}\n`)
  }
}
