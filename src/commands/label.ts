import {Args, Flags} from '@oclif/core'
import {NetlabCommand} from '../cli/base.js'
import {resolveLab} from '../lab/status.js'
import {renderPlan} from '../plan/render.js'
import {plural} from '../core/plural.js'
import {netlabCmd} from '../core/invocation.js'

export default class Label extends NetlabCommand {
  static override summary = "Change a pod's or a namespace's labels on a running lab."
  static override description =
    'Set (key=value) or remove (key-) labels of a pod (NAME, or NS/NAME outside default) or, with ' +
    '--namespace and no pod, of a namespace. The lab keeps the new labels, and the policy rules of ' +
    'its nodes are rebuilt for what the policies now select, as policy apply does: atomically, ' +
    "journaled, rolled back on failure. A Service's endpoints stay as up made them."
  static override usage = ['label [--lab LAB] POD KEY=VALUE|KEY- …', 'label [--lab LAB] --namespace NS KEY=VALUE|KEY- …']
  static override examples = [
    '<%= config.bin %> label x/a app=blue',
    '<%= config.bin %> label --lab netpol x/a app- tier=db',
    '<%= config.bin %> label --namespace y team=b',
  ]
  static override strict = false
  static override args = {
    target: Args.string({description: 'the pod (NAME, or NS/NAME); with --namespace and no pod, the first label', required: true}),
  }
  static override flags = {
    lab: NetlabCommand.labFlag,
    namespace: Flags.string({description: "change this namespace's labels (or, before a pod's NAME, the pod's namespace)"}),
    json: NetlabCommand.jsonFlag,
    'dry-run': Flags.boolean({description: "print the change (each node's new rules) and run nothing", default: false}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Label)
    const {planLabelChange, applyPolicies, labelsAfter} = await import('../lab/policy.js')
    const change = planLabelChange(resolveLab(flags.lab, 'label --lab'), argv as string[], flags.namespace)
    if (flags['dry-run']) {
      process.stdout.write(renderPlan(change.plan, flags.json ? 'json' : 'text') + '\n')
      return
    }
    const result = await applyPolicies(change)
    const labels = labelsAfter(change)
    if (flags.json) return this.printJson({...result, ...change.target, labels})
    const what = 'pod' in change.target ? `pod ${change.target.pod}` : `namespace ${change.target.namespace}`
    const text =
      Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || '(none)'
    this.log(
      `lab ${result.lab}: ${what} has labels ${text}; rules rebuilt on ${plural(result.nodes, 'node')}, ` +
        `${plural(result.actions, 'action')} in ${result.ms} ms. Try: ${netlabCmd()} probe ${result.lab}`,
    )
  }
}
