// `netlab apply`: turn a running lab into a changed topology. The new topology is read and pinned
// to what the lab has (src/compile/apply-pin.ts: a change that cannot be made in place is bad
// input, before anything runs), the change plan is compiled (src/compile/apply.ts), then run with
// a journal like any change; on a failure or a signal everything it did is undone, namespaces it
// deleted built again, so the lab is exactly as it was. Once it has run, the lab's model, plan and
// topology are the new ones: the lab is what a fresh `up` of the new topology would be.
import {rmSync, existsSync} from 'node:fs'
import {UsageError} from '../core/errors.js'
import {ownerMark} from '../core/names.js'
import type {Plan} from '../core/actions.js'
import {buildModel} from '../compile/model.js'
import {compileApply} from '../compile/apply.js'
import {compilePlan} from '../compile/plan.js'
import {pinTopology} from '../compile/apply-pin.js'
import type {LabModel} from '../model/types.js'
import {NSEXEC} from '../exec/fanout.js'
import {Journal} from '../state/journal.js'
import {files, stateRoot} from '../state/paths.js'
import {writeJson, writePlan, writeState, type LabState} from '../state/store.js'
import {acquireLock} from '../host/lock.js'
import {cniEnvironment} from '../host/cni-env.js'
import {BUILD_TOOLS, requirePerl, requireRoot, requireTools} from '../host/preflight.js'
import {loadTopologyFile, parseTopology} from '../topology/parse.js'
import type {TopologyWarning} from '../topology/errors.js'
import {canonical} from '../plan/undo-check.js'
import {applyResults, requireCniPlugins} from './cni-results.js'
import {runChange} from './change-run.js'
import {testHooks} from './up.js'
import {requireState} from './require-state.js'
import {startWorkload, stopWorkload, workloadPorts, WORKLOAD_SCRIPT} from './workload.js'
import {netlabCmd} from '../core/invocation.js'

/** Where the new topology comes from: a file, or text (a shortcut's edit of the lab's saved topology). */
export type TopologySource = {file: string} | {name: string; text: string}

export interface ApplyOptions {
  /** compile and show the change; run nothing (no root needed) */
  dryRun?: boolean
}

export interface ApplyResult {
  lab: string
  /** false: the new topology is the lab as it is; nothing ran */
  changed: boolean
  actions: number
  dryRun: boolean
  plan: Plan
  /** what changes, one line each ("+ pod web-2 on node-0 (10.244.0.4)") */
  summary: string[]
  warnings: TopologyWarning[]
  ms: number
}

/** The change, planned; nothing is run. Bad input (and a change that cannot be made in place) throws here. */
function planApply(source: TopologySource): {
  state: LabState
  model: LabModel
  plan: Plan
  summary: string[]
  warnings: TopologyWarning[]
} {
  const topo = 'file' in source ? loadTopologyFile(source.file) : parseTopology(source.text, source.name)
  const lab = topo.name.value
  const state = requireState(lab)
  if (state.status !== 'up')
    throw new UsageError(
      `lab ${lab} is not up: its "netlab up" is still running or was interrupted; run "${netlabCmd()} down ${lab}" and "netlab up" again`,
    )
  if (existsSync(files.applyPlan(lab)))
    throw new UsageError(
      `lab ${lab} has an apply that was interrupted (killed) half-way: it is between two topologies; ` +
        `run "${netlabCmd()} down ${lab}" and "${netlabCmd()} up" again`,
    )
  const warnings: TopologyWarning[] = []
  const model = buildModel(pinTopology(state.model, topo), {warnings, stateRoot: stateRoot(), cniEnv: cniEnvironment()})
  const {plan, changes} = compileApply(state.model, model, {owner: ownerMark(lab, stateRoot())})
  return {state, model, plan, summary: changes, warnings}
}

export async function applyTopology(source: TopologySource, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const started = performance.now()
  const {state, model, plan, summary, warnings} = planApply(source)
  const lab = state.lab
  const changed = plan.actions.length > 0 || canonical(state.model) !== canonical(model)
  const result = (ran: boolean): ApplyResult => ({
    lab,
    changed,
    actions: plan.actions.length,
    dryRun: !ran,
    plan,
    summary,
    warnings,
    ms: Math.round(performance.now() - started),
  })
  if (opts.dryRun || !changed) return result(false)
  requireRoot('netlab apply')
  requireTools(BUILD_TOOLS)
  if (model.cni) requireCniPlugins(model)
  const workload = workloadPorts(model).length > 0 || workloadPorts(state.model).length > 0
  await requirePerl([NSEXEC, ...(workload ? [WORKLOAD_SCRIPT] : [])])
  const lock = acquireLock(lab)
  try {
    // while it runs (and if it is killed) the lab is between two topologies: the record says so
    writeJson(files.applyPlan(lab), {lab, pid: process.pid, startedAt: new Date().toISOString()})
    const journal = new Journal(files.applyJournal(lab))
    const workloadMoves = canonical(workloadPorts(state.model)) !== canonical(workloadPorts(model))
    if (workloadMoves) await stopWorkload(lab)
    try {
      await runChange(plan, journal, {
        verb: 'apply',
        keeps: 'its old topology',
        journalFile: files.applyJournal(lab),
        forget,
        madeHere: true,
        pause: testHooks().pause,
      })
    } catch (error) {
      if (workloadMoves) await startWorkload(state.model).catch(() => undefined)
      throw error
    }
    if (model.cni) applyResults(model)
    if (workloadMoves) await startWorkload(model)
    writePlan(compilePlan(model, {owner: ownerMark(lab, stateRoot())}))
    writeState({...state, topology: 'file' in source ? source.file : state.topology, model})
    forget(lab)
    return result(true)
  } finally {
    lock.release()
  }
}

function forget(lab: string): void {
  rmSync(files.applyPlan(lab), {force: true})
  rmSync(files.applyJournal(lab), {force: true})
}

/** What apply (or a shortcut) prints: the changes, then the plan (--dry-run) or what ran. */
export function applyText(r: ApplyResult, renderPlanText: (p: Plan) => string): string {
  if (!r.changed) return `lab ${r.lab}: no difference: the topology is the lab as it is; nothing to do`
  const changes = r.summary.length > 0 ? r.summary.map((l) => `  ${l}`).join('\n') + '\n' : ''
  if (r.dryRun) return `lab ${r.lab}, if applied:\n${changes}\n${renderPlanText(r.plan)}`
  const cmd = netlabCmd()
  return `lab ${r.lab}:\n${changes}${r.actions} actions in ${r.ms} ms. Try: ${cmd} probe ${r.lab}, ${cmd} topology ${r.lab}`
}

/** --json: the result without the plan's undo steps (the plan itself with --dry-run). */
export function applyJson(r: ApplyResult): Record<string, unknown> {
  const {plan, warnings, ...rest} = r
  return {...rest, warnings: warnings.map((w) => w.message), ...(r.dryRun ? {plan} : {})}
}
