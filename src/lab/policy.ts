// `netlab policy apply`: replace a running lab's policies. Check the file against the lab (bad
// input fails before anything is touched), lock the lab, journal and run the change plan
// (src/compile/policy-apply.ts); on any failure or signal, undo what ran, so the lab keeps its old
// policies. The new policies are saved with the lab only once every node has them.
import {policyProblem} from '../compile/intent-check.js'
import {existsSync, rmSync} from 'node:fs'
import {NetlabError, UsageError} from '../core/errors.js'
import {NSEXEC} from '../exec/fanout.js'
import {rollback} from '../exec/rollback.js'
import {runChange} from './change-run.js'
import {CNI_NO_POLICIES, modelWith} from '../compile/model.js'
import {resolvePolicies} from '../compile/policies.js'
import {labelCommand, labelsOfIntent, relabel, type LabelTarget} from '../compile/labels.js'
import {namespacesOf} from '../model/namespaces.js'
import type {LabModel} from '../model/types.js'
import {ownerMark} from '../core/names.js'
import {compilePolicyApply} from '../compile/policy-apply.js'
import {policyDiff, specsInNamespace, withNamespacePolicies, type PolicyDiff} from '../compile/policy-scope.js'
import type {Plan} from '../core/actions.js'
import {Journal, readJournal, summarize, type JournalSummary} from '../state/journal.js'
import {acquireLock, lockHolder} from '../host/lock.js'
import {files, stateRoot} from '../state/paths.js'
import {readRecord, readState, removeScratch, scratchDirs, writeJson, writeState, type LabState} from '../state/store.js'
import {requireState} from './require-state.js'
import type {TopologyWarning} from '../topology/errors.js'
import {loadPolicyFile} from '../topology/parse.js'
import {BUILD_TOOLS, requirePerl, requireRoot, requireTools} from '../host/preflight.js'
import {plural} from '../core/plural.js'
import {canonical} from '../plan/undo-check.js'
import {netlabCmd} from '../core/invocation.js'
import {isRecord} from '../core/record.js'

/** A change of a running lab's policies (policy apply) or of the labels they select by (label). */
export interface PolicyChange {
  /** the command that makes it, for its messages: "policy apply", "label" */
  verb: string
  /** what the lab keeps when the change is undone: "its old policies", "its old labels" */
  keeps: string
  state: LabState
  model: LabModel
  plan: Plan
  warnings: TopologyWarning[]
  /** the same change, planned again against the lab as it is now (after an interrupted one was settled) */
  replan(): PolicyChange
}

/**
 * The lab, its new model (what `next` makes of its state) and the change plan; nothing is run
 * (--dry-run stops here). Bad input throws before anything is touched.
 */
function planModelChange(
  lab: string,
  how: {verb: string; keeps: string},
  next: (state: LabState) => {model: LabModel; warnings: TopologyWarning[]},
): PolicyChange {
  const state = requireState(lab) // damaged: says so, and that down still works
  if (state.status !== 'up')
    throw new UsageError(
      `lab ${lab} is not up: its "netlab up" is still running or was interrupted; run "netlab ` + `down ${lab}" and "netlab up" again`,
    )
  if (state.model.cni) throw new UsageError(`lab ${lab} is wired by CNI plugins (cluster.cni): ${CNI_NO_POLICIES}`)
  const {model, warnings} = next(state)
  const plan = compilePolicyApply(state.model, model, {owner: ownerMark(lab, stateRoot())})
  return {...how, state, model, plan, warnings, replan: () => planModelChange(lab, how, next)}
}

/**
 * policy apply: the lab's policies become those of the file; with a namespace, only that
 * namespace's do (the file's policies are all in it), and the other namespaces' stay as they are.
 */
export function planPolicyChange(lab: string, file: string, namespace?: string): PolicyChange {
  return planModelChange(lab, {verb: 'policy apply', keeps: 'its old policies'}, (state) => {
    if (namespace !== undefined && !namespacesOf(state.model).some((n) => n.name === namespace))
      throw new UsageError(
        `lab ${lab} has no namespace ${JSON.stringify(namespace)} (its namespaces: ${namespacesOf(state.model)
          .map((n) => n.name)
          .join(', ')})`,
      )
    const specs = loadPolicyFile(file) // a TopologyError (exit 2) on bad input
    const warnings: TopologyWarning[] = []
    if (namespace === undefined) return {model: modelWith(state.model, {policies: resolvePolicies(specs, state.model, warnings)}), warnings}
    const fresh = resolvePolicies(specsInNamespace(specs, namespace), state.model, warnings)
    return {model: modelWith(state.model, {policies: withNamespacePolicies(state.model.policies ?? [], namespace, fresh)}), warnings}
  })
}

/** The policies a change creates, changes and deletes (for policy apply's report). */
export function policyChanges(change: PolicyChange): PolicyDiff {
  return policyDiff(change.state.model.policies ?? [], change.model.policies ?? [])
}

