import {NetlabCommand} from '../../cli/base.js'
import {resolveLab} from '../../lab/status.js'

export default class CniGc extends NetlabCommand {
  static override summary = "Have every CNI plugin free what no pod of the lab holds (CNI 1.1's GC)."
  static override description =
    'Runs CNI GC on every node of a lab wired by CNI (cluster.cni) whose network speaks ' +
    'cniVersion 1.1.0: each plugin of the chain gets the attachments still valid ' +
    '(cni.dev/valid-attachments: the pods with a cached ADD result) and frees everything else it ' +
    'holds on the network, e.g. an address whose DEL never ran. Exit 0: every node done; 1: a ' +
    "plugin's GC failed (shown); 2: no such lab, a lab without CNI, a network older than 1.1.0 " +
    'or one with disableGC.'
  static override examples = ['<%= config.bin %> cni gc', '<%= config.bin %> cni gc cni-netlab --json']
  static override args = {lab: NetlabCommand.labArg}
  static override flags = {json: NetlabCommand.jsonFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(CniGc)
    const {gcLab, renderGc} = await import('../../lab/cni-gc.js')
    const report = await gcLab(resolveLab(args.lab, 'cni gc'))
    if (flags.json) this.printJson(report)
    else this.log(renderGc(report))
    if (report.failed > 0) process.exitCode = 1
  }
}
