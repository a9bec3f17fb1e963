import {NetlabCommand} from '../cli/base.js'

export default class Fix extends NetlabCommand {
  static override summary = 'Take out the fault netlab break injected, exactly.'
  static override description =
    'Take out the fault netlab break injected into a lab, exactly: each of its changes is undone ' +
    'as it was recorded, so the lab is back to its plan. Nothing to fix is not an error.'
  static override examples = ['<%= config.bin %> fix', '<%= config.bin %> fix three-node --json']
  static override args = {lab: NetlabCommand.labArg}
  static override flags = {json: NetlabCommand.jsonFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Fix)
    const [{fixLab}, {resolveLab}] = await Promise.all([import('../exercise/exercise.js'), import('../lab/status.js')])
    const lab = resolveLab(args.lab, 'fix')
    const fixed = await fixLab(lab)
    const fault = fixed && {kind: fixed.fault.kind, where: fixed.fault.where, what: fixed.fault.what}
    if (flags.json) this.printJson({lab, fixed: !!fixed && !fixed.gone, ...(fault ? {fault} : {}), ...(fixed?.gone ? {gone: true} : {})})
    else if (fixed?.gone)
      this.log(
        `Lab ${lab}: the fault netlab break injected (${fault!.what}, ${fault!.kind}) is no longer in its kernel ` +
          `(a policy apply replaced those rules): nothing to fix.`,
      )
    else
      this.log(
        fault ? `Fixed lab ${lab}: the fault was: ${fault.what} (${fault.kind}).` : `Lab ${lab} has no injected fault: nothing to fix.`,
      )
  }
}
