// Who may talk to whom: the policies' verdict on one flow, from the model alone. Pure. The probe
// judges what it sees against this, and it mirrors what the plan's rules do on the nodes:
// - egress: a pod isolated for egress may send only what a rule of a policy selecting it allows,
//   checked on its own node as the node forwards the packet. Traffic between a pod and its own
//   node is not forwarded, and is never filtered (Kubernetes: a pod cannot block its own node);
// - ingress: likewise for a pod isolated for ingress, on its node, with the source address that
//   node sees (a node on the path may be seen by another of its addresses, e.g. flannel.1's);
// - a flow must pass both; replies of an allowed flow always pass (the rules are stateful).
// Selectors are evaluated here, from the labels of the pods and namespaces, on their own: the
// compiler (src/compile/policies.ts, policy.ts) resolves them to pods and rules its own way, and
// the probe and the tests hold each against the other.
import type {PolicyProtocol} from '../topology/types.js'
import {policyLabel} from '../topology/policies.js'
import type {LabelExpression, LabModel, PodModel, PolicyModel, PolicyPort, PolicyRule} from './types.js'
import {parseCidr} from '../core/ipv4.js'
import {namespaceOf, namespacesOf} from './namespaces.js'

/** One end of a flow (the probe's Endpoint fits). */
export interface FlowEnd {
  kind: 'pod' | 'node' | 'external' | (string & {})
  name: string
  ip: string
  /** for a pod: its node */
  node?: string
}

export interface Flow {
  src: FlowEnd
  dst: FlowEnd
  protocol: PolicyProtocol
  /** undefined: a port no policy names (the probe's echo port), or ICMP */
  port?: number
  /** the source address the destination's node sees, when it is not src.ip (NAT, an overlay's address) */
  seenAs?: string
}

interface DirectionVerdict {
  direction: 'egress' | 'ingress'
  /** the isolated pod: the sender (egress) or the receiver (ingress) */
  pod: string
  /** the policies that isolate it in this direction */
  isolatedBy: string[]
  /** the first policy and rule (0-based) that allows the flow; undefined: denied */
  allowedBy?: {policy: string; rule: number}
}

export interface Verdict {
  allowed: boolean
  /** the directions that applied, egress first; empty: neither end is isolated */
  checks: DirectionVerdict[]
}

/** The policies that isolate `pod` in `direction`, by the pods they were resolved to (what the compiler reads). */
export function isolating(policies: PolicyModel[], pod: string, direction: 'ingress' | 'egress'): PolicyModel[] {
  const type = direction === 'ingress' ? 'Ingress' : 'Egress'
  return policies.filter((p) => p.types.includes(type) && p.pods.includes(pod))
}

function inCidr(ip: string, cidr: string): boolean {
  const c = parseCidr(cidr)
  const parts = ip.split('.').map(Number)
  if (typeof c === 'string' || parts.length !== 4) return false
  return c.contains(parts.reduce((acc, b) => acc * 256 + b, 0))
}

/** Kubernetes' label selector on one set of labels: every label equal, every requirement met. */
function labelsMatch(labels: Record<string, string> | undefined, want: Record<string, string>, reqs: LabelExpression[] = []): boolean {
  const value = (k: string) => (labels && Object.hasOwn(labels, k) ? labels[k] : undefined)
  for (const [k, v] of Object.entries(want)) if (value(k) !== v) return false
  for (const r of reqs) {
    const v = value(r.key)
    const ok =
      r.operator === 'In'
        ? v !== undefined && (r.values ?? []).includes(v)
        : r.operator === 'NotIn'
          ? v === undefined || !(r.values ?? []).includes(v) // a pod without the key is "not in"
          : r.operator === 'Exists'
            ? v !== undefined
            : v === undefined
    if (!ok) return false
  }
  return true
}

/** What the verdict knows of the lab: its pods by name, and each namespace's labels. */
interface Lab {
  pods: Map<string, PodModel>
  nsLabels: Map<string, Record<string, string>>
}

/** per model: a probe asks about thousands of flows of one model */
const labs = new WeakMap<LabModel, Lab>()

function labOf(model: LabModel): Lab {
  let lab = labs.get(model)
  if (!lab) {
    lab = {
      pods: new Map(model.nodes.flatMap((n) => n.pods).map((p) => [p.name, p])),
      nsLabels: new Map(namespacesOf(model).map((n) => [n.name, n.labels])),
    }
    labs.set(model, lab)
  }
  return lab
}

/** The policies whose podSelector picks `pod` in its namespace, for this direction (from the labels, not the resolved lists). */
function isolatingNow(lab: Lab, policies: PolicyModel[], pod: string, direction: 'ingress' | 'egress'): PolicyModel[] {
  const p = lab.pods.get(pod)
  const type = direction === 'ingress' ? 'Ingress' : 'Egress'
  if (!p) return []
  return policies.filter(
    (x) => x.types.includes(type) && namespaceOf(x) === namespaceOf(p) && labelsMatch(p.labels, x.selector, x.expressions),
  )
}

