import {netlabCmd} from '../../core/invocation.js'
import {Args, Flags} from '@oclif/core'
import {NetlabCommand} from '../../cli/base.js'
import {UsageError} from '../../core/errors.js'
import {printWarnings} from '../../lab/load.js'
import {resolveLab} from '../../lab/status.js'
import {renderPlan} from '../../plan/render.js'
import {plural} from '../../core/plural.js'

export default class PolicyApply extends NetlabCommand {
  static override summary = 'Replace the network policies of a running lab, atomically.'
  static override description =
    'Replace the policies of a lab that is up with those in FILE (a policies: list, as in a ' +
    'topology), atomically on each node with iptables-restore; on any failure the lab keeps ' +
    'its old policies. With --namespace NS, only the policies of namespace NS are replaced (every ' +
    'policy of FILE is in NS; [] deletes them) and the others stay as they are. Then run netlab probe.'
  static override examples = [
    '<%= config.bin %> policy apply tighter.yaml',
    '<%= config.bin %> policy apply policy-three-tier tighter.yaml',
    '<%= config.bin %> policy apply tighter.yaml --dry-run',
    '<%= config.bin %> policy apply netpol-e2e x-policies.yaml --namespace x',
  ]
  static override args = {
    lab: Args.string({description: 'lab name (default: the only lab up); with one argument, that is FILE', required: false}),
    file: Args.string({description: 'a YAML file holding policies: (a list; [] removes every policy)', required: false}),
  }
  static override everyProblem = true // validate does not read a policy file: say every problem here
  static override flags = {
    json: NetlabCommand.jsonFlag,
    namespace: Flags.string({
      char: 'n',
      description: "replace only this namespace's policies (FILE's are all in it); the other namespaces' stay",
    }),
    'dry-run': Flags.boolean({
      description: "print the change (each node's new rules, with why) and run nothing; no root needed",
      default: false,
    }),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(PolicyApply)
    const [given, file] = args.file === undefined ? [undefined, args.lab] : [args.lab, args.file]
    if (!file) throw new UsageError('say which policy file: netlab policy apply [LAB] FILE')
    const {planPolicyChange, applyPolicies, policyChanges} = await import('../../lab/policy.js')
    const ns = flags.namespace
    const change = planPolicyChange(resolveLab(given, 'policy apply'), file, ns)
    const diff = ns === undefined ? undefined : policyChanges(change)
    printWarnings(change.warnings)
    const fault = (await import('../../exercise/exercise.js')).faultWarning(change.state.lab, change.plan)
    if (fault) process.stderr.write(`netlab: warning: ${fault}\n`)
    if (flags['dry-run']) {
      process.stdout.write(renderPlan(change.plan, flags.json ? 'json' : 'text') + '\n')
      if (diff && !flags.json) this.log(`namespace ${ns}, if applied: ${changesText(diff)}`)
      return
    }
    const result = await applyPolicies(change)
    if (flags.json)
      return this.printJson({
        ...result,
        ...(diff ? {namespace: ns, ...diff} : {}),
        warnings: [...change.warnings.map((w) => w.message), ...(fault ? [fault] : [])],
      })
    const wired = result.wired ? ' (its nodes now route same-node pod traffic through themselves)' : ''
    const scoped = diff ? ` (namespace ${ns}: ${changesText(diff)})` : ''
    this.log(
      `lab ${result.lab}${scoped}: ${plural(result.policies, 'policy', 'policies')} in force on ${plural(result.nodes, 'node')}${wired}, ` +
        `${plural(result.actions, 'action')} in ${result.ms} ms. ` +
        `Try: ${netlabCmd()} probe ${result.lab}`,
    )
  }
}

/** "created a; changed x/b; deleted none": what a --namespace apply did to each policy. */
function changesText(d: {created: string[]; changed: string[]; deleted: string[]}): string {
  const list = (names: string[]) => names.join(', ') || 'none'
  return `created ${list(d.created)}; changed ${list(d.changed)}; deleted ${list(d.deleted)}`
}
