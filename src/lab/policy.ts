// `netlab policy apply`: replace a running lab's policies. Check the file against the lab (bad
// input fails before anything is touched), lock the lab, journal and run the change plan
// (src/compile/policy-apply.ts); on any failure or signal, undo what ran, so the lab keeps its old
// policies. The new policies are saved with the lab only once every node has them.
import {existsSync, rmSync} from 'node:fs'
import {NetlabError, SignalError, UsageError} from '../core/errors.js'
import {concurrency} from '../core/concurrency.js'
import {Executor, Interrupted, StepFailed} from '../exec/executor.js'
import {NSEXEC} from '../exec/fanout.js'
import {rollback} from '../exec/rollback.js'
import {CNI_NO_POLICIES, modelWith} from '../compile/model.js'
import {resolvePolicies} from '../compile/policies.js'
import type {LabModel} from '../model/types.js'
import {ownerMark} from '../core/names.js'
import {commandLine} from '../tools/command.js'
import {compilePolicyApply} from '../compile/policy-apply.js'
import type {Plan} from '../core/actions.js'
import {Journal, readJournal, summarize} from '../state/journal.js'
import {acquireLock} from '../host/lock.js'
import {files, labDir, stateRoot} from '../state/paths.js'
import {readJson, readState, writeJson, writeState, type LabState} from '../state/store.js'
import type {TopologyWarning} from '../topology/errors.js'
import {loadPolicyFile} from '../topology/parse.js'
import {BUILD_TOOLS, requirePerl, requireRoot, requireTools} from '../host/preflight.js'
import {plural} from '../core/plural.js'

export interface PolicyChange {
  state: LabState
  model: LabModel
  plan: Plan
  warnings: TopologyWarning[]
}

/** The lab, its new model and the change plan; nothing is run (--dry-run stops here). */
export function planPolicyChange(lab: string, file: string): PolicyChange {
  const state = readState(lab)
  if (!state) throw new UsageError(`no lab named ${lab} is up`)
  if (state.status !== 'up')
    throw new UsageError(
      `lab ${lab} is not up: its "netlab up" is still running or was interrupted; run "netlab ` + `down ${lab}" and "netlab up" again`,
    )
  if (state.model.cni) throw new UsageError(`lab ${lab} is wired by CNI plugins (cluster.cni): ${CNI_NO_POLICIES}`)
  const specs = loadPolicyFile(file) // a TopologyError (exit 2) on bad input
  const warnings: TopologyWarning[] = []
  const policies = resolvePolicies(
    specs,
    state.model.nodes.flatMap((n) => n.pods),
    warnings,
  )
  const model = modelWith(state.model, {policies})
  const plan = compilePolicyApply(state.model, model, {owner: ownerMark(lab, stateRoot())})
  return {state, model, plan, warnings}
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

/** Test-only hook, as for `up`: NETLAB_TEST_FAULT_AT=<step> makes that step of the change fail for real. */
function faultAt(): number | undefined {
  const f = process.env.NETLAB_TEST_FAULT_AT
  return f !== undefined && f !== '' ? Number(f) : undefined
}

export async function applyPolicies(change: PolicyChange): Promise<ApplyResult> {
  const started = performance.now()
  const {state, model, plan} = change
  const lab = state.lab
  requireRoot('netlab policy apply')
  requireTools(BUILD_TOOLS)
  await requirePerl([NSEXEC])
  const lock = acquireLock(lab)
  try {
    await recover(lab)
    writeJson(files.policyPlan(lab), plan)
    const journal = new Journal(files.policyJournal(lab))
    await runWithRollback(plan, journal)
    writeState({...state, model})
    forget(lab)
    return {
      lab,
      policies: model.policies!.length,
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

/** An apply that was killed (SIGKILL) left its plan and journal: undo what it may have done first. */
async function recover(lab: string): Promise<void> {
  if (!existsSync(files.policyPlan(lab))) return
  const plan = readJson<Plan>(files.policyPlan(lab))
  if (plan) await rollback(plan, summarize(readJournal(files.policyJournal(lab))))
  forget(lab)
}

async function runWithRollback(plan: Plan, journal: Journal): Promise<void> {
  const abort = new AbortController()
  let rollingBack = false
  const onSignal = (sig: NodeJS.Signals) => {
    if (rollingBack) process.stderr.write(`netlab: ${sig} received; still rolling back, please wait\n`)
    else abort.abort(sig)
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
    })
    try {
      for (const stage of executor.stages) await executor.runStage(stage)
    } catch (error) {
      rollingBack = true
      const report = await rollback(plan, summarize(readJournal(files.policyJournal(plan.lab))), journal)
      forget(plan.lab)
      const undone = `rolled back: ${plural(report.undone, 'applied action')} undone; lab ${plan.lab} keeps its old policies`
      if (error instanceof StepFailed) {
        const step = error.action
          ? `step ${error.action.id + 1}/${plan.actions.length} (${error.action.phase}: ${error.action.why})`
          : 'a step'
        const command = error.action ? commandLine(error.action).split('\n')[0] : error.command
        throw new NetlabError(
          `policy apply failed at ${step}\n  command: ${command}\n  error:   ` + `${error.stderr || '(no message)'}\n${undone}`,
        )
      }
      if (error instanceof Interrupted) throw new SignalError(`policy apply interrupted by ${error.reason}\n${undone}`, error.reason)
      throw new NetlabError(`policy apply failed: ${(error as Error).message}\n${undone}`)
    }
  } finally {
    signals.forEach((s) => process.off(s, onSignal))
  }
}
