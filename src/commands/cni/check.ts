import {NetlabCommand} from '../../cli/base.js'
import {resolveLab} from '../../lab/status.js'

export default class CniCheck extends NetlabCommand {
  static override summary = 'Ask every CNI plugin whether each pod is still wired.'
  static override description =
    'Runs CNI CHECK for every pod of a lab wired by CNI (cluster.cni): each plugin of the chain, ' +
    'given the cached ADD result, says whether what it set up is still there. Exit 0: all ' +
    'passed; 1: a pod failed (the plugin and its error result are shown); 2: no such lab, or ' +
    'a lab without CNI.'
  static override examples = ['<%= config.bin %> cni check', '<%= config.bin %> cni check cni-reference --json']
  static override args = {lab: NetlabCommand.labArg}
  static override flags = {json: NetlabCommand.jsonFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(CniCheck)
    const {checkLab, renderCheck} = await import('../../lab/cni-check.js')
    const report = await checkLab(resolveLab(args.lab, 'cni check'))
    if (flags.json) this.printJson(report)
    else this.log(renderCheck(report))
    if (report.failed > 0) process.exitCode = 1
  }
}
