// The upstream NetworkPolicy e2e cases (test/fixtures/netpol-e2e/cases.json) as netlab takes them:
// each step's policies as a policies: file, a label change as netlab label's words, the runtime
// ipBlock templates filled from a lab's addresses. Shared by the kernel's test
// (test/integration/netpol-e2e.test.ts) and the model's (test/unit/netpol-e2e-model.test.ts).
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {stringify} from 'yaml'
import {ROOT} from './constants.js'

interface K8sPolicy {
  metadata: {name: string; namespace: string}
  spec: {podSelector: unknown; policyTypes?: string[]; ingress?: unknown[]; egress?: unknown[]}
}
export interface LabelChange {
  kind: 'pod' | 'namespace'
  namespace: string
  pod: string | null
  labels: Record<string, string>
}
export interface CaseProbe {
  port: number
  protocol: 'TCP' | 'UDP' | 'SCTP'
  /** from → to → reachable, 9 × 9 (the diagonal as derived: never compared) */
  expected: Record<string, Record<string, boolean>>
}
export interface Case {
  id: string
  name: string
  context: string[]
  sctp: boolean
  skipReason: string | null
  steps: {policies: K8sPolicy[]; labelChanges: LabelChange[]; probes: CaseProbe[]}[]
}

export const CASES = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/netpol-e2e/cases.json'), 'utf8')) as Case[]

/** A step's policies as a policies: file of netlab (Kubernetes' own shape, less apiVersion and metadata), its templates filled. */
export function policyFile(policies: K8sPolicy[], fill: (s: string) => string): string {
  const list = policies.map((p) => ({name: p.metadata.name, namespace: p.metadata.namespace, ...p.spec}))
  return fill(stringify({policies: list}))
}

/** {ip:x/a} → x/a's address; {net4:x/b} → the network address of the /4 holding x/b's (upstream's makeLargeCIDRForIP). */
export function templates(ips: Map<string, string>): (s: string) => string {
  const ip = (pod: string) => {
    const a = ips.get(pod)
    if (!a) throw new Error(`no pod ${pod} in the lab`)
    return a
  }
  return (s) =>
    s
      .replace(/\{ip:([a-z]\/[a-z])\}/g, (_, pod: string) => ip(pod))
      .replace(/\{net4:([a-z]\/[a-z])\}/g, (_, pod: string) => `${Number(ip(pod).split('.')[0]) & 0xf0}.0.0.0`)
}

/**
 * A label change as netlab label's words and --namespace: set (or, `undo`, remove) what the case
 * adds. A label the pod had already (tcp-22 re-asserts pod: b) is left alone: upstream puts the
 * pod's own labels back after the case. Undefined: nothing to do.
 */
export function labelWords(l: LabelChange, undo: boolean): {words: string[]; namespace?: string} | undefined {
  const pristine: Record<string, string> = l.kind === 'pod' ? {pod: l.pod!} : {}
  const keys = Object.entries(l.labels).filter(([k]) => !(k in pristine))
  if (keys.length === 0) return undefined
  const edits = undo ? keys.map(([k]) => `${k}-`) : keys.map(([k, v]) => `${k}=${v}`)
  return l.kind === 'pod' ? {words: [`${l.namespace}/${l.pod!}`, ...edits]} : {words: edits, namespace: l.namespace}
}
