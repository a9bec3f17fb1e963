// `netlab down`: remove exactly what a lab created. From its plan and journal when the state is
// there (also after netlab was killed mid-`up`); from the namespaces' name and mark when it is not.
import {rollback, runUndo} from '../exec/rollback.js'
import {readJournal, summarize} from '../state/journal.js'
import {acquireLock, removeStaleLock} from '../host/lock.js'
import {files} from '../state/paths.js'
import {labDirExists, listLabs, readPlan, removeLabDir, removeLabStateKeepingPids} from '../state/store.js'
import {labOfNetns} from '../core/names.js'
import {findLabNetns} from './ownership.js'
import {BUILD_TOOLS, requireRoot, requireTools} from '../host/preflight.js'
import {stopLabProcesses, type StopReport} from '../host/processes.js'
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
  /** namespaces named like the lab's but without its mark: left alone */
  keptUnmarked: string[]
  ms: number
}

export interface DownOptions {
  /** told how long each step took as it ends (the bench's timings) */
  onStep?: OnStep
}

export async function down(lab: string, opts: DownOptions = {}): Promise<DownResult> {
  const started = performance.now()
  const step = <T>(name: string, f: () => T, note?: (r: Awaited<T>) => string) => timed(opts.onStep, name, f, note)
  step('preflight (root, tools)', () => {
    requireRoot('netlab down')
    requireTools({ip: BUILD_TOOLS.ip})
  })
  const lock = step('lock', () => acquireLock(lab))
  try {
    // first, and waited for: nothing of the lab runs once `down` returns
    const {stopped: stoppedProcesses, stuck} = await step(
      'stop lab processes',
      () => stopLabProcesses(lab),
      (r) => `${r.stopped} stopped`,
    )
    let deleted = 0
    const plan = step(
      'read plan.json',
      () => readPlan(lab),
      (p) => plural(p?.actions.length ?? 0, 'action'),
    )
    if (plan) {
      const summary = step('read journal', () => summarize(readJournal(files.journal(lab))))
      deleted += (
        await step(
          'rollback',
          () => rollback(plan, summary),
          (r) => `${plural(r.deleted.length, 'namespace')} deleted`,
        )
      ).deleted.length
    }
    // Without a plan (state deleted by hand), or for anything a plan did not list:
    // namespaces named for this lab that carry its mark.
    const {marked, unmarked} = await step(
      'look for marked leftovers',
      () => findLabNetns(lab),
      (f) => `${f.marked.length + f.unmarked.length} found`,
    )
    if (marked.length > 0) {
      await step('delete marked leftovers', () =>
        runUndo(marked.reverse().map((ns) => ({tool: 'ip', netns: null, args: ['netns', 'del', ns]}))),
      )
      deleted += marked.length
    }
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
      keptUnmarked: unmarked,
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
