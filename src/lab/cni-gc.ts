// `netlab cni gc`: the runtime's CNI GC (CNI 1.1) for every node of a lab that is up. Each
// plugin of the chain gets the attachments the runtime still knows (cni.dev/valid-attachments:
// every pod with a cached ADD result) and frees whatever else of the network it holds — an
// address reserved by an ADD whose DEL never ran, say. `down` does the same after its DELs, with
// no attachment left valid (the plan's STATUS calls are undone by GC).
import {UsageError} from '../core/errors.js'
import {attachmentOf, hasNetworkVerbs, networkCalls} from '../compile/cni-plan.js'
import {cachedResult} from './cni-results.js'
import {cniLab, groupError, runCniGroups} from './cni-check.js'

export interface GcReport {
  lab: string
  network: string
  /** the attachments passed as still valid */
  valid: {containerID: string; ifname: string}[]
  nodes: {node: string; ok: boolean; error?: string}[]
  failed: number
  ms: number
}

export async function gcLab(lab: string): Promise<GcReport> {
  const started = performance.now()
  const model = await cniLab(lab, 'cni gc')
  const cni = model.cni!
  if (!hasNetworkVerbs(cni))
    throw new UsageError(
      `lab ${lab}: network "${cni.network}" speaks cniVersion ${cni.cniVersion}; GC is CNI 1.1.0's ` +
        `(list "1.1.0" in the conflist's cniVersions, with plugins that speak it)`,
    )
  if (cni.disableGC) throw new UsageError(`lab ${lab}: network "${cni.network}" says disableGC: true, so the runtime must not GC it`)
  const valid = model.nodes.flatMap((n) => n.pods.filter((p) => cachedResult(model, p)).map(attachmentOf))
  const outcomes = await runCniGroups(
    'GC',
    model.nodes.map((node) => ({netns: node.netns, calls: networkCalls(model, node, 'GC', valid)})),
  )
  const nodes = model.nodes.map((n, i) => {
    const error = groupError(outcomes[i])
    return error === undefined ? {node: n.name, ok: true} : {node: n.name, ok: false, error}
  })
  return {lab, network: cni.network, valid, nodes, failed: nodes.filter((n) => !n.ok).length, ms: Math.round(performance.now() - started)}
}

export function renderGc(r: GcReport): string {
  const lines = r.nodes.map((n) => `  ${n.ok ? 'ok  ' : 'FAIL'} ${n.node}${n.error ? `: ${n.error}` : ''}`)
  const pods = `${r.valid.length} attachment${r.valid.length === 1 ? '' : 's'}`
  return [`CNI GC of network "${r.network}" in lab ${r.lab} (${pods} still valid):`, ...lines].join('\n')
}
