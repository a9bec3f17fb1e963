// Who may talk to whom: the policies' verdict on one flow, from the model alone. Pure. The probe
// judges what it sees against this, and it mirrors what the plan's rules do on the nodes:
// - egress: a pod isolated for egress may send only what a rule of a policy selecting it allows,
//   checked on its own node as the node forwards the packet. Traffic between a pod and its own
//   node is not forwarded, and is never filtered (Kubernetes: a pod cannot block its own node);
// - ingress: likewise for a pod isolated for ingress, on its node, with the source address that
//   node sees (a node on the path may be seen by another of its addresses, e.g. flannel.1's);
// - a flow must pass both; replies of an allowed flow always pass (the rules are stateful).
import type {PolicyProtocol} from '../topology/types.js'
import type {LabModel, PolicyModel, PolicyRule} from './types.js'
import {parseCidr} from '../core/ipv4.js'

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

/** Does `rule` let `other` (the pod or address at the far end) through on this protocol and port? */
function ruleMatches(rule: PolicyRule, other: {pod?: string; ip: string}, protocol: PolicyProtocol, port: number | undefined): boolean {
  const peerOk =
    !rule.peers ||
    rule.peers.some((p) => (p.kind === 'pods' ? other.pod !== undefined && p.pods.includes(other.pod) : inCidr(other.ip, p.cidr)))
  const portOk = !rule.ports || rule.ports.some((p) => p.protocol === protocol && (p.port === undefined || p.port === port))
  return peerOk && portOk
}

function check(
  policies: PolicyModel[],
  pod: string,
  direction: 'ingress' | 'egress',
  other: {pod?: string; ip: string},
  flow: Flow,
): DirectionVerdict | undefined {
  const by = isolating(policies, pod, direction)
  if (by.length === 0) return undefined
  for (const p of by) {
    const k = p[direction].findIndex((r) => ruleMatches(r, other, flow.protocol, flow.port))
    if (k >= 0) return {direction, pod, isolatedBy: by.map((x) => x.name), allowedBy: {policy: p.name, rule: k}}
  }
  return {direction, pod, isolatedBy: by.map((x) => x.name)}
}

export function decide(model: LabModel, flow: Flow): Verdict {
  const policies = model.policies ?? []
  const {src, dst} = flow
  const checks: DirectionVerdict[] = []
  // a pod's packets to its own address stay in its namespace (its lo): nothing filters them
  if (src.kind === 'pod' && dst.kind === 'pod' && src.name === dst.name) return {allowed: true, checks: []}
  // a pod and its own node talk without being forwarded: never filtered
  const ownNode = (pod: FlowEnd, other: FlowEnd) => other.kind === 'node' && other.name === pod.node
  if (src.kind === 'pod' && !ownNode(src, dst)) {
    const v = check(policies, src.name, 'egress', {pod: dst.kind === 'pod' ? dst.name : undefined, ip: dst.ip}, flow)
    if (v) checks.push(v)
  }
  if (dst.kind === 'pod' && !ownNode(dst, src)) {
    const v = check(policies, dst.name, 'ingress', {pod: src.kind === 'pod' ? src.name : undefined, ip: flow.seenAs ?? src.ip}, flow)
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
