// `netlab break` and `netlab fix`: inject one fault into a running lab, and take it out again.
// The fault is a small plan run by the executor with its own journal (fault-journal.jsonl), and
// saved with the lab (fault.json) before it runs, so `fix` undoes exactly what was applied, even
// after a crash; `down` needs neither (every fault lives inside a lab namespace).
import {existsSync, rmSync} from 'node:fs'
import {NetlabError, UsageError} from '../core/errors.js'
import {Executor} from '../exec/executor.js'
import {NSEXEC} from '../exec/fanout.js'
import {rollback} from '../exec/rollback.js'
import {BUILD_TOOLS, requirePerl, requireRoot, requireTools} from '../host/preflight.js'
import {Journal, readJournal, summarize} from '../state/journal.js'
import {acquireLock} from '../host/lock.js'
import {files, labDir, stateRoot} from '../state/paths.js'
import {readRecord, writeJson} from '../state/store.js'
import {requireState} from '../lab/require-state.js'
import {freezeSpeaker, restartSpeaker, speakerState} from '../lab/bird.js'
import {compilePlan} from '../compile/plan.js'
import {settleInterrupted} from '../lab/policy.js'
import type {Action, Plan} from '../core/actions.js'
import {netlabCmd} from '../core/invocation.js'
import {run} from '../exec/runner.js'
import {ownerMark} from '../core/names.js'
import type {LabModel} from '../model/types.js'
import {applicableKinds, FAULT_KINDS, faultRecordProblem, pickFault, seeded, type Fault, type FaultKind} from './faults.js'

export interface Injected {
  lab: string
  seed: number
  fault: Fault
}

/** The lab's model and plan, for a lab that is up. */
function upLab(lab: string) {
  const state = requireState(lab) // damaged: says so, and that down still works
  if (state.status !== 'up') throw new UsageError(`lab ${lab} is not up (its "netlab up" is running or was interrupted)`)
  return {model: state.model, plan: labPlan(state.model)}
}

/** A lab's plan, as its `up` ran it: plan.json keeps only the undo steps (src/state/store.ts), so it is compiled again from the saved model. */
export function labPlan(model: LabModel): Plan {
  return compilePlan(model, {owner: ownerMark(model.lab, stateRoot())})
}

/** The kinds this lab can take (every kind when no lab is given). */
export function kindsFor(lab: string | undefined): FaultKind[] {
  if (!lab) return [...FAULT_KINDS]
  const {model, plan} = upLab(lab)
  return applicableKinds(model, plan)
}

async function preflight(what: string): Promise<void> {
  requireRoot(what)
  requireTools(BUILD_TOOLS)
  await requirePerl([NSEXEC])
}

function forget(lab: string): void {
  rmSync(files.fault(lab), {force: true})
  rmSync(files.faultJournal(lab), {force: true})
}

export async function breakLab(lab: string, kind: string | undefined, seed: number): Promise<Injected> {
  if (kind !== undefined && !(FAULT_KINDS as readonly string[]).includes(kind))
    throw new UsageError(`no fault kind "${kind}"; the kinds: ${FAULT_KINDS.join(', ')} (netlab break --list)`)
  // a killed policy apply is finished or undone first (the lab's model may change)
  await settleInterrupted(lab)
  const {model, plan} = upLab(lab)
  const fault = pickFault(model, plan, kind as FaultKind | undefined, seeded(seed))
  if (!fault) {
    const can = applicableKinds(model, plan)
    // the Service faults need kube-proxy's iptables mode (the nftables mode's rules have no positions to put back)
    const why =
      kind && ['kube-proxy', 'stale-endpoint', 'node-port'].includes(kind)
        ? `proxy ${model.services?.proxy ?? 'none: no services'}`
        : `routing ${model.routing}`
    throw new UsageError(
      `lab ${lab} (${why}) cannot take ${kind ? `the ${kind} fault` : 'any fault'}` +
        (can.length ? `; it can take: ${can.join(', ')}` : ''),
    )
  }
  await preflight('netlab break')
  const lock = acquireLock(lab)
  try {
    if (existsSync(files.fault(lab)))
      throw new UsageError(`lab ${lab} already has a fault injected; "netlab fix ${lab}" takes it out first`)
    const injected: Injected = {lab, seed, fault}
    writeJson(files.fault(lab), injected)
    if (isDaemonFault(fault)) {
      freezeSpeaker(lab, fault.plan.actions[0].args[1])
      return injected
    }
    const journal = new Journal(files.faultJournal(lab))
    const executor = new Executor(fault.plan, {journal, concurrency: 1, workDir: labDir(lab)})
    try {
      for (const stage of executor.stages) await executor.runStage(stage)
    } catch (error) {
      await rollback(fault.plan, summarize(readJournal(files.faultJournal(lab))), {lab, source: 'the fault'})
      forget(lab)
      throw new NetlabError(`could not inject the fault (nothing of it is left): ${(error as Error).message}`)
    }
    return injected
  } finally {
    lock.release()
  }
}

/** What fix did: undid the fault, or found it already gone from the kernel (a policy apply replaced its table). */
export interface Fixed extends Injected {
  /** the fault's changes were no longer in the kernel: nothing was undone */
  gone?: boolean
}