/** label: a pod's or a namespace's labels change, and with them what the policies select. */
export function planLabelChange(lab: string, words: string[], namespace: string | undefined): PolicyChange & {target: LabelTarget} {
  const {target, edits} = labelCommand(words, namespace) // a UsageError (exit 2) on bad input
  const change = planModelChange(lab, {verb: 'label', keeps: 'its old labels'}, (state) => ({
    model: relabel(state.model, target, edits),
    warnings: [],
  }))
  return {...change, target}
}

/** The labels the target of a label change has once it is made. */
export function labelsAfter(change: PolicyChange & {target: LabelTarget}): Record<string, string> {
  const t = change.target
  if ('pod' in t) return change.model.nodes.flatMap((n) => n.pods).find((p) => p.name === t.pod)?.labels ?? {}
  return namespacesOf(change.model).find((n) => n.name === t.namespace)?.labels ?? {}
}

export interface ApplyResult {
  lab: string
  policies: number
  /** nodes whose rules were replaced */
  nodes: number
  /** the lab had no policy wiring before */
  wired: boolean
  actions: number
  ms: number
}

export async function applyPolicies(change: PolicyChange): Promise<ApplyResult> {
  const started = performance.now()
  let {state, model, plan} = change
  const lab = state.lab
  requireRoot(`netlab ${change.verb}`)
  requireTools(BUILD_TOOLS)
  await requirePerl([NSEXEC])
  const lock = acquireLock(lab)
  try {
    removeScratch(lab)
    // an apply killed before this one: finished or undone first; finished, the lab's policies are the ones it applied
    if ((await recoverPolicyApply(lab)) === 'complete') ({state, model, plan} = change.replan())
    // write-ahead: the change and where it leads are on disk before any node is touched
    writeJson(files.policyPlan(lab), {...plan, intent: model, pid: process.pid} satisfies PolicyApplyRecord)
    const journal = new Journal(files.policyJournal(lab))
    await runChange(plan, journal, {...change, journalFile: files.policyJournal(lab), forget})
    // test-only: die as a SIGKILL would, just after every node has its new rules (docs/safety.md)
    if (process.env.NETLAB_TEST_KILL_AFTER_COMMIT) process.kill(process.pid, 'SIGKILL')
    writeState({...state, model})
    forget(lab)
    return {
      lab,
      policies: model.policies?.length ?? 0,
      nodes: plan.actions.filter((a) => a.phase === 'policy-rules').length,
      wired: !state.model.policies,
      actions: plan.actions.length,
      ms: Math.round(performance.now() - started),
    }
  } finally {
    lock.release()
  }
}

function forget(lab: string): void {
  rmSync(files.policyPlan(lab), {force: true})
  rmSync(files.policyJournal(lab), {force: true})
}

/**
 * What `policy apply` writes before it touches any node (write-ahead): its change plan (each
 * action with its undo) and the model it leads to. While the file exists, an apply is running
 * or was killed; the journal beside it says how far it got.
 */
interface PolicyApplyRecord extends Plan {
  /** the lab's model once every node has its new rules (missing in a record of an older netlab: rolled back) */
  intent?: LabModel
  pid?: number
}

/** What the next command does about an apply that was killed: finish it, or undo what it did. */
export type Recovery = 'complete' | 'roll back'

/** A record as checked against the lab (checkApplyRecord): its actions, and the model it may complete to. */
export interface CheckedApply {
  actions: {id: number}[]
  /** the lab's model with the record's policies, only when its actions are exactly the change netlab makes for them */
  next?: LabModel
  pid?: number
}

/**
 * policy-plan.json, checked, not trusted (as read: `raw`): the next command runs its undo steps
 * or makes its intent the lab's model. Only the intent's policies and labels are taken (the rest
 * of the model stays the lab's own), and only when the record's actions are what netlab compiles for
 * them (compilePolicyApply, canonically); else there is nothing to complete, only to roll back
 * (rollback checks each undo step). A record of the wrong shape or lab is damaged: the reason. Pure.
 */
export function checkApplyRecord(
  raw: unknown,
  model: LabModel,
  owner: string,
): {ok: true; record: CheckedApply} | {ok: false; reason: string} {
  const damaged = (reason: string) => ({ok: false as const, reason: `damaged: ${reason}`})
  if (!isRecord(raw)) return damaged('it is not a policy apply record')
  if (raw.lab !== model.lab) return damaged(`it is for lab ${JSON.stringify(raw.lab)}, not ${model.lab}`)
  if (!Array.isArray(raw.actions) || !raw.actions.every((a) => isRecord(a) && Number.isInteger(a.id)))
    return damaged('it has no list of actions')
  const record: CheckedApply = {actions: raw.actions as {id: number}[], ...(Number.isInteger(raw.pid) ? {pid: raw.pid as number} : {})}
  const intent = raw.intent
  if (intent === undefined) return {ok: true, record} // an older netlab's record: rolled back
  if (!isRecord(intent) || !Array.isArray(intent.policies)) return damaged('its intent has no list of policies')
  const bad = intent.policies.map(policyProblem).find(Boolean)
  if (bad) return damaged(`its intent has ${bad}`)
  // a label change's intent differs in its labels too: those are taken, checked, with the policies
  const labelled = labelsOfIntent(model, intent)
  if (typeof labelled === 'string') return damaged(labelled)
  try {
    const next = modelWith(labelled, {policies: intent.policies as LabModel['policies']})
    const made = compilePolicyApply(model, next, {owner})
    return {ok: true, record: canonical(made.actions) === canonical(raw.actions) ? {...record, next} : record}
  } catch (error) {
    return damaged(`its policies cannot be compiled (${(error as Error).message.split('\n')[0]})`)
  }
}

