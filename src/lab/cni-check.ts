// `netlab cni check`: the runtime's CNI CHECK for every pod of a lab that is up. Each pod's
// chain runs with CNI_COMMAND=CHECK and its cached ADD result as prevResult; a plugin answers
// whether what it set up is still there. Pods run side by side, each chain on its own.
import {tmpdir} from 'node:os'
import {NetlabError, UsageError} from '../core/errors.js'
import {concurrency} from '../core/concurrency.js'
import {runInNamespaces, NSEXEC} from '../exec/fanout.js'
import type {Action, Command} from '../core/actions.js'
import type {LabModel} from '../model/types.js'
import type {BatchOutcome as Outcome} from '../tools/types.js'
import {requirePerl, requireRoot} from '../host/preflight.js'
import {requireState} from './require-state.js'
import {CNI_CHAIN} from '../tools/cni.js'
import {cniCalls} from '../compile/cni-plan.js'
import {cachedResult, requireCniPlugins} from './cni-results.js'

interface PodCheck {
  pod: string
  node: string
  ok: boolean
  /** the plugin's error (its name, and its error result verbatim), or why nothing was checked */
  error?: string
}

export interface CheckReport {
  lab: string
  network: string
  pods: PodCheck[]
  passed: number
  failed: number
  ms: number
}

/** A lab wired by CNI, for a `netlab cni` command: root, its state, and the helpers the calls need. */
export async function cniLab(lab: string, command: string): Promise<LabModel> {
  requireRoot(`netlab ${command}`)
  const model = requireState(lab).model
  if (!model.cni) throw new UsageError(`lab ${lab} does not use CNI (its topology has no cluster.cni)`)
  requireCniPlugins(model) // they run as root: only root's
  await requirePerl([NSEXEC, CNI_CHAIN])
  return model
}

/**
 * Run groups of CNI calls side by side, each group one chain in its node's namespace (a
 * failing group does not stop the others); each group's outcome, in order.
 */
export async function runCniGroups(command: string, groups: {netns: string; calls: Command[]}[]): Promise<Outcome[]> {
  const lanes = groups.map((g) => ({
    netns: g.netns,
    batches: [
      {
        netns: g.netns,
        tool: 'cni',
        actions: g.calls.map((c, id): Action => ({
          ...c,
          id,
          phase: command,
          why: `CNI ${command}`,
          undo: {kind: 'commands', commands: []},
        })),
      },
    ],
  }))
  try {
    return (await runInNamespaces(lanes, {parallel: concurrency(), workDir: tmpdir()})).outcomes.map((o) => o[0])
  } catch (error) {
    throw new NetlabError(`cni ${command.toLowerCase()}: ${(error as Error).message}`)
  }
}

/** The group's error, or undefined when every call of it ran and succeeded. */
export const groupError = (o: Outcome): string | undefined =>
  !o.error && o.notRun.length === 0 && o.unknown.length === 0 ? undefined : o.error?.stderr || 'the calls did not finish'

export async function checkLab(lab: string): Promise<CheckReport> {
  const started = performance.now()
  const model = await cniLab(lab, 'cni check')
  const pods = model.nodes.flatMap((node) => node.pods.map((pod) => ({pod, node})))
  // one group per pod: a failing pod does not stop the others
  const outcomes = await runCniGroups(
    'CHECK',
    pods.map(({pod, node}) => ({netns: node.netns, calls: cniCalls(model, pod, node, 'CHECK')})),
  )
  const checks = pods.map(({pod, node}, i): PodCheck => {
    if (!cachedResult(model, pod))
      return {pod: pod.name, node: node.name, ok: false, error: 'no cached ADD result (the pod was never added, or was deleted)'}
    const error = groupError(outcomes[i])
    return error === undefined ? {pod: pod.name, node: node.name, ok: true} : {pod: pod.name, node: node.name, ok: false, error}
  })
  const failed = checks.filter((c) => !c.ok).length
  return {
    lab,
    network: model.cni!.network,
    pods: checks,
    passed: checks.length - failed,
    failed,
    ms: Math.round(performance.now() - started),
  }
}

export function renderCheck(r: CheckReport): string {
  const lines = r.pods.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.pod} (on ${c.node})${c.error ? `: ${c.error}` : ''}`)
  return [`CNI CHECK of network "${r.network}" in lab ${r.lab}:`, ...lines, '', `${r.passed} passed, ${r.failed} failed`].join('\n')
}
