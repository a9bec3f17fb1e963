// `netlab up`: lock, check, journal, apply the plan stage by stage; on any failure or signal,
// roll back from the journal so nothing of the lab is left.
import {netlabCmd} from '../core/invocation.js'
import {NetlabError, SignalError, UsageError} from '../core/errors.js'
import {concurrency} from '../core/concurrency.js'
import {Executor, Interrupted, StepFailed} from '../exec/executor.js'
import {NSEXEC} from '../exec/fanout.js'
import {rollback} from '../exec/rollback.js'
import type {Stage} from '../exec/schedule.js'
import {Journal, readJournal, summarize} from '../state/journal.js'
import {acquireLock} from '../host/lock.js'
import {files, labDir} from '../state/paths.js'
import {saveTopologySource} from '../state/topology-source.js'
import {createLabDir, existingNetns, labDirExists, readState, removeLabDir, writePlan, writeState} from '../state/store.js'
import type {LabModel} from '../model/types.js'
import type {Plan} from '../core/actions.js'
import {commandLine} from '../tools/command.js'
import {loadLab, printWarnings} from './load.js'
import {BGP_TOOLS, BUILD_TOOLS, requirePerl, requireRoot, requireTools} from '../host/preflight.js'
import {timed, type OnStep} from './steps.js'
import {requireCapacity} from './capacity.js'
import {applyResults, requireCniPlugins} from './cni-results.js'
import {cniUndoCalls} from '../compile/cni-plan.js'
import {plural} from '../core/plural.js'
import {isLiveTerminal} from '../core/terminal.js'
import {startWorkload, stopWorkload, workloadPorts} from './workload.js'
import {startBgp, stopBgp} from './bird.js'
import {labPerlHelpers} from './perl-helpers.js'

export interface UpOptions {
  /** progress output: 'default' (listr2 on a terminal, plain lines otherwise) or 'silent' */
  progress: 'default' | 'silent'
  /** told how long each step took as it ends; each stage of the plan is a step "stage <phases>" */
  onStep?: OnStep
  /** the CLI: once the lab is complete, a signal until the process exits is reported, not fatal */
  holdSignals?: boolean
}

export interface UpResult {
  lab: string
  model: LabModel
  /** routing bgp: how long the daemons took to learn every block, and how many sessions they hold */
  bgp?: {ms: number; sessions: number; daemons: number}
  actions: number
  /** batches of in-namespace ip lines that went to the ip program: the fast path did not speak them */
  fallbacks: number
  ms: number
}

/** Test-only hooks, read from the environment (documented in docs/safety.md); netlab apply takes its pause too. */
export function testHooks(): {faultAt?: number; pause?: {beforeAction: number; file: string}} {
  const fault = process.env.NETLAB_TEST_FAULT_AT
  const pauseAt = process.env.NETLAB_TEST_PAUSE_BEFORE
  const pauseFile = process.env.NETLAB_TEST_PAUSE_FILE
  return {
    faultAt: fault !== undefined && fault !== '' && fault !== 'workload' && fault !== 'bird' ? Number(fault) : undefined,
    pause: pauseAt && pauseFile ? {beforeAction: Number(pauseAt), file: pauseFile} : undefined,
  }
}

