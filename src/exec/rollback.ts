// Undo what the journal says may exist, newest first. Every action inside a lab namespace is
// undone by deleting that namespace, so rollback is exact and fast: one `ip -batch` of
// `netns del`. Only namespaces this lab created are ever deleted.
import type {Plan} from '../plan/types.js'
import {undoArgv} from '../plan/command.js'
import type {Journal, JournalSummary} from '../state/journal.js'
import {existingNetns} from '../state/store.js'
import {NetlabError} from '../cli/errors.js'
import {run} from './runner.js'

export interface RollbackReport {
  /** namespaces deleted */
  deleted: string[]
  /** actions undone (applied or possibly applied) */
  undone: number
}

export async function rollback(plan: Plan, summary: JournalSummary, journal?: Journal): Promise<RollbackReport> {
  const touched = plan.actions.filter((a) => summary.applied.has(a.id) || summary.maybe.has(a.id)).reverse()
  const doomed = new Set(touched.filter((a) => a.creates).map((a) => a.creates!))
  // Anything else must be inside a namespace we delete; a plan that breaks this is a bug.
  for (const a of touched) {
    if (a.undo.kind === 'netns' && !doomed.has(a.undo.netns) && existingNetns().has(a.undo.netns)) {
      throw new NetlabError(`internal error: action ${a.id} (${a.why}) is undone with namespace ${a.undo.netns}, which this lab did not create`)
    }
  }
  const present = existingNetns()
  const lines = touched.filter((a) => a.creates && present.has(a.creates)).map((a) => undoArgv(a.undo).slice(1).join(' '))
  if (lines.length > 0) {
    // -force: keep going if one namespace vanished meanwhile; we check the result below.
    await run('ip', ['-force', '-batch', '-'], {input: lines.join('\n') + '\n'})
  }
  const left = [...doomed].filter((ns) => existingNetns().has(ns))
  if (left.length > 0) throw new NetlabError(`could not delete ${left.length} namespace(s): ${left.slice(0, 5).join(', ')}${left.length > 5 ? ', …' : ''}`)
  journal?.write({t: 'undone', ids: touched.map((a) => a.id)})
  return {deleted: lines.map((l) => l.split(' ').at(-1)!), undone: touched.length}
}
