import {Args, Flags} from '@oclif/core'
import {NetlabCommand} from '../cli/base.js'

export default class Break extends NetlabCommand {
  static override summary = 'Inject one realistic fault into a lab, without saying where.'
  static override description =
    'An exercise: inject one realistic fault into a running lab (a random one unless FAULT is ' +
    'named; never the MTU fault, which only trace can find) without saying where — a deleted route, forwarding off, a pod-to-pod masquerade, a ' +
    'stray DROP, and on VXLAN labs a wrong overlay MTU or a missing fdb entry. Find it with ' +
    'netlab probe and netlab trace; netlab fix takes it out. --list lists the kinds.'
  static override usage = 'break [LAB] [FAULT] [--seed N] [--reveal] [--list]'
  static override examples = [
    '<%= config.bin %> break',
    '<%= config.bin %> break three-node-vxlan fdb',
    '<%= config.bin %> break --seed 42',
    '<%= config.bin %> break --list',
  ]
  static override args = {
    lab: Args.string({description: 'the lab (default: the only lab up); a fault kind here means the only lab up', required: false}),
    fault: Args.string({description: 'the kind of fault (default: a random kind that applies to the lab)', required: false}),
  }
  static override flags = {
    json: NetlabCommand.jsonFlag,
    seed: Flags.integer({description: 'pick the fault with this seed (the same seed picks the same fault)', min: 0}),
    reveal: Flags.boolean({description: 'say what was broken, and where', default: false}),
    list: Flags.boolean({description: 'list the kinds of fault (those the lab can take, when a lab is up)', default: false}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Break)
    const [{breakLab, kindsFor}, {FAULT_KINDS, FAULT_TEXT}, {resolveLab}, {listLabs}] = await Promise.all([
      import('../exercise/exercise.js'),
      import('../exercise/faults.js'),
      import('../lab/status.js'),
      import('../state/store.js'),
    ])
    // `netlab break fdb`: a kind where the lab would be
    const kindFirst = args.lab !== undefined && args.fault === undefined && (FAULT_KINDS as readonly string[]).includes(args.lab)
    const [labArg, kind] = kindFirst ? [undefined, args.lab] : [args.lab, args.fault]
    if (flags.list) {
      const lab = labArg ?? (listLabs().length === 1 ? listLabs()[0] : undefined)
      const kinds = kindsFor(lab)
      if (flags.json) this.printJson(FAULT_KINDS.map((k) => ({kind: k, what: FAULT_TEXT[k], applies: kinds.includes(k)})))
      else
        this.log(
          FAULT_KINDS.map((k) => `${kinds.includes(k) ? ' ' : '-'} ${k.padEnd(10)} ${FAULT_TEXT[k]}`).join('\n') +
            (lab ? `\n(- : lab ${lab} cannot take it)` : ''),
        )
      return
    }
    const lab = resolveLab(labArg, 'break')
    const seed = flags.seed ?? Math.floor(Math.random() * 2 ** 31)
    const {fault} = await breakLab(lab, kind, seed)
    const revealed = {kind: fault.kind, where: fault.where, what: fault.what}
    if (flags.json) this.printJson({lab, injected: true, seed, ...(flags.reveal ? {fault: revealed} : {})})
    else {
      this.log(`A fault was injected into lab ${lab}; find it with netlab probe and netlab trace. netlab fix ${lab} takes it out.`)
      this.log(flags.reveal ? `It: ${fault.what} (${fault.kind}).` : `(seed ${seed}; --reveal says what it was)`)
    }
  }
}
