import {Args, Flags} from '@oclif/core'
import {NetlabCommand, topologyPath} from '../cli/base.js'
import {printWarnings} from '../lab/load.js'
import {renderPlan} from '../plan/render.js'

export default class Apply extends NetlabCommand {
  static override summary = 'Change a running lab into a new topology, by the difference.'
  static override description =
    'Compare a running lab (the one TOPOLOGY names) with TOPOLOGY and make only the difference: pods and nodes ' +
    'added or removed, every other node kept in step as its routing mode requires, Services and policies ' +
    'rewritten where they change. What stays keeps its addresses. On any failure or Ctrl-C the lab is put back ' +
    "exactly as it was. What cannot change in place (the routing mode, the ranges, a node's subnet) is refused."
  static override examples = ['<%= config.bin %> apply my-lab.yaml --dry-run', '<%= config.bin %> apply my-lab.yaml']
  static override args = {topology: Args.string({description: 'the new topology (its name: says which lab)', required: true})}
  static override flags = {
    json: NetlabCommand.jsonFlag,
    'dry-run': Flags.boolean({description: 'print the change plan and run nothing; no root needed', default: false}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Apply)
    const {applyTopology, applyText, applyJson} = await import('../lab/apply.js')
    const result = await applyTopology({file: topologyPath(args.topology)}, {dryRun: flags['dry-run']})
    printWarnings(result.warnings)
    if (flags.json) return this.printJson(applyJson(result))
    this.log(applyText(result, (p) => renderPlan(p, 'text')))
  }
}
