import {netlabCmd} from '../core/invocation.js'
import {Args, Flags} from '@oclif/core'
import {NetlabCommand, topologyPath} from '../cli/base.js'
import {DEFAULT_TOPOLOGY} from '../lab/load.js'
import {plural} from '../core/plural.js'

export default class Up extends NetlabCommand {
  static override summary = 'Build a lab from a topology; undo it all on failure or Ctrl-C.'
  static override description = 'Build the lab described by a topology file; on any failure or Ctrl-C, undo everything it did.'
  static override examples = ['<%= config.bin %> up', '<%= config.bin %> up topologies/three-node.yaml']
  static override args = {topology: Args.string({description: `topology YAML file (default ${DEFAULT_TOPOLOGY})`, required: false})}
  static override flags = {
    json: NetlabCommand.jsonFlag,
    quiet: Flags.boolean({char: 'q', description: 'no progress output', default: false}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Up)
    const [{up}, {renderStatus, statusOf}] = await Promise.all([import('../lab/up.js'), import('../lab/status.js')])
    const result = await up(topologyPath(args.topology, DEFAULT_TOPOLOGY), {
      progress: flags.json || flags.quiet ? 'silent' : 'default',
      holdSignals: true,
    })
    const status = statusOf(result.lab)
    if (flags.json)
      return this.printJson({
        ...status,
        actions: result.actions,
        fallbacks: result.fallbacks,
        ms: result.ms,
        ...(result.bgp ? {bgpConvergence: result.bgp} : {}),
        maxRssKB: process.resourceUsage().maxRSS,
      })
    // the hints name the lab: with another lab up, a command without one would only list them
    const [cmd, lab] = [netlabCmd(), result.lab]
    if (!flags.quiet)
      this.log(
        `\n${renderStatus(status)}\n\nlab ${lab} is up: ${plural(result.actions, 'action')} in ${result.ms} ms. ` +
          (result.bgp
            ? `BGP converged in ${result.bgp.ms} ms (${plural(result.bgp.daemons, 'BIRD daemon')}, ${plural(result.bgp.sessions, 'session')}). `
            : '') +
          `Try: ${cmd} probe ${lab}, ${cmd} status ${lab} --json, ${cmd} down ${lab}`,
      )
  }
}