/** Does a port of a rule cover this protocol and port? A named port is the destination pod's port of that name. */
function portMatches(p: PolicyPort, protocol: PolicyProtocol, port: number | undefined, dst: PodModel | undefined): boolean {
  if (p.protocol !== protocol) return false
  if (p.name !== undefined) {
    const served = dst?.ports?.find((x) => x.name === p.name && x.protocol === protocol)?.port
    return served !== undefined && served === port
  }
  if (p.port === undefined) return true
  return port !== undefined && port >= p.port && port <= (p.endPort ?? p.port)
}

/** Does `rule` of `policy` let `other` (the pod or address at the far end) through on this protocol and port? */
function ruleMatches(
  lab: Lab,
  policy: PolicyModel,
  rule: PolicyRule,
  other: {pod?: string; ip: string},
  flow: Flow,
  dst: PodModel | undefined,
): boolean {
  const far = other.pod === undefined ? undefined : lab.pods.get(other.pod)
  const peerOk =
    !rule.peers ||
    rule.peers.some((p) => {
      if (p.kind === 'ipBlock') return inCidr(other.ip, p.cidr) && !(p.except ?? []).some((e) => inCidr(other.ip, e))
      if (!far) return false
      const ns = namespaceOf(far)
      const nsOk = p.namespaceSelector
        ? labelsMatch(lab.nsLabels.get(ns), p.namespaceSelector.labels, p.namespaceSelector.expressions)
        : ns === namespaceOf(policy)
      return nsOk && labelsMatch(far.labels, p.selector, p.expressions)
    })
  const portOk = !rule.ports || rule.ports.some((p) => portMatches(p, flow.protocol, flow.port, dst))
  return peerOk && portOk
}

function check(
  lab: Lab,
  policies: PolicyModel[],
  pod: string,
  direction: 'ingress' | 'egress',
  other: {pod?: string; ip: string},
  flow: Flow,
): DirectionVerdict | undefined {
  const by = isolatingNow(lab, policies, pod, direction)
  if (by.length === 0) return undefined
  const dst = flow.dst.kind === 'pod' ? lab.pods.get(flow.dst.name) : undefined
  const names = by.map((x) => policyLabel(x.name, x.namespace))
  for (const [i, p] of by.entries()) {
    const k = p[direction].findIndex((r) => ruleMatches(lab, p, r, other, flow, dst))
    if (k >= 0) return {direction, pod, isolatedBy: names, allowedBy: {policy: names[i], rule: k}}
  }
  return {direction, pod, isolatedBy: names}
}

export function decide(model: LabModel, flow: Flow): Verdict {
  const policies = model.policies ?? []
  const lab = labOf(model)
  const {src, dst} = flow
  const checks: DirectionVerdict[] = []
  // a pod's packets to its own address stay in its namespace (its lo): nothing filters them
  if (src.kind === 'pod' && dst.kind === 'pod' && src.name === dst.name) return {allowed: true, checks: []}
  // a pod and its own node talk without being forwarded: never filtered
  const ownNode = (pod: FlowEnd, other: FlowEnd) => other.kind === 'node' && other.name === pod.node
  if (src.kind === 'pod' && !ownNode(src, dst)) {
    const v = check(lab, policies, src.name, 'egress', {pod: dst.kind === 'pod' ? dst.name : undefined, ip: dst.ip}, flow)
    if (v) checks.push(v)
  }
  if (dst.kind === 'pod' && !ownNode(dst, src)) {
    const v = check(lab, policies, dst.name, 'ingress', {pod: src.kind === 'pod' ? src.name : undefined, ip: flow.seenAs ?? src.ip}, flow)
    if (v) checks.push(v)
  }
  return {allowed: checks.every((c) => c.allowedBy), checks}
}

/** "tcp/5432", "udp/53", "ping", "tcp (echo port)" */
export function serviceText(protocol: PolicyProtocol, port: number | undefined): string {
  if (protocol === 'ICMP') return 'ping'
  return port === undefined ? `${protocol.toLowerCase()} (a port no policy names)` : `${protocol.toLowerCase()}/${port}`
}

/** One sentence on why a flow is allowed or denied, naming the deciding policies. */
export function explain(v: Verdict): string {
  if (v.checks.length === 0) return 'neither end is isolated by a policy'
  const denied = v.checks.filter((c) => !c.allowedBy)
  const isolated = (c: DirectionVerdict) => `${c.pod} is isolated for ${c.direction} by ${c.isolatedBy.join(', ')}`
  if (denied.length > 0) {
    const policies = denied.flatMap((c) => c.isolatedBy)
    return `denied: ${denied.map(isolated).join(', and ')}, and no rule of ` + `${policies.length === 1 ? 'it' : 'theirs'} allows this`
  }
  return `allowed by ${v.checks.map((c) => `${c.allowedBy!.policy} (${c.direction} rule ${c.allowedBy!.rule + 1})`).join(' and ')}`
}

/** The policies that decide a flow: those that deny it, or those whose rules allow it. */
export function decidingPolicies(v: Verdict): string[] {
  const denied = v.checks.filter((c) => !c.allowedBy)
  const names = denied.length > 0 ? denied.flatMap((c) => c.isolatedBy) : v.checks.map((c) => c.allowedBy!.policy)
  return [...new Set(names)]
}
