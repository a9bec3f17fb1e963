import {Args, Flags} from '@oclif/core'
import {NetlabCommand} from '../cli/base.js'
import {resolveLab} from '../lab/status.js'
import {addressOwners, renderReport} from '../probe/report.js'
import {probeLab} from '../probe/run.js'
import {ONLY_CHOICES, type Only} from '../probe/types.js'
import {readState} from '../state/store.js'

export default class Probe extends NetlabCommand {
  static override description =
    'Prove the Kubernetes network model holds in a lab: pods reach pods, nodes reach pods, and ' +
    'nobody is NATed (the receiver reports the source address it saw). Every pair up to 100 ' +
    'pods, a representative set above (--full: every pair). Exit 0: all passed; 1: something ' +
    'failed; 2: no such lab.'
  static override examples = [
    '<%= config.bin %> probe',
    '<%= config.bin %> probe three-node --only no-nat',
    '<%= config.bin %> probe big --full --json',
  ]
  static override args = {lab: Args.string({description: 'lab name (default: the only lab up)', required: false})}
  static override flags = {
    json: NetlabCommand.jsonFlag,
    full: Flags.boolean({description: 'probe every pair, also in labs of more than 100 pods', default: false}),
    only: Flags.string({
      description: 'run only these checks (repeatable, or comma-separated)',
      options: [...ONLY_CHOICES],
      multiple: true,
      delimiter: ',',
    }),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Probe)
    const lab = resolveLab(args.lab, 'probe')
    const report = await probeLab(lab, {full: flags.full, only: flags.only as Only[] | undefined})
    if (report.failed > 0) {
      // each failure explained in one line by trace (bounded: see src/trace/explain.ts)
      const [{explainFailures}, model] = [await import('../trace/explain.js'), readState(lab)?.model]
      if (model) report.explained = await explainFailures(lab, model, report)
    }
    if (flags.json) this.printJson(report)
    else {
      const model = readState(lab)?.model
      this.log(renderReport(report, {owners: model ? addressOwners(model) : undefined}))
    }
    if (report.failed > 0) process.exitCode = 1
  }
}