export async function up(topologyFile: string, opts: UpOptions): Promise<UpResult> {
  const started = performance.now()
  const step = <T>(name: string, f: () => T) => timed(opts.onStep, name, f)
  // from the first moment: a signal before anything exists ends the run with nothing to undo
  const signals = new UpSignals()
  let complete = false
  let made = false
  try {
    // perl loading the runner's modules takes a while (bench/README.md): it runs while this process reads the topology
    // and compiles the plan (it changes nothing; a bad topology is still the first error reported)
    const perlEarly = requirePerl([NSEXEC]).then(
      () => undefined,
      (error: unknown) => error,
    )
    const {model, plan, warnings, text} = loadLab(topologyFile, opts.onStep) // bad input fails here, before anything is touched
    printWarnings(warnings)
    await step('preflight (root, tools, perl modules, capacity)', async () => {
      requireRoot('netlab up')
      requireTools(BUILD_TOOLS)
      requireCapacity(model, plan)
      requireCniPlugins(model)
      if (model.bgp) requireTools(BGP_TOOLS)
      const early = await perlEarly
      if (early) throw early
      return requirePerl(labPerlHelpers(model, workloadPorts(model).length > 0))
    })
    signals.throwIfReceived(`nothing of lab ${model.lab} was made`)
    const lock = step('lock', () => acquireLock(model.lab))
    try {
      step('preconditions (existing namespaces)', () => preconditions(plan, model.lab))
      // from here on, a signal is answered by the rollback (no event-loop turn since the check above)
      made = true
      step('write state + plan.json', () => {
        createLabDir(model.lab)
        writeState({version: 1, lab: model.lab, status: 'building', topology: topologyFile, startedAt: new Date().toISOString(), model})
        writePlan(plan)
        // the text as read, not the path: the file may change or go; apply edits this copy
        saveTopologySource(model.lab, text)
      })
      const journal = new Journal(files.journal(model.lab))
      let bgp: UpResult['bgp']
      const fallbacks = await applyWithRollback(plan, model, journal, opts, signals, async () => {
        // what the plugins really gave each pod (the model predicted it)
        if (model.cni) step('read CNI results', () => applyResults(model))
        // routing bgp: the routes between nodes are BIRD's to make; a lab that does not converge rolls back
        signals.throwIfReceived()
        if (model.bgp)
          bgp = await step('start BIRD and wait until every node has learned every block', () =>
            startBgp(model, {fault: process.env.NETLAB_TEST_FAULT_AT === 'bird', signal: signals.signal}),
          )
        // the pods' echo servers, on the addresses they really have; a failure rolls the lab back
        signals.throwIfReceived()
        await step('start the workload', () => startWorkload(model, {fault: process.env.NETLAB_TEST_FAULT_AT === 'workload'}))
        // test-only: die as a SIGKILL would, with the workload running but the lab not yet up (docs/safety.md)
        if (process.env.NETLAB_TEST_KILL_AFTER_COMMIT) process.kill(process.pid, 'SIGKILL')
        // the last moment a signal undoes the lab: once its state says "up", it is complete
        signals.throwIfReceived()
        step('write state (up)', () =>
          writeState({version: 1, lab: model.lab, status: 'up', topology: topologyFile, startedAt: new Date().toISOString(), model}),
        )
        signals.complete(model.lab)
        complete = true
      })
      return {
        lab: model.lab,
        model,
        ...(bgp ? {bgp} : {}),
        actions: plan.actions.length,
        fallbacks,
        ms: Math.round(performance.now() - started),
      }
    } finally {
      lock.release()
    }
  } catch (error) {
    // a check that failed because its process got the signal too (perl, in the instant before its own process group)
    const sig = await signals.settled()
    if (sig !== undefined && !(error instanceof SignalError) && !made)
      throw new SignalError(`up interrupted by ${sig}; nothing was made`, sig)
    throw error
  } finally {
    // the CLI keeps listening until it exits: a signal then must not kill it with the lab up
    if (complete && opts.holdSignals) signals.holdUntilExit()
    else signals.stop()
  }
}

/** ample for a signal already sent to be handled: its handler needs one turn of the event loop */
const SIGNAL_TURNS = 5

/**
 * The signals `up` answers (Ctrl-C, SIGTERM, SIGHUP), from its first moment to its last. Until
 * the lab is complete, one stops the run and everything made is rolled back (exit 128+N); once
 * its state says "up", one is only reported: the lab stays up and `up` ends as it would have (exit 0).
 * Whatever step was running when it came, the outcome is "interrupted": a child that got the
 * signal too (in the instant between its fork and its own process group) fails its step
 * because of it, not on its own.
 */
class UpSignals {
  private readonly abort = new AbortController()
  private state: 'running' | 'rolling back' | 'complete' = 'running'
  private lab = ''
  private readonly handler = (sig: NodeJS.Signals) => this.on(sig)
  private static readonly WATCHED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

  constructor() {
    UpSignals.WATCHED.forEach((s) => process.on(s, this.handler))
  }

  get signal(): AbortSignal {
    return this.abort.signal
  }

  /** the signal received, if one was */
  get received(): string | undefined {
    return this.abort.signal.aborted ? String(this.abort.signal.reason) : undefined
  }

