// Undo what the journal says may exist, newest first. Every action inside a lab namespace is
// undone by deleting that namespace, so rollback is exact and fast: the undo commands of the
// other actions (`ip netns del`, mostly) run in order, batched, and only namespaces this lab
// created are ever deleted.
import {tmpdir} from 'node:os'
import type {Action, Command, UndoPlan} from '../core/actions.js'
import {undoCommands} from '../tools/command.js'
import {ipWord} from '../tools/ip.js'
import type {Journal, JournalSummary} from '../state/journal.js'
import {existingNetns} from '../state/store.js'
import {NetlabError} from '../core/errors.js'
import {runBatchDirect} from './batch.js'
import {runInNamespaces} from './fanout.js'
import {run} from './runner.js'
import {concurrency} from '../core/concurrency.js'
import type {Batch} from './schedule.js'
import {plural} from '../core/plural.js'

export interface RollbackReport {
  /** namespaces deleted */
  deleted: string[]
  /** actions undone (applied or possibly applied) */
  undone: number
}

export async function rollback(plan: Pick<UndoPlan, 'actions'>, summary: JournalSummary, journal?: Journal): Promise<RollbackReport> {
  const touched = plan.actions
    .filter((a) => summary.applied.has(a.id) || summary.maybe.has(a.id) || (a.undoFailed && summary.failed?.has(a.id)))
    .reverse()
  const doomed = touched.filter((a) => a.creates).map((a) => a.creates!)
  const doomedSet = new Set(doomed)
  const present = existingNetns()
  // Anything else must be inside a namespace we delete; a plan that breaks this is a bug.
  for (const a of touched) {
    if (a.undo.kind === 'netns' && !doomedSet.has(a.undo.netns) && present.has(a.undo.netns)) {
      throw new NetlabError(
        `internal error: action ${a.id} (${a.why}) is undone with namespace ${a.undo.netns}, which ` + `this lab did not create`,
      )
    }
  }
  await runUndo(touched.flatMap((a) => (a.undo.kind === 'commands' ? undoCommands(a.undo) : [])))
  const after = existingNetns()
  const left = doomed.filter((ns) => after.has(ns))
  if (left.length > 0)
    throw new NetlabError(
      `could not delete ${plural(left.length, 'namespace')}: ` + `${left.slice(0, 5).join(', ')}${left.length > 5 ? ', …' : ''}`,
    )
  journal?.write({t: 'undone', ids: touched.map((a) => a.id)})
  return {deleted: doomed.filter((ns) => present.has(ns)), undone: touched.length}
}

/**
 * Run undo commands in order; consecutive ones of one tool in one place share a batch. Best
 * effort: a command whose object is already gone must not stop the others (the caller checks
 * what must be gone), so root ip batches run with -force and other failures are ignored.
 */
export async function runUndo(commands: Command[]): Promise<void> {
  const batches: Batch[] = []
  for (const c of commands) {
    const last = batches.at(-1)
    const action: Action = {...c, id: -1, phase: 'undo', why: 'undo', undo: {kind: 'commands', commands: []}}
    if (last && last.tool === c.tool && last.netns === c.netns) last.actions.push(action)
    else batches.push({netns: c.netns, tool: c.tool, actions: [action]})
  }
  for (let k = 0; k < batches.length; k++) {
    const b = batches[k]
    if (b.tool === 'cni' && b.netns !== null) {
      // CNI DELs of different nodes are independent (a runtime per node): run them side by side
      const group = [b]
      while (batches[k + 1]?.tool === 'cni' && batches[k + 1].netns !== null && !group.some((g) => g.netns === batches[k + 1].netns))
        group.push(batches[++k])
      const present = existingNetns()
      const lanes = group.filter((g) => present.has(g.netns!)).map((g) => ({netns: g.netns, batches: [g]}))
      if (lanes.length > 0) await runInNamespaces(lanes, {parallel: concurrency(), workDir: tmpdir()})
      continue
    }
    if (b.netns === null && b.tool === 'ip') {
      // a namespace that is already gone needs no deleting
      const present = existingNetns()
      const lines = b.actions
        .filter((a) => !(a.args[0] === 'netns' && a.args[1] === 'del' && !present.has(a.args[2])))
        .map((a) => a.args.map(ipWord).join(' '))
      if (lines.length > 0) await run('ip', ['-force', '-batch', '-'], {input: lines.join('\n') + '\n'})
    } else if (b.netns === null) await runBatchDirect(b)
    else if (existingNetns().has(b.netns)) await runInNamespaces([{netns: b.netns, batches: [b]}], {parallel: 1, workDir: tmpdir()})
  }
}
