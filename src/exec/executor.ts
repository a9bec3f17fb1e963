// Applies a plan, stage by stage, journaling every batch before and after it runs.
// It never rolls back by itself: on failure or interrupt it stops cleanly (running batches
// finish, no new ones start) and throws; the caller then rolls back from the journal.
import {existsSync, rmSync, writeFileSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import type {Journal} from '../state/journal.js'
import type {Action, Plan} from '../core/actions.js'
import {runBatchDirect, type BatchOutcome} from './batch.js'
import {prepareJobs, runJobs, settle, syncLinks, type NamespaceJobs} from './fanout.js'
import {linkSyncStages, schedule, type Batch, type Lane, type Stage} from './schedule.js'

export interface ApplyOptions {
  journal: Journal
  /** processes at once */
  concurrency: number
  /** scratch space for batch files (the lab's state directory) */
  workDir: string
  signal?: AbortSignal
  /** test-only: make this action fail for real */
  faultAt?: number
  /** test-only: before the stage holding this action, write `file` and wait until it is deleted or a signal comes */
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
export async function pool<T>(
  items: T[],
  limit: number,
  worker: (item: T) => Promise<void>,
  stop: () => boolean = () => false,
): Promise<void> {
  let next = 0
  const runners = Array.from({length: Math.min(limit, items.length)}, async () => {
    while (next < items.length && !stop()) await worker(items[next++])
  })
  await Promise.all(runners)
}

export class Executor {
  readonly stages: Stage[]
  /** batches of ip lines run by the ip program because the fast path does not speak them */
  fallbacks = 0
  private failure?: StepFailed

  /** the stages the kernel's link watch is synced before (linkSyncStages) */
  private readonly syncBefore: Set<Stage>
  /** the stages the link watch was synced before: in how many namespaces, how long it took */
  readonly linkSync = new Map<Stage, {namespaces: number; ms: number}>()

  constructor(
    readonly plan: Plan,
    private opts: ApplyOptions,
  ) {
    this.stages = schedule(plan, {split: Math.max(1, Math.min(opts.concurrency, 4))})
    this.syncBefore = linkSyncStages(this.stages)
  }

  private stopped(): boolean {
    return this.failure !== undefined || this.opts.signal?.aborted === true
  }

  private throwIfStopped(): void {
    if (this.failure) throw this.failure
    if (this.opts.signal?.aborted) throw new Interrupted(String(this.opts.signal.reason ?? 'signal'))
  }

  /** job lines of a stage's in-namespace lanes, made while the stage before it ran */
  private ahead = new Map<Stage, NamespaceJobs>()

  /**
   * While a stage runs in other processes (ip, nsexec: kernel work), this one is idle: make the
   * next stage's job lines then, not after. It waits a turn first, so this stage's processes
   * are started before.
   */
  private async prepareAhead(stage: Stage | undefined): Promise<void> {
    const lanes = stage?.lanes.filter((l) => l.netns !== null) ?? []
    if (lanes.length === 0) return
    await new Promise((resolve) => setImmediate(resolve))
    if (this.stopped()) return
    this.ahead.set(stage!, prepareJobs(lanes, {workDir: this.opts.workDir, faultAt: this.opts.faultAt}))
  }

  /** A failure stopped the run: what was made for stages that will not run goes. */
  private discardAhead(): void {
    for (const jobs of this.ahead.values()) rmSync(jobs.dir, {recursive: true, force: true})
    this.ahead.clear()
  }

  /**
   * The kernel reports a link running asynchronously after it comes up (link-watch), and drops
   * what is sent before. `up` is done when every link that is up is running. The plan keeps this
   * short: no veth pair has the same interface index at both ends (see the links phase), which
   * would delay its event to the once-a-second round.
   */
  async settle(): Promise<void> {
    this.throwIfStopped()
    const namespaces = this.plan.actions.filter((a) => a.creates).map((a) => a.creates!)
    const problems = await settle(namespaces, {
      parallel: this.opts.concurrency,
      workDir: this.opts.workDir,
      signal: this.opts.signal,
      timeoutMs: 5000,
    })
    this.throwIfStopped()
    if (problems.length > 0) throw new StepFailed(undefined, 'wait for every link to be running', problems.slice(0, 5).join('\n'))
  }

  /**
   * Before a stage brings up the interfaces made earlier, the kernel's link watch handles them
   * (each is on its list until then): otherwise each one that comes up has the kernel walk the
   * whole list holding the lock every link change takes: at 10,000 pods that walk and the wait for
   * its lock were 40% of the stage's CPU time, and the stage took twice as long. A namespace it
   * cannot enter is the stage's to report.
   */
  private async syncLinks(stage: Stage, lanes: Lane[]): Promise<void> {
    const started = performance.now()
    await syncLinks(
      lanes.map((l) => l.netns!),
      {parallel: this.opts.concurrency, workDir: this.opts.workDir, signal: this.opts.signal},
    )
    this.linkSync.set(stage, {namespaces: lanes.length, ms: performance.now() - started})
    this.throwIfStopped()
  }

  async runStage(stage: Stage): Promise<void> {
    this.throwIfStopped()
    await this.maybePause(stage)
    const inRoot = stage.lanes.filter((l) => l.netns === null)
    const inNetns = stage.lanes.filter((l) => l.netns !== null)
    if (this.syncBefore.has(stage)) await this.syncLinks(stage, inNetns)
    const work = Promise.all([
      pool(
        inRoot,
        this.opts.concurrency,
        (lane) => this.runRootLane(lane),
        () => this.stopped(),
      ),
      inNetns.length > 0 ? this.runNetnsLanes(inNetns, stage) : undefined,
    ])
    work.catch(() => {}) // awaited below; a failure must not count as unhandled meanwhile
    try {
      await this.prepareAhead(this.stages[this.stages.indexOf(stage) + 1])
      await work
      this.throwIfStopped()
    } catch (error) {
      this.discardAhead()
      throw error
    }
  }

  /** Root-namespace lanes: one `ip -batch` process per batch. */
  private async runRootLane(lane: Lane): Promise<void> {
    for (const batch of lane.batches) {
      if (this.stopped()) return
      this.opts.journal.write({t: 'begin', ids: batch.actions.map((a) => a.id)})
      let outcome: BatchOutcome
      try {
        outcome = await runBatchDirect(batch, {faultAt: this.opts.faultAt})
      } catch (error) {
        outcome = {
          applied: [],
          notRun: batch.actions,
          unknown: [],
          error: {command: `ip -batch (${batch.netns ?? 'root'})`, stderr: (error as Error).message},
        }
      }
      if (!this.record(batch, outcome)) return
    }
  }

  /** Lanes inside namespaces: all of them through one fan-out process. */
  private async runNetnsLanes(lanes: Lane[], stage: Stage): Promise<void> {
    const batches = lanes.flatMap((l) => l.batches)
    this.opts.journal.write({t: 'begin', ids: batches.flatMap((b) => b.actions.map((a) => a.id))})
    let results: BatchOutcome[][]
    try {
      const opts = {parallel: this.opts.concurrency, workDir: this.opts.workDir, faultAt: this.opts.faultAt, signal: this.opts.signal}
      const jobs = this.ahead.get(stage) ?? prepareJobs(lanes, opts)
      this.ahead.delete(stage)
      const r = await runJobs(jobs, opts)
      results = r.outcomes
      this.fallbacks += r.fallbacks
    } catch (error) {
      // the fan-out itself failed: what ran is unknown, so every batch stays "begun" (possibly applied)
      this.failure ??= new StepFailed(undefined, 'netlab-nsexec', (error as Error).message)
      return
    }
    const done: number[] = []
    lanes.forEach((lane, i) =>
      lane.batches.forEach((batch, j) => {
        const o = results[i][j]
        if (!o.error && o.notRun.length === 0 && o.unknown.length === 0) done.push(...batch.actions.map((a) => a.id))
        else this.record(batch, o)
      }),
    )
    if (done.length > 0) this.opts.journal.write({t: 'done', ids: done})
  }

  /** Journal a batch's outcome; false when the batch did not fully succeed. */
  private record(batch: Batch, o: BatchOutcome): boolean {
    const ids = (as: Action[]) => as.map((a) => a.id)
    if (!o.error && o.notRun.length === 0 && o.unknown.length === 0) {
      this.opts.journal.write({t: 'done', ids: ids(batch.actions)})
      return true
    }
    // Unknown outcomes are not journaled: they stay "begun", i.e. possibly applied.
    this.opts.journal.write({t: 'failed', applied: ids(o.applied), failed: o.failed?.id ?? null, notRun: ids(o.notRun)})
    if (o.error) this.failure ??= new StepFailed(o.failed, o.error.command, o.error.stderr)
    else if (!this.opts.signal?.aborted)
      this.failure ??= new StepFailed(
        batch.actions[0],
        `batch in ${batch.netns ?? 'the root namespace'}`,
        'ended without reporting its result',
      )
    return false
  }

  private async maybePause(stage: Stage): Promise<void> {
    const p = this.opts.pause
    if (!p || !stage.lanes.some((l) => l.batches.some((b) => b.actions.some((a) => a.id === p.beforeAction)))) return
    // The test sends a signal, or deletes the file to let `up` go on.
    writeFileSync(p.file, String(process.pid))
    for (let waited = 0; waited < 60_000 && existsSync(p.file) && !this.opts.signal?.aborted; waited += 20) await sleep(20)
    this.throwIfStopped()
  }
}
