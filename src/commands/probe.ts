import {Flags} from '@oclif/core'
import {NetlabCommand, topologyPath} from '../cli/base.js'
import {UsageError} from '../core/errors.js'
import type {LabModel} from '../model/types.js'
import {resolveLab} from '../lab/status.js'
import {addressOwners, renderReport} from '../probe/render.js'
import {probeLab} from '../probe/run.js'
import {ONLY_CHOICES, type Only, type ProbeReport} from '../probe/types.js'
import {readState} from '../state/store.js'

export default class Probe extends NetlabCommand {
  static override summary = 'Prove pod networking works in a lab, from the kernel.'
  static override description =
    'Prove the Kubernetes network model holds in a lab: pods reach pods, nodes reach pods, and ' +
    'nobody is NATed (the receiver reports the source address it saw); in a lab with Services, that kube-proxy ' +
    'translates each ClusterIP and NodePort to its endpoints as Kubernetes does. Every pair up to 100 ' +
    'pods, a representative set above (--full: every pair). Exit 0: all passed (or no check ' +
    'applied: it says so); 1: something failed; 2: no such lab. --topology probes a lab built by hand (netlab plan --format sh, ' +
    'run with bash): the model comes from the topology, and its namespaces must exist and carry ' +
    "the lab's mark."
  static override examples = [
    '<%= config.bin %> probe',
    '<%= config.bin %> probe three-node --only no-nat',
    '<%= config.bin %> probe services --only services',
    '<%= config.bin %> probe big --full --json',
    '<%= config.bin %> probe big --full --udp',
    '<%= config.bin %> probe --topology three-node',
  ]
  static override args = {lab: NetlabCommand.labArg}
  static override flags = {
    json: NetlabCommand.jsonFlag,
    topology: Flags.string({
      char: 't',
      description: 'a lab built by hand from this topology file (or bundled topology name); no LAB with it',
    }),
    full: Flags.boolean({description: 'probe every pair, also in labs of more than 100 pods', default: false}),
    udp: Flags.boolean({
      description:
        'the no-NAT checks send one UDP datagram each instead of making a TCP connection: faster with --full, and weaker (no handshake)',
      default: false,
    }),
    'all-checks': Flags.boolean({
      description:
        'keep every probe in the report (--json lists each one); by default a big check keeps only its failures, and counts the rest',
      default: false,
    }),
    explain: Flags.boolean({
      description: 'explain each failed check in one line with trace (--no-explain: only the checks and counts)',
      default: true,
      allowNo: true,
    }),
    only: Flags.string({
      description: 'run only these checks (repeatable, or comma-separated)',
      options: [...ONLY_CHOICES],
      multiple: true,
      delimiter: ',',
    }),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Probe)
    const opts = {
      full: flags.full,
      udp: flags.udp,
      only: flags.only as Only[] | undefined,
      allChecks: flags['all-checks'],
      progress: !flags.json,
    }
    let report: ProbeReport
    let model: LabModel | undefined
    if (flags.topology) {
      if (args.lab) throw new UsageError('netlab probe --topology FILE probes the lab built from FILE: name no LAB with it')
      const {handmadeModel, withLabDir} = await import('../lab/handmade.js')
      const given = await handmadeModel(topologyPath(flags.topology))
      report = await withLabDir(given.lab, () => probeLab(given.lab, {...opts, model: given}))
      model = given
    } else {
      const lab = resolveLab(args.lab, 'probe')
      report = await probeLab(lab, opts)
      model = readState(lab)?.model
    }
    if (report.failed > 0 && model && flags.explain) {
      // each failure explained in one line by trace (bounded: see src/trace/explain.ts)
      const {explainFailures} = await import('../trace/explain.js')
      report.explained = await explainFailures(model.lab, model, report)
    }
    if (flags.json) this.printJson(report)
    else this.log(renderReport(report, {owners: model ? addressOwners(model) : undefined}))
    if (report.failed > 0) process.exitCode = 1
  }
}