  /**
   * The signal received, once a signal sent to the whole group at the moment a child died of it
   * has reached this process's handler too: it runs on a later turn of the event loop (a few
   * turns, not a fixed wait: the fault-injection tests fail ~300 runs of up in one process).
   */
  async settled(): Promise<string | undefined> {
    for (let turn = 0; turn < SIGNAL_TURNS && this.received === undefined; turn++) await new Promise((r) => setImmediate(r))
    return this.received
  }

  private on(sig: NodeJS.Signals): void {
    if (this.state === 'complete') {
      process.stderr.write(
        `netlab: ${sig} received after lab ${this.lab} was complete: it stays up ("${netlabCmd()} down ${this.lab}" removes it)\n`,
      )
      return
    }
    // remembered during the rollback too: a failure it is undoing may be this signal's doing
    if (!this.abort.signal.aborted) this.abort.abort(sig)
    if (this.state === 'rolling back') process.stderr.write(`netlab: ${sig} received; still rolling back, please wait\n`)
  }

  /** Stop here if a signal came; `what` says what that leaves (before anything was made). */
  throwIfReceived(what?: string): void {
    const sig = this.received
    if (sig === undefined) return
    if (what) throw new SignalError(`up interrupted by ${sig}; ${what}`, sig)
    throw new Interrupted(sig)
  }

  rollingBack(): void {
    this.state = 'rolling back'
  }

  complete(lab: string): void {
    this.lab = lab
    this.state = 'complete'
  }

  /**
   * Keep answering until the process ends, and end it with process.exit(): a natural exit
   * closes the signal handlers first, and a signal in that instant would kill netlab with
   * its lab up (as "interrupted": 128+N).
   */
  holdUntilExit(): void {
    process.once('beforeExit', () => process.exit())
  }

  stop(): void {
    UpSignals.WATCHED.forEach((s) => process.off(s, this.handler))
  }
}

function preconditions(plan: Plan, lab: string): void {
  const state = readState(lab)
  if (state?.status === 'up')
    throw new UsageError(`lab ${lab} is already up (from ${state.topology}); run "${netlabCmd()} down ${lab}" first`)
  if (state || labDirExists(lab))
    throw new UsageError(`lab ${lab} has leftovers from an interrupted run; run "${netlabCmd()} down ${lab}" to remove them`)
  const existing = existingNetns()
  const clash = plan.actions.filter((a) => a.creates && existing.has(a.creates)).map((a) => a.creates!)
  if (clash.length > 0) {
    throw new NetlabError(
      `namespace ${clash[0]}${clash.length > 1 ? ` (and ${clash.length - 1} more)` : ''} already ` +
        `exists, and lab ${lab} has no state: netlab will not touch a namespace it did not create ` +
        `in this run. ` +
        `If it is left from an old lab, "${netlabCmd()} down ${lab}" removes namespaces that carry its ` +
        `mark; otherwise delete it yourself or rename the lab.`,
    )
  }
}

/**
 * Apply the plan and `finish` (which marks the lab complete), or roll it all back; returns how
 * many batches fell back to the ip program.
 */
async function applyWithRollback(
  plan: Plan,
  model: LabModel,
  journal: Journal,
  opts: UpOptions,
  signals: UpSignals,
  finish: () => Promise<void>,
): Promise<number> {
  const executor = timed(
    opts.onStep,
    'schedule',
    () => new Executor(plan, {journal, concurrency: concurrency(), workDir: labDir(plan.lab), signal: signals.signal, ...testHooks()}),
  )
  try {
    await runWithProgress(executor, plan, opts)
    await finish()
    return executor.fallbacks
  } catch (error) {
    signals.rollingBack()
    // first: nothing of the lab runs while it is taken apart (and its record goes with the lab's directory)
    await timed(opts.onStep, 'stop the workload', () => stopWorkload(plan.lab))
    if (model.bgp) await timed(opts.onStep, 'stop BIRD', () => stopBgp(plan.lab))
    const summary = summarize(readJournal(files.journal(plan.lab)))
    const report = await timed(opts.onStep, 'rollback', () =>
      rollback(plan, summary, {lab: plan.lab, source: 'the plan', journal, cniUndo: cniUndoCalls(model)}),
    )
    removeLabDir(plan.lab)
    const undone =
      `rolled back: ${plural(report.undone, 'applied action')} undone, ${plural(report.deleted.length, 'namespace')} ` +
      `deleted; nothing of lab ${plan.lab} is left`
    // a signal decides the outcome whatever failed after it (a step whose process got it too)
    const sig = (await signals.settled()) ?? (error instanceof Interrupted ? error.reason : undefined)
    if (sig !== undefined) throw new SignalError(`up interrupted by ${sig}\n${undone}`, sig)
    if (error instanceof StepFailed) {
      const step = error.action
        ? `step ${error.action.id + 1}/${plan.actions.length} (${error.action.phase}: ${error.action.why})`
        : 'a step'
      throw new NetlabError(
        `up failed at ${step}\n  command: ` +
          `${error.action ? commandLine(error.action) : error.command}\n  error:   ` +
          `${error.stderr || '(no message)'}\n${undone}`,
      )
    }
    throw new NetlabError(`up failed: ${(error as Error).message}\n${undone}`)
  }
}

