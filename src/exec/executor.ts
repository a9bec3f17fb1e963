// Applies a plan, stage by stage, journaling every batch before and after it runs.
// It never rolls back by itself: on failure or interrupt it stops cleanly (running batches
// finish, no new ones start) and throws; the caller then rolls back from the journal.
import {writeFileSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import type {Journal} from '../state/journal.js'
import type {Action, Plan} from '../plan/types.js'
import {runBatch, type BatchOutcome} from './batch.js'
import {schedule, type Lane, type Stage} from './schedule.js'

export interface ApplyOptions {
  journal: Journal
  /** processes at once */
  concurrency: number
  signal?: AbortSignal
  /** test-only: make this action fail for real */
  faultAt?: number
  /** test-only: before the stage holding this action, touch `file` and wait to be interrupted */
  pause?: {beforeAction: number; file: string}
}

export class StepFailed extends Error {
  constructor(
    public readonly action: Action | undefined,
    public readonly command: string,
    public readonly stderr: string,
  ) {
    super(`${command}${stderr ? `\n${stderr}` : ''}`)
    this.name = 'StepFailed'
  }
}

export class Interrupted extends Error {
  constructor(public readonly reason: string) {
    super(`interrupted (${reason})`)
    this.name = 'Interrupted'
  }
}

/** Run `items` through `worker`, at most `limit` at once; stop starting new ones once `stop()` says so. */
export async function pool<T>(items: T[], limit: number, worker: (item: T) => Promise<void>, stop: () => boolean = () => false): Promise<void> {
  let next = 0
  const runners = Array.from({length: Math.min(limit, items.length)}, async () => {
    while (next < items.length && !stop()) await worker(items[next++])
  })
  await Promise.all(runners)
}

export class Executor {
  readonly stages: Stage[]
  private failure?: StepFailed

  constructor(
    readonly plan: Plan,
    private opts: ApplyOptions,
  ) {
    this.stages = schedule(plan, {split: Math.max(1, Math.min(opts.concurrency, 4))})
  }

  private stopped(): boolean {
    return this.failure !== undefined || this.opts.signal?.aborted === true
  }

  private throwIfStopped(): void {
    if (this.failure) throw this.failure
    if (this.opts.signal?.aborted) throw new Interrupted(String(this.opts.signal.reason ?? 'signal'))
  }

  async runAll(): Promise<void> {
    for (const stage of this.stages) await this.runStage(stage)
  }

  async runStage(stage: Stage): Promise<void> {
    this.throwIfStopped()
    await this.maybePause(stage)
    await pool(stage.lanes, this.opts.concurrency, (lane) => this.runLane(lane), () => this.stopped())
    this.throwIfStopped()
  }

  private async runLane(lane: Lane): Promise<void> {
    for (const batch of lane.batches) {
      if (this.stopped()) return
      const ids = batch.actions.map((a) => a.id)
      this.opts.journal.write({t: 'begin', ids})
      let outcome: BatchOutcome
      try {
        outcome = await runBatch(batch, {faultAt: this.opts.faultAt})
      } catch (error) {
        // could not even start the process: nothing of the batch ran
        this.opts.journal.write({t: 'failed', applied: [], failed: null, notRun: ids})
        this.failure ??= new StepFailed(batch.actions[0], `${batch.tool} (${batch.netns ?? 'root'})`, String((error as Error).message))
        return
      }
      if (!outcome.error) {
        this.opts.journal.write({t: 'done', ids})
        continue
      }
      this.opts.journal.write({t: 'failed', applied: outcome.applied.map((a) => a.id), failed: outcome.failed?.id ?? null, notRun: outcome.notRun.map((a) => a.id)})
      this.failure ??= new StepFailed(outcome.failed, outcome.error.command, outcome.error.stderr)
      return
    }
  }

  private async maybePause(stage: Stage): Promise<void> {
    const p = this.opts.pause
    if (!p || !stage.lanes.some((l) => l.batches.some((b) => b.actions.some((a) => a.id === p.beforeAction)))) return
    writeFileSync(p.file, String(process.pid))
    for (let waited = 0; waited < 30_000 && !this.opts.signal?.aborted; waited += 20) await sleep(20)
    this.throwIfStopped()
  }
}