/** Complete only an apply that did something, every action of it journaled done (all nodes have the new rules), and that leads somewhere checked; any other is rolled back. */
export function recoveryOf(record: CheckedApply, summary: JournalSummary): Recovery {
  return record.next && record.actions.length > 0 && record.actions.every((a) => summary.applied.has(a.id)) ? 'complete' : 'roll back'
}

/** The lab's policy-plan.json, checked (checkApplyRecord); undefined when there is none. */
function readApplyRecord(lab: string, model: LabModel): ReturnType<typeof checkApplyRecord> | undefined {
  const read = readRecord(files.policyPlan(lab))
  if (!read) return undefined
  if ('damaged' in read) return {ok: false, reason: read.damaged}
  return checkApplyRecord(read.json, model, ownerMark(lab, stateRoot()))
}

/** An apply that is running, or was killed, on this lab (for status: it never changes anything). */
export interface PendingApply {
  /** the apply's process, if it still runs */
  running?: number
  /** what the next netlab command on the lab will do about it, if it is not running and its record is sound */
  next?: Recovery
  /** its record cannot be used: why (nothing of it is run) */
  damaged?: string
  policies?: number
}

export function pendingApply(lab: string, model: LabModel): PendingApply | undefined {
  const read = readApplyRecord(lab, model)
  if (!read) return undefined
  if (!read.ok) return {running: lockHolder(lab), damaged: read.reason}
  const next = recoveryOf(read.record, summarize(readJournal(files.policyJournal(lab))))
  return {running: lockHolder(lab), next, policies: read.record.next?.policies?.length}
}

/** The refusal of a damaged policy-plan.json: nothing of it runs; the ways on. */
const damagedApply = (lab: string, reason: string) =>
  `${files.policyPlan(lab)}: refused, nothing was run: ${reason}\n` +
  `"${netlabCmd()} down ${lab}" still works; or, if lab ${lab}'s rules are known to be its saved policies, remove it (rm ${files.policyPlan(lab)})`

/**
 * Under the lab's lock: finish or undo a `policy apply` that was killed (its record is still
 * there), and say what was done; undefined when there was none.
 */
async function recoverPolicyApply(lab: string): Promise<Recovery | undefined> {
  if (!existsSync(files.policyPlan(lab))) {
    forget(lab)
    return undefined
  }
  const state = readState(lab)
  // without the lab's state there is no model to check the record against: left for down
  if (!state) return undefined
  const read = readApplyRecord(lab, state.model)!
  if (!read.ok) throw new NetlabError(damagedApply(lab, read.reason))
  const {record} = read
  const summary = summarize(readJournal(files.policyJournal(lab)))
  const recovery = recoveryOf(record, summary)
  const who = `a "netlab policy apply" on lab ${lab} was stopped before it finished${record.pid ? ` (pid ${record.pid})` : ''}`
  if (recovery === 'complete' && record.next) {
    // every node has the new rules: the lab's state catches up with its kernel (its policies, nothing else)
    writeState({...state, model: record.next})
    forget(lab)
    process.stderr.write(
      `netlab: ${who}, after every node had its new rules: completed (lab ${lab} now has its ${record.next.policies?.length ?? 0} policies)\n`,
    )
    return recovery
  }
  const report = await rollback(record as Pick<Plan, 'actions'>, summary, {lab, source: files.policyPlan(lab)})
  forget(lab)
  process.stderr.write(`netlab: ${who}: rolled back (${plural(report.undone, 'action')} undone; lab ${lab} keeps its old policies)\n`)
  return 'roll back'
}

/**
 * Before a command works on a lab: what a killed run left (a policy apply half done, scratch
 * directories) is finished or undone and cleared, under the lab's lock. Nothing to do is the
 * common case, and takes no lock; a lab being changed right now is left to its changer. True
 * when the lab's state may have changed (an apply was finished or undone).
 */
export async function settleInterrupted(lab: string): Promise<boolean> {
  if (!existsSync(files.policyPlan(lab)) && scratchDirs(lab).length === 0) return false
  // only root can undo kernel state (and take the lock); a lab being changed is left to its changer
  if (process.getuid?.() !== 0 || lockHolder(lab) !== undefined) return false
  let lock
  try {
    lock = acquireLock(lab)
  } catch {
    return false // taken meanwhile
  }
  try {
    removeScratch(lab)
    return (await recoverPolicyApply(lab)) !== undefined
  } finally {
    lock.release()
  }
}