/** The stages of the plan, then the wait for every link: each one a step, with or without listr2. */
async function runWithProgress(executor: Executor, plan: Plan, opts: UpOptions): Promise<void> {
  const titles = new Map(plan.phases.map((p) => [p.id, p.title]))
  const steps = executor.stages
    .map((stage) => {
      const {actions, batches, how} = describeStage(stage)
      const title =
        `${stage.phases.length === 1 ? titles.get(stage.phases[0]) : `Configure inside every namespace: ${stage.phases.join(', ')}`} ` +
        `(${plural(actions, 'action')} in ${plural(batches, 'batch', 'batches')})`
      return {
        title,
        task: () =>
          timed(
            opts.onStep,
            `stage ${stage.phases.join('+')}`,
            () => executor.runStage(stage),
            () => `${plural(actions, 'action')}; ${how}${syncNote(executor.linkSync.get(stage))}`,
          ),
      }
    })
    .concat([
      {title: 'Wait until every link is running', task: () => timed(opts.onStep, 'settle (every link running)', () => executor.settle())},
    ])
  if (opts.progress === 'silent') {
    for (const s of steps) await s.task()
    return
  }
  const {Listr, ListrLogger, ProcessOutput} = await import('listr2')
  // progress is for the person watching: on stderr, so stdout holds only the result
  // (`netlab up --json | jq`, `netlab up > log`); spinners only on a terminal, plain lines in
  // CI logs and pipes; listr2 leaves out colours under NO_COLOR.
  const logger = new ListrLogger({processOutput: new ProcessOutput(process.stderr, process.stderr), useIcons: true})
  // listr2 asks stdout whether a live list is possible; ours is drawn on stderr, so it is told
  // (forceTTY) when stderr is a terminal with a width, and stdout gets its own answer back afterwards
  const live = isLiveTerminal(process.stderr)
  const stdoutTTY = process.stdout.isTTY
  const tasks = new Listr(steps, {
    concurrent: false,
    exitOnError: true,
    registerSignalListeners: false,
    renderer: live ? 'default' : 'simple',
    forceTTY: live,
    rendererOptions: {logger},
    fallbackRenderer: 'simple',
    fallbackRendererOptions: {logger},
    collectErrors: false,
  })
  try {
    await tasks.run()
  } finally {
    process.stdout.isTTY = stdoutTTY
  }
}

/** The stage's note says when the kernel's link watch was synced before it (Executor.syncLinks). */
const syncNote = (sync: {namespaces: number; ms: number} | undefined) =>
  sync ? `; first the link watch synced in ${plural(sync.namespaces, 'namespace')} (${sync.ms.toFixed(0)} ms)` : ''

function describeStage(stage: Stage): {actions: number; batches: number; how: string} {
  const actions = stage.lanes.reduce((n, l) => n + l.batches.reduce((m, b) => m + b.actions.length, 0), 0)
  const batches = stage.lanes.reduce((n, l) => n + l.batches.length, 0)
  const inNetns = stage.lanes.some((l) => l.netns !== null)
  const how = inNetns
    ? `${plural(stage.lanes.length, 'namespace')}, ${plural(batches, 'batch', 'batches')} via one netlab-nsexec`
    : `${plural(batches, 'ip -batch process', 'ip -batch processes')}`
  return {actions, batches, how}
}
