// Undo what the journal says may exist, newest first. Every action inside a lab namespace is
// undone by deleting that namespace, so rollback is exact and fast: the undo commands of the
// other actions (`ip netns del`, mostly) run in order, batched. Steps read back from disk are
// checked before any runs (src/plan/undo-check.ts), and a command runs only in (or deletes) a
// namespace that is the lab's now: it carries the lab's mark, or the journal shows the lab
// created it and never got to mark it. A namespace named for the lab that is neither is left
// alone and reported.
import {tmpdir} from 'node:os'
import {basename} from 'node:path'
import type {Action, Command, UndoPlan} from '../core/actions.js'
import {undoCommands} from '../tools/command.js'
import {ipWord, netnsDel} from '../tools/ip.js'
import {markSteps, undoProblems} from '../plan/undo-check.js'
import type {Journal, JournalSummary} from '../state/journal.js'
import {existingNetns} from '../state/store.js'
import {labDir, stateRoot} from '../state/paths.js'
import {ownerMark} from '../core/names.js'
import {NetlabError} from '../core/errors.js'
import {runBatchDirect} from './batch.js'
import {NetnsHold} from './netns-hold.js'
import {readMarks, runInNamespaces} from './fanout.js'
import {run} from './runner.js'
import {concurrency} from '../core/concurrency.js'
import type {Batch} from './schedule.js'
import {plural} from '../core/plural.js'

export interface RollbackReport {
  /** namespaces deleted */
  deleted: string[]
  /** actions undone (applied or possibly applied) */
  undone: number
  /** namespaces the steps name that are not the lab's now (no mark of its): left alone, with every command for them */
  kept: string[]
}

export interface RollbackOptions {
  /** the lab the steps are for: from the state directory's name or the caller's plan, never from the file */
  lab: string
  /** where the steps come from, for the error that refuses them (plan.json, a fault's file, …) */
  source: string
  journal?: Journal
  /** the CNI calls (DELs, GCs) the lab's rollback makes (cniUndoCalls in src/compile/cni-plan.ts): a CNI step must be one of them */
  cniUndo?: readonly Command[]
  /** what the user can do when the steps are refused */
  hint?: string
  /**
   * The lab was complete (its state says up): it marked every namespace it made, so an unmarked
   * one is never its own, whatever plan.json and the journal say (they can be edited).
   */
  complete?: boolean
  /**
   * The steps were made by this process from the lab's checked model (netlab apply's change
   * plan, rebuilding what it deleted), never read back from disk: they are not held to what
   * plan.json may hold. Ownership still is: nothing runs in a namespace that is not the lab's.
   */
  madeHere?: boolean
}

/** The namespaces a command acts on: where it runs, the one it deletes, the pod a CNI DEL is for. */
function namespacesOf(c: Command): string[] {
  if (c.netns === null) return c.tool === 'ip' && c.args[0] === 'netns' ? [c.args[2]] : []
  const pod = c.tool === 'cni' && c.env?.CNI_NETNS ? [basename(c.env.CNI_NETNS)] : []
  return [c.netns, ...pod]
}

/**
 * Of `namespaces` (which exist), those that are the lab's: they carry its mark; or, without any
 * mark, the steps made them (`created`) and the one that marks them (markSteps) is not known to
 * have run: the lab was stopped between creating and marking them. One process reads every mark.
 */
async function owned(
  lab: string,
  namespaces: string[],
  created: Set<string>,
  marking: Map<string, number>,
  summary: JournalSummary,
  complete: boolean,
): Promise<Set<string>> {
  if (namespaces.length === 0) return new Set()
  const marks = await readMarks(namespaces, {parallel: 4, workDir: tmpdir()})
  const mine = ownerMark(lab, stateRoot())
  const unmarkedYet = (ns: string) => !complete && created.has(ns) && !summary.applied.has(marking.get(ns) ?? -1)
  return new Set(namespaces.filter((ns, i) => marks[i] === mine || (!marks[i] && unmarkedYet(ns))))
}

/** Checked, not trusted: a NetlabError naming every step that is not one netlab makes for the lab (undoProblems). */
export function requireOwnSteps(plan: Pick<UndoPlan, 'actions'> | undefined, opts: Omit<RollbackOptions, 'journal'>): void {
  const steps: unknown[] = Array.isArray(plan?.actions) ? plan.actions : [plan]
  const problems = undoProblems(steps, {lab: opts.lab, labDir: labDir(opts.lab), cniUndo: opts.cniUndo})
  if (problems.length > 0)
    throw new NetlabError(
      `${opts.source}: refused, nothing was run: ${problems.length === 1 ? 'an undo step is' : `${problems.length} undo steps are`} not one netlab makes for lab ${opts.lab}\n  ` +
        problems.slice(0, 5).join('\n  ') +
        (problems.length > 5 ? `\n  … and ${problems.length - 5} more` : '') +
        (opts.hint ? `\n${opts.hint}` : ''),
    )
}

