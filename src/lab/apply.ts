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
import {pinTopology} from '../compile/apply-pin.js'
import type {LabModel} from '../model/types.js'
import {Journal} from '../state/journal.js'
import {files, stateRoot} from '../state/paths.js'
import {writeJson, writePlan, writeState, type LabState} from '../state/store.js'
import {acquireLock} from '../host/lock.js'
import {cniEnvironment} from '../host/cni-env.js'
import {BUILD_TOOLS, requirePerl, requireRoot, requireTools} from '../host/preflight.js'
import {loadTopologyText, parseTopology} from '../topology/parse.js'
import {readTopologySource, saveTopologySource} from '../state/topology-source.js'
import type {TopologyWarning} from '../topology/errors.js'
import type {Topology} from '../topology/types.js'
import {loadConflist} from '../topology/cni.js'
import {canonical} from '../plan/undo-check.js'
import {applyResults, requireCniPlugins} from './cni-results.js'
import {runChange} from './change-run.js'
import {requireCapacity} from './capacity.js'
import {settleSpeakers, speakersChange, stopLeavingSpeakers} from './bird.js'
import {labPerlHelpers} from './perl-helpers.js'
import {testHooks} from './up.js'
import {requireState} from './require-state.js'
import {startWorkload, stopWorkload, workloadPorts} from './workload.js'
import {netlabCmd} from '../core/invocation.js'

/** Where the new topology comes from: a file, or text (a shortcut's edit of the lab's saved topology). */
export type TopologySource =
  | {file: string}
  | {
      name: string
      text: string
      /** the lab's saved topology the text was made from (a shortcut's edit): refused if another change saved another meanwhile */
      base?: string
    }

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

/** The new topology and its text (which becomes the lab's saved topology: netlab topology, the shortcuts). */
function readSource(source: TopologySource): {topo: Topology; text: string} {
  if ('file' in source) {
    const {topology, text} = loadTopologyText(source.file)
    return {topo: topology, text}
  }
  return {topo: parseTopology(source.text, source.name), text: source.text}
}

interface Planned {
  state: LabState
  model: LabModel
  plan: Plan
  full: Plan
  summary: string[]
  warnings: TopologyWarning[]
  /** false: the new topology is the lab as it is (no action, and the same model) */
  changed: boolean
}

/** The change, planned against the lab as it is now; nothing is run. Bad input (and a change that cannot be made in place) throws here. */
function planApply(lab: string, topo: Topology): Planned {
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
  // a fault's undo and an interrupted policy change are written against the lab as it is now
  if (existsSync(files.fault(lab)))
    throw new UsageError(`lab ${lab} has an exercise fault in it (netlab break): run "${netlabCmd()} fix ${lab}" first`)
  if (existsSync(files.policyPlan(lab)))
    throw new UsageError(
      `lab ${lab} has a policy change that was interrupted: run "${netlabCmd()} policy apply" or "${netlabCmd()} status ${lab}" first`,
    )
  // an edit's text names a conflist as the lab's file did: relative to that file
  const cni = topo.cluster.cni
  if (cni?.conflist && !cni.conflistFile) cni.conflistFile = loadConflist(state.topology, cni.conflist)
  const warnings: TopologyWarning[] = []
  const model = buildModel(pinTopology(state.model, topo), {warnings, stateRoot: stateRoot(), cniEnv: cniEnvironment()})
  const {plan, changes, full} = compileApply(state.model, model, {owner: ownerMark(lab, stateRoot())})
  const changed = plan.actions.length > 0 || canonical(state.model) !== canonical(model)
  return {state, model, plan, full, summary: changes, warnings, changed}
}

export async function applyTopology(source: TopologySource, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const started = performance.now()
  const {topo, text} = readSource(source)
  const lab = topo.name.value
  const result = (p: Planned, ran: boolean): ApplyResult => ({
    lab,
    changed: p.changed,
    actions: p.plan.actions.length,
    dryRun: !ran,
    plan: p.plan,
    summary: p.summary,
    warnings: p.warnings,
    ms: Math.round(performance.now() - started),
  })
  if (opts.dryRun) return result(planApply(lab, topo), false)
  requireRoot('netlab apply')
  requireTools(BUILD_TOOLS)
  // planned under the lock: no other change can move the lab between the plan and its run
  const lock = acquireLock(lab)
  try {
    if ('base' in source && source.base !== undefined && readTopologySource(lab) !== source.base)
      throw new UsageError(`lab ${lab}'s topology was changed by another command meanwhile; run this one again`)
    const p = planApply(lab, topo)
    if (!p.changed) {
      saveTopologySource(lab, text) // a comment or a layout: the text is still the one to edit next
      return result(p, false)
    }
    await run(p, text, 'file' in source ? source.file : p.state.topology)
    return result(p, true)
  } finally {
    lock.release()
  }
}

/** Run a planned change (the lab's lock held): journal, rollback, the workload, then the lab's new state. */
async function run({state, model, plan, full}: Planned, text: string, file: string): Promise<void> {
  const lab = state.lab
  if (model.cni) requireCniPlugins(model)
  requireCapacity(model, plan) // what the change adds must fit what the machine has left
  const workload = workloadPorts(model).length > 0 || workloadPorts(state.model).length > 0
  await requirePerl(labPerlHelpers(model, workload))
  // while it runs (and if it is killed) the lab is between two topologies: the record says so
  writeJson(files.applyPlan(lab), {lab, pid: process.pid, startedAt: new Date().toISOString()})
  const journal = new Journal(files.applyJournal(lab))
  const workloadMoves = canonical(workloadPorts(state.model)) !== canonical(workloadPorts(model))
  if (workloadMoves) await stopWorkload(lab)
  // (a pod that comes or goes changes no speaker: its node announces the same block)
  const bgp = state.model.bgp !== undefined && speakersChange(state.model, model)
  // routing bgp: a leaving node's BIRD goes before its namespace; new ones start once the plan ran, and the lab converges
  if (bgp) await stopLeavingSpeakers(state.model, model)
  try {
    await runChange(plan, journal, {
      verb: 'apply',
      keeps: 'its old topology',
      journalFile: files.applyJournal(lab),
      forget,
      madeHere: true,
      pause: testHooks().pause,
      ...(bgp ? {finish: (signal: AbortSignal) => settleSpeakers(model, signal)} : {}),
    })
  } catch (error) {
    if (bgp) await settleSpeakers(state.model).catch(() => undefined)
    if (workloadMoves) await startWorkload(state.model).catch(() => undefined)
    throw error
  }
  if (model.cni) applyResults(model)
  if (workloadMoves) await startWorkload(model)
  writePlan(full)
  writeState({...state, topology: file, model})
  saveTopologySource(lab, text)
  forget(lab)
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
