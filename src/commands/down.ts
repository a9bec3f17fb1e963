import {netlabCmd} from '../core/invocation.js'
import {Flags} from '@oclif/core'
import {NetlabCommand} from '../cli/base.js'
import {NetlabError, UsageError} from '../core/errors.js'
import type {DownResult} from '../lab/down.js'
import {requireRoot} from '../host/preflight.js'
import {plural} from '../core/plural.js'

export default class Down extends NetlabCommand {
  static override summary = 'Tear a lab down: remove exactly what it created.'
  static override description =
    'Tear a lab down: remove exactly the namespaces (and processes) it created. Safe to ' + 'repeat; works after a crash.'
  static override examples = ['<%= config.bin %> down', '<%= config.bin %> down three-node', '<%= config.bin %> down --all']
  static override args = {lab: NetlabCommand.labArg}
  static override flags = {
    all: Flags.boolean({description: 'tear down every lab', default: false}),
    json: NetlabCommand.jsonFlag,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Down)
    const {down, knownLabs} = await import('../lab/down.js')
    const {stuckMessage} = await import('../host/processes.js')
    requireRoot('netlab down')
    let labs: string[]
    if (flags.all) labs = await knownLabs()
    else if (args.lab) labs = [args.lab]
    else {
      labs = await knownLabs()
      if (labs.length > 1)
        throw new UsageError(`${labs.length} labs are up (${labs.join(', ')}); say which (${netlabCmd()} down LAB) or use --all`)
    }
    const results: DownResult[] = []
    for (const lab of labs) results.push(await down(lab))
    const {recordDown, wasDown} = await import('../state/history.js')
    for (const r of results) if (r.changed) recordDown(r.lab)
    // a lab named that had nothing at all (no state, no namespace named for it) and was never
    // taken down here: a typo must not look like success. Leftovers without state were still
    // cleaned by down() above; a second down of a lab is "nothing to do", exit 0.
    const [only] = results
    if (args.lab && !flags.all && !only.changed && only.keptUnmarked.length === 0 && !wasDown(args.lab)) {
      const up = await knownLabs()
      throw new UsageError(`no lab named ${args.lab} is up (${up.length ? `labs up: ${up.join(', ')}` : 'no lab is up'})`)
    }
    // the lab's processes must be gone when `down` returns: one that is not is a failure
    const stuck = results.filter((r) => r.stuckProcesses.length > 0).map((r) => stuckMessage(r.lab, r.stuckProcesses))
    if (flags.json) {
      this.printJson({labs: results, maxRssKB: process.resourceUsage().maxRSS})
      if (stuck.length > 0) throw new NetlabError(stuck.join('\n'))
      return
    }
    if (results.length === 0 || results.every((r) => !r.changed)) {
      this.log(`nothing to do: ${args.lab ? `lab ${args.lab} is not up` : 'no lab is up'}`)
    }
    for (const r of results) {
      if (r.changed)
        this.log(
          `lab ${r.lab} is down: ${plural(r.deletedNetns, 'namespace')} deleted` +
            `${r.stoppedProcesses ? `, ${plural(r.stoppedProcesses, 'process', 'processes')} stopped` : ''} in ${r.ms} ms`,
        )
      if (r.skippedCniDels)
        this.warn(
          `lab ${r.lab}: ${plural(r.skippedCniDels, 'CNI undo call')} of its plan.json not run: ${r.skippedCniWhy ?? 'nothing vouches for the plugins they would run'}`,
        )
      if (r.keptUnmarked.length) {
        const shown = r.keptUnmarked.slice(0, 5).join(', ') + (r.keptUnmarked.length > 5 ? ` and ${r.keptUnmarked.length - 5} more` : '')
        this.warn(`left alone, named like lab ${r.lab} but without its mark (delete them yourself if they ` + `are yours): ${shown}`)
      }
    }
    if (stuck.length > 0) throw new NetlabError(stuck.join('\n'))
  }
}
