// `netlab cni check`: the runtime's CNI CHECK for every pod of a lab that is up. Each pod's
// chain runs with CNI_COMMAND=CHECK and its cached ADD result as prevResult; a plugin answers
// whether what it set up is still there. Pods run side by side, each chain on its own.
import {tmpdir} from 'node:os'
import {NetlabError, UsageError} from '../core/errors.js'
import {concurrency} from '../core/concurrency.js'
import {runInNamespaces, NSEXEC} from '../exec/fanout.js'
import type {Action} from '../core/actions.js'
import {requirePerl, requireRoot} from '../host/preflight.js'
import {requireState} from './status.js'
import {CNI_CHAIN} from '../tools/cni.js'
import {cniCalls} from '../compile/cni-plan.js'
import {cachedResult} from './cni-results.js'

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

export async function checkLab(lab: string): Promise<CheckReport> {
  const started = performance.now()
  requireRoot('netlab cni check')
  const model = requireState(lab).model
  if (!model.cni) throw new UsageError(`lab ${lab} does not use CNI (its topology has no cluster.cni)`)
  await requirePerl([NSEXEC, CNI_CHAIN])
  const pods = model.nodes.flatMap((node) => node.pods.map((pod) => ({pod, node})))
  // one lane per pod: a failing pod does not stop the others
  const lanes = pods.map(({pod, node}) => ({
    netns: node.netns,
    batches: [
      {
        netns: node.netns,
        tool: 'cni',
        actions: cniCalls(model, pod, node, 'CHECK').map((c, id): Action => ({
          ...c,
          id,
          phase: 'check',
          why: 'CNI CHECK',
          undo: {kind: 'commands', commands: []},
        })),
      },
    ],
  }))
  let outcomes
  try {
    outcomes = (await runInNamespaces(lanes, {parallel: concurrency(), workDir: tmpdir()})).outcomes
  } catch (error) {
    throw new NetlabError(`cni check: ${(error as Error).message}`)
  }
  const checks = pods.map(({pod, node}, i): PodCheck => {
    const o = outcomes[i][0]
    if (!cachedResult(model, pod))
      return {pod: pod.name, node: node.name, ok: false, error: 'no cached ADD result (the pod was never added, or was deleted)'}
    if (!o.error && o.notRun.length === 0 && o.unknown.length === 0) return {pod: pod.name, node: node.name, ok: true}
    return {pod: pod.name, node: node.name, ok: false, error: o.error?.stderr || 'the check did not finish'}
  })
  const failed = checks.filter((c) => !c.ok).length
  return {
    lab,
    network: model.cni.network,
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
