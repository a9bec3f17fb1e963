// `netlab down`: remove exactly what a lab created. From its plan and journal when the state is
// there (also after netlab was killed mid-`up`); from the namespaces' name and mark when it is not.
// Either way a namespace goes only if it is the lab's (its mark; see src/exec/rollback.ts), and
// plan.json's steps are checked before any runs (src/plan/undo-check.ts).
import {deleteNetns, requireOwnSteps, rollback, type RollbackOptions} from '../exec/rollback.js'
import {netlabCmd} from '../core/invocation.js'
import {readJournal, summarize} from '../state/journal.js'
import {acquireLock, removeStaleLock} from '../host/lock.js'
import {files} from '../state/paths.js'
import {labDirExists, listLabs, readPlan, readState, removeLabDir, removeLabStateKeepingPids} from '../state/store.js'
import {labOfNetns} from '../core/names.js'
import type {UndoPlan, UndoStep} from '../core/actions.js'
import type {LabModel} from '../model/types.js'
import {NSEXEC} from '../exec/fanout.js'
import {cniUndoCalls} from '../compile/cni-plan.js'
import {requireCniPlugins} from './cni-results.js'
import {findLabNetns} from './ownership.js'
import {BUILD_TOOLS, requirePerl, requireRoot, requireTools} from '../host/preflight.js'
import type {StopReport} from '../host/processes.js'
import {stopAllLabProcesses} from './unrecorded.js'
import {timed, type OnStep} from './steps.js'
import {plural} from '../core/plural.js'

export interface DownResult {
  lab: string
  /** false when there was nothing to remove */
  changed: boolean
  deletedNetns: number
  stoppedProcesses: number
  /** processes that outlived SIGKILL (their records are kept, so `down` can be run again) */
  stuckProcesses: StopReport['stuck']
  /** namespaces named like the lab's but without its mark (replaced by hand, say): left alone */
  keptUnmarked: string[]
  /** CNI undo calls of plan.json not run: the lab's saved model, which vouches for them, is gone or names plugins root may not run */
  skippedCniDels?: number
  /** why they were not run */
  skippedCniWhy?: string
  ms: number
}

export interface DownOptions {
  /** told how long each step took as it ends (the bench's timings) */
  onStep?: OnStep
}

/**
 * Why the lab's saved model cannot vouch for the CNI plugins plan.json's CNI steps would run, or
 * undefined when it can: it must be readable, and each plugin must still be one root may run
 * (src/core/trust.ts: it runs as root; the model sits beside plan.json and is no more trusted).
 */
function cniVoucher(lab: string, model: LabModel | undefined): string | undefined {
  if (model?.lab !== lab) return 'its saved model is gone, so nothing vouches for the plugins they would run'
  try {
    requireCniPlugins(model)
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}

/**
 * plan.json's steps, checked (requireOwnSteps) against the lab and the CNI DELs its saved model
 * makes. When the model cannot vouch for the plugins (cniVoucher), the CNI steps are left out:
 * the runtime's files go with the state directory anyway.
 */
function checkedPlan(lab: string, plan: UndoPlan): {steps: UndoPlan; opts: RollbackOptions; skippedCniDels: number; skippedWhy?: string} {
  let state: ReturnType<typeof readState>
  try {
    state = readState(lab)
  } catch {
    state = undefined // damaged: down must still work
  }
  const model = state?.model
  const isCni = (a: UndoStep) =>
    a?.undo?.kind === 'commands' && Array.isArray(a.undo.commands) && a.undo.commands.some((c) => c?.tool === 'cni')
  const hasCni = Array.isArray(plan.actions) && plan.actions.some(isCni)
  const why = hasCni ? cniVoucher(lab, model) : undefined
  const steps = why === undefined ? plan : {...plan, actions: plan.actions.filter((a) => !isCni(a))}
  const opts: RollbackOptions = {
    lab,
    source: files.plan(lab),
    cniUndo: why === undefined && model ? cniUndoCalls(model) : [],
    hint: `To take the lab down by its namespaces' marks alone, delete ${files.plan(lab)} and run "${netlabCmd()} down ${lab}" again.`,
    // only an up that never finished can have left a namespace it made before marking it
    complete: state?.status !== 'building',
  }
  requireOwnSteps(steps, opts)
  const skippedCniDels = steps === plan ? 0 : plan.actions.length - steps.actions.length
  return {steps, opts, skippedCniDels, ...(skippedCniDels > 0 ? {skippedWhy: why} : {})}
}

export async function down(lab: string, opts: DownOptions = {}): Promise<DownResult> {
  const started = performance.now()
  const step = <T>(name: string, f: () => T, note?: (r: Awaited<T>) => string) => timed(opts.onStep, name, f, note)
  step('preflight (root, tools)', () => {
    requireRoot('netlab down')
    requireTools({ip: BUILD_TOOLS.ip})
  })
  const lock = step('lock', () => acquireLock(lab, 'change', 'down')) // 'down': a probe of the lab tells it was taken down
  try {
    const plan = step(
      'read plan.json',
      () => readPlan(lab),
      (p) => plural(p?.actions?.length ?? 0, 'action'),
    )
    // checked before anything is done: a refused plan.json leaves the lab as it was, probes included
    const checked = plan && step('check plan.json', () => checkedPlan(lab, plan))
    // first, and waited for: nothing of the lab runs once `down` returns
    const {stopped: stoppedProcesses, stuck} = await step(
      'stop lab processes',
      () => stopAllLabProcesses(lab), // without records too: lab/unrecorded.ts
      (r) => `${r.stopped} stopped`,
    )
    let deleted = 0
    const kept = new Set<string>()
    if (checked) {
      await step('perl modules', () => requirePerl([NSEXEC])) // to read the namespaces' marks
      const summary = step('read journal', () => summarize(readJournal(files.journal(lab))))
      const report = await step(
        'rollback',
        () => rollback(checked.steps, summary, checked.opts),
        (r) => `${plural(r.deleted.length, 'namespace')} deleted`,
      )
      deleted += report.deleted.length
      report.kept.forEach((ns) => kept.add(ns))
    }
    // Without a plan (state deleted by hand), or for anything a plan did not list:
    // namespaces named for this lab that carry its mark.
    const {marked, unmarked} = await step(
      'look for marked leftovers',
      () => findLabNetns(lab),
      (f) => `${f.marked.length + f.unmarked.length} found`,
    )
    if (marked.length > 0) {
      await step('delete marked leftovers', () => deleteNetns(marked.reverse()))
      deleted += marked.length
    }
    unmarked.forEach((ns) => kept.add(ns))
    const hadDir = labDirExists(lab)
    step('remove state dir', () => {
      if (stuck.length > 0) removeLabStateKeepingPids(lab)
      else removeLabDir(lab)
      removeStaleLock(lab, 'probe') // a live probe releases its own when it ends
    })
    return {
      lab,
      changed: hadDir || deleted > 0 || stoppedProcesses > 0,
      deletedNetns: deleted,
      stoppedProcesses,
      stuckProcesses: stuck,
      keptUnmarked: [...kept].sort(),
      ...(checked?.skippedCniDels ? {skippedCniDels: checked.skippedCniDels, skippedCniWhy: checked.skippedWhy} : {}),
      ms: Math.round(performance.now() - started),
    }
  } finally {
    lock.release()
  }
}

/** Every lab that has a state directory or marked namespaces. */
export async function knownLabs(): Promise<string[]> {
  const labs = new Set(listLabs())
  const {marked} = await findLabNetns()
  marked.forEach((ns) => labs.add(labOfNetns(ns)!))
  return [...labs].sort()
}
