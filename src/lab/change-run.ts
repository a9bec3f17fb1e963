// A change to a lab that is up (policy apply, label, netlab apply): its plan run with a journal,
// and on any failure or signal (Ctrl-C, SIGTERM, SIGHUP) everything it did undone, newest first,
// so the lab is left as it was before the change.
import {SignalError, NetlabError} from '../core/errors.js'
import {concurrency} from '../core/concurrency.js'
import {Executor, Interrupted, StepFailed} from '../exec/executor.js'
import {rollback} from '../exec/rollback.js'
import {commandLine} from '../tools/command.js'
import type {Plan} from '../core/actions.js'
import {readJournal, summarize, type Journal} from '../state/journal.js'
import {labDir} from '../state/paths.js'
import {plural} from '../core/plural.js'

/** Test-only hook, as for `up`: NETLAB_TEST_FAULT_AT=<step> makes that step of the change fail for real. */
function faultAt(): number | undefined {
  const f = process.env.NETLAB_TEST_FAULT_AT
  return f !== undefined && f !== '' ? Number(f) : undefined
}

export interface ChangeRun {
  /** the command that makes it, for its messages: "policy apply", "apply" */
  verb: string
  /** what the lab keeps when the change is undone: "its old policies" */
  keeps: string
  /** the change's journal on disk, which the rollback reads */
  journalFile: string
  /** the change's records, removed once it is undone */
  forget(lab: string): void
  /** the steps were made by this process from the lab's checked model, not read back from disk (netlab apply) */
  madeHere?: boolean
  /** what completes the change once its plan ran (apply: BGP speakers started and converged); a failure undoes the plan too */
  finish?(signal: AbortSignal): Promise<void>
  /** test-only: pause before a step, as `up` does (NETLAB_TEST_PAUSE_BEFORE, docs/safety.md) */
  pause?: {beforeAction: number; file: string}
}

/** Run a change plan on a lab that is up; on any failure or signal, undo what ran and say so. */
export async function runChange(
  plan: Plan,
  journal: Journal,
  {verb, keeps, journalFile, forget, madeHere, finish, pause}: ChangeRun,
): Promise<void> {
  const abort = new AbortController()
  let rollingBack = false
  const onSignal = (sig: NodeJS.Signals) => {
    // remembered during the rollback too: the failure it undoes may be this signal's doing (as in up)
    if (!abort.signal.aborted) abort.abort(sig)
    if (rollingBack) process.stderr.write(`netlab: ${sig} received; still rolling back, please wait\n`)
  }
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
  signals.forEach((s) => process.on(s, onSignal))
  try {
    const executor = new Executor(plan, {
      journal,
      concurrency: concurrency(),
      workDir: labDir(plan.lab),
      signal: abort.signal,
      faultAt: faultAt(),
      pause,
    })
    try {
      for (const stage of executor.stages) await executor.runStage(stage)
      await finish?.(abort.signal)
    } catch (error) {
      rollingBack = true
      const report = await rollback(plan, summarize(readJournal(journalFile)), {
        madeHere,
        lab: plan.lab,
        source: `the ${verb} change`,
        journal,
      })
      forget(plan.lab)
      const undone = `rolled back: ${plural(report.undone, 'applied action')} undone; lab ${plan.lab} keeps ${keeps}`
      const sig = abort.signal.aborted ? String(abort.signal.reason) : error instanceof Interrupted ? error.reason : undefined
      if (sig !== undefined) throw new SignalError(`${verb} interrupted by ${sig}\n${undone}`, sig)
      if (error instanceof StepFailed) {
        const step = error.action
          ? `step ${error.action.id + 1}/${plan.actions.length} (${error.action.phase}: ${error.action.why})`
          : 'a step'
        const command = error.action ? commandLine(error.action).split('\n')[0] : error.command
        throw new NetlabError(
          `${verb} failed at ${step}\n  command: ${command}\n  error:   ` + `${error.stderr || '(no message)'}\n${undone}`,
        )
      }
      throw new NetlabError(`${verb} failed: ${(error as Error).message}\n${undone}`)
    }
  } finally {
    signals.forEach((s) => process.off(s, onSignal))
  }
}