/** fault.json as read and checked against the lab's model (faultRecordProblem): the fault, or why it is refused. */
type FaultRead = {ok: true; injected: Injected} | {ok: false; reason: string}

/** The lab's injected fault, checked, not trusted; undefined when it has none. */
function readFault(lab: string, model: LabModel): FaultRead | undefined {
  const read = readRecord(files.fault(lab))
  if (!read) return undefined
  if ('damaged' in read) return {ok: false, reason: read.damaged}
  const problem = faultRecordProblem(read.json, model, labPlan(model), labDir(lab))
  return problem ? {ok: false, reason: problem} : {ok: true, injected: read.json as Injected}
}

/** The way out of a refused fault.json: nothing of it runs, so the record goes and the lab is rebuilt. */
const refusedFault = (lab: string, reason: string) =>
  `${files.fault(lab)}: refused, nothing was run: ${reason}\n` +
  `remove it (rm ${files.fault(lab)}) to go on; a fault still in the kernel goes with "${netlabCmd()} down ${lab}" and "${netlabCmd()} up"`

/** Undo the lab's injected fault; undefined when it has none. */
export async function fixLab(lab: string): Promise<Fixed | undefined> {
  requireState(lab)
  await settleInterrupted(lab)
  const read = readFault(lab, requireState(lab).model) // the model as the settled apply left it
  if (!read) return undefined
  if (!read.ok) throw new NetlabError(refusedFault(lab, read.reason))
  const {injected} = read
  await preflight('netlab fix')
  const lock = acquireLock(lab)
  try {
    if (isDaemonFault(injected.fault)) {
      // BIRD running again (someone woke it): nothing to undo; else it is started afresh and the lab converges
      const name = injected.fault.plan.actions[0].args[1]
      const gone = speakerState(lab, name) === 'running'
      if (!gone) await restartSpeaker(requireState(lab).model, name)
      forget(lab)
      return {...injected, ...(gone ? {gone} : {})}
    }
    // the kernel, not the record, says whether there is anything to undo
    const gone = await faultGone(injected.fault)
    if (!gone) await rollback(injected.fault.plan, summarize(readJournal(files.faultJournal(lab))), {lab, source: files.fault(lab)})
    forget(lab)
    return {...injected, ...(gone ? {gone} : {})}
  } finally {
    lock.release()
  }
}

/** A fault that stops a daemon of the lab (bgp-down): break and fix run it through src/lab/bird.ts, not the executor. */
const isDaemonFault = (f: Fault) => f.plan.actions.length === 1 && f.plan.actions[0].tool === 'bird'

/** A fault action that inserts an iptables rule (drop, masquerade): the kernel can be asked whether it is still there. */
const insertsRule = (a: Action) => a.tool === 'iptables' && a.args.includes('-I')
/** … into the filter table, the one `policy apply` replaces whole */
const inFilterTable = (a: Action) => insertsRule(a) && (a.args[0] !== '-t' || a.args[1] === 'filter')

/** An inserted rule's own test: `-I CHAIN N rule…` becomes `-C CHAIN rule…` (exit 0 while the rule is there). */
function checkArgs(a: Action): string[] {
  const at = a.args.indexOf('-I')
  const rest = a.args.slice(at + 2)
  return [...a.args.slice(0, at), '-C', a.args[at + 1], ...(/^\d+$/.test(rest[0] ?? '') ? rest.slice(1) : rest)]
}

/**
 * True when every change of the fault is a rule that the kernel no longer holds (read with
 * iptables -C in its namespace); false when any is there, or is of a kind this cannot read.
 */
async function faultGone(fault: Fault): Promise<boolean> {
  const actions = fault.plan.actions
  if (!actions.every(insertsRule)) return false
  for (const a of actions) {
    const r = await run('ip', ['netns', 'exec', a.netns!, 'iptables', '-w', ...checkArgs(a)])
    if (r.exitCode === 0) return false
  }
  return true
}

/**
 * `policy apply` on a lab with an injected fault: what the change does to it, in one line.
 * The change replaces whole filter tables (src/compile/policy-apply.ts): a fault whose rules are
 * in a replaced table goes with the old rules; any other stays.
 */
export function faultWarning(lab: string, change: Plan): string | undefined {
  const read = readFault(lab, requireState(lab).model)
  if (!read) return undefined
  if (!read.ok) return `lab ${lab}'s fault record ${files.fault(lab)} is refused (${read.reason}): "${netlabCmd()} fix ${lab}" will say so`
  const {injected} = read
  const replaced = new Set(change.actions.filter((a) => a.tool === 'iptables-restore').map((a) => a.netns))
  const f = injected.fault
  const removed = f.plan.actions.every((a) => inFilterTable(a) && replaced.has(a.netns))
  return removed
    ? `this apply replaces the rules of ${f.where}, which hold the fault "netlab break" injected (${f.kind}): it takes the fault out ("${netlabCmd()} fix ${lab}" will find nothing to undo)`
    : `lab ${lab} has a fault injected by "netlab break" (${f.kind}, in ${f.where}) that this apply does not touch: it stays until "${netlabCmd()} fix ${lab}"`
}