export async function rollback(plan: Pick<UndoPlan, 'actions'>, summary: JournalSummary, opts: RollbackOptions): Promise<RollbackReport> {
  const {lab} = opts
  if (!opts.madeHere) requireOwnSteps(plan, opts) // every step, before any runs
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
  const commands = touched.flatMap((a) => (a.undo.kind === 'commands' ? undoCommands(a.undo) : []))
  const named = [...new Set(commands.flatMap(namespacesOf))].filter((ns) => present.has(ns))
  const marking = markSteps(plan.actions)
  const ownedOf = (namespaces: string[]) => owned(lab, namespaces, doomedSet, marking, summary, opts.complete ?? false)
  let ours: Set<string>
  if (commands.every(isNetnsDel)) ours = await deleteOwned(named, ownedOf)
  else {
    ours = await ownedOf(named)
    await runUndo(commands.filter((c) => namespacesOf(c).every((ns) => !present.has(ns) || ours.has(ns))))
  }
  const after = existingNetns()
  // a namespace made again by the undo itself (netlab apply: a pod that moved to another node is rebuilt where it was)
  const rebuilt = new Set(
    commands.filter((c) => c.netns === null && c.tool === 'ip' && c.args[0] === 'netns' && c.args[1] === 'add').map((c) => c.args[2]),
  )
  const left = doomed.filter((ns) => after.has(ns) && ours.has(ns) && !rebuilt.has(ns))
  if (left.length > 0)
    throw new NetlabError(
      `could not delete ${plural(left.length, 'namespace')}: ` + `${left.slice(0, 5).join(', ')}${left.length > 5 ? ', …' : ''}`,
    )
  opts.journal?.write({t: 'undone', ids: touched.map((a) => a.id)})
  return {deleted: doomed.filter((ns) => ours.has(ns)), undone: touched.length, kept: named.filter((ns) => !ours.has(ns)).sort()}
}

const isNetnsDel = (c: Command) => c.netns === null && c.tool === 'ip' && c.args[0] === 'netns' && c.args[1] === 'del'

/**
 * `down`'s usual undo: namespaces to delete, nothing else, so in any order. The marks of a chunk
 * are read while the chunks before it are being deleted: reading computes, deleting mostly waits
 * (see deleteSlices), so the two overlap instead of one waiting for the other (10,102 namespaces:
 * ~1 s of marks before ~3 s of deletion). Every namespace is held until the last is deleted
 * (NetnsHold). Returns the namespaces found to be the lab's.
 */
async function deleteOwned(namespaces: string[], ownedOf: (namespaces: string[]) => Promise<Set<string>>): Promise<Set<string>> {
  const ours = new Set<string>()
  const deleting: Promise<void>[] = []
  const hold = new NetnsHold()
  try {
    for (let at = 0; at < namespaces.length; at += MARKS_CHUNK) {
      const mine = await ownedOf(namespaces.slice(at, at + MARKS_CHUNK))
      mine.forEach((ns) => ours.add(ns))
      deleting.push(runUndo([...mine].map(netnsDel), hold))
    }
  } finally {
    await Promise.allSettled(deleting) // nothing of it left running, whatever happened
    hold.release()
  }
  await Promise.all(deleting)
  return ours
}
const MARKS_CHUNK = 2048

/** Delete `namespaces` (any order, all of them the lab's), each held until the last is gone (NetnsHold). */
export async function deleteNetns(namespaces: string[]): Promise<void> {
  const hold = new NetnsHold()
  try {
    await runUndo(namespaces.map(netnsDel), hold)
  } finally {
    hold.release()
  }
}

/**
 * Deleting namespaces is independent of order: a batch of only `netns del` lines is split over
 * DELETE_LANES `ip -batch` processes side by side. A deletion mostly waits rather than computes
 * (unmounting /run/netns/NS waits for an RCU grace period; the ip processes use a tenth of a
 * core), so the lanes overlap their waits: 10,102 namespaces of a 100×100 lab took 6.1 s in
 * two lanes (one per core, the bench's floor) and 2.8 s in eight. Any other batch stays one, in order.
 */
export function deleteSlices(lines: string[]): string[][] {
  if (lines.length === 0) return []
  if (lines.length < 64 || !lines.every((l) => l.startsWith('netns del '))) return [lines]
  const size = Math.ceil(lines.length / DELETE_LANES)
  return Array.from({length: DELETE_LANES}, (_, i) => lines.slice(i * size, (i + 1) * size)).filter((s) => s.length > 0)
}
const DELETE_LANES = 8

/**
 * Run undo commands in order; consecutive ones of one tool in one place share a batch. Best
 * effort: a command whose object is already gone must not stop the others (the caller checks
 * what must be gone), so root ip batches run with -force and other failures are ignored.
 * With `hold`, the namespaces deleted are held in it (NetnsHold) until the caller releases it.
 */
async function runUndo(commands: Command[], hold?: NetnsHold): Promise<void> {
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
      const kept = b.actions.filter((a) => !isNetnsDel(a) || present.has(a.args[2]))
      const lines = kept.map((a) => a.args.map(ipWord).join(' '))
      hold?.add(kept.filter(isNetnsDel).map((a) => a.args[2]))
      await Promise.all(deleteSlices(lines).map((slice) => run('ip', ['-force', '-batch', '-'], {input: slice.join('\n') + '\n'})))
    } else if (b.netns === null) await runBatchDirect(b)
    else if (existingNetns().has(b.netns)) await runInNamespaces([{netns: b.netns, batches: [b]}], {parallel: 1, workDir: tmpdir()})
  }
}
