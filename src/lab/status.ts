// `netlab status`: what a lab is made of, read from its saved model, checked against the
// namespaces that actually exist.
import {alignColumns} from '../core/columns.js'
import {netlabCmd} from '../core/invocation.js'
import {NetlabError, UsageError} from '../core/errors.js'
import {allNetns, allPods, type LabModel} from '../model/types.js'
import {namespaceOf, namespacesOf} from '../model/namespaces.js'
import {NAMESPACE_NAME_LABEL, policyLabel} from '../topology/policies.js'
import {findRoutingMode} from '../modes/index.js'
import {existingNetns, labDirExists, listLabs, readLabState} from '../state/store.js'
import {leftNamespaces} from './list.js'
import {requireState} from './require-state.js'
import {pendingApply, type PendingApply} from './policy.js'
import {workloadStatus, type WorkloadStatus} from './workload.js'
import {bgpStatus, renderBgpStatus, type BgpStatus} from './bird.js'
import {plural} from '../core/plural.js'
import {renderServices, servicesStatus, type ServicesStatus} from './services-status.js'

export interface StatusReport {
  lab: string
  state: 'up' | 'building' | 'degraded'
  routing: string
  podCIDR: string
  underlay: string
  ipMasq: boolean
  /** the underlay segments (one in most labs) */
  segments: {index: number; cidr: string}[]
  nodes: {
    name: string
    netns: string
    ip: string
    segment: number
    podCIDR: string
    gateway: string
    /** namespace: the Kubernetes namespace (default unless the topology says another) */
    pods: {name: string; namespace: string; netns: string; ip: string}[]
  }[]
  /** where pods' addresses come from: a pod range only the cluster routes, or the VPC subnet itself (aws-vpc) */
  podAddresses: 'pod-range' | 'vpc-subnet'
  /** vpc: a VM of the cluster's VPC (an address in its subnet), not the internet */
  external: {name: string; netns: string; ip: string; segment: number; vpc: boolean}[]
  /** routers a routing mode adds (a VPC route table, a router between segments) */
  routers: {name: string; netns: string; ips: string[]}[]
  /** every namespace of the lab, whatever its kind, in creation order */
  members: {kind: string; name: string; netns: string; ips: string[]}[]
  /** namespaces the lab should have but that do not exist */
  missing: string[]
  /** labs with a namespaces: key: each namespace, its labels and its pods */
  namespaces?: {name: string; labels: Record<string, string>; pods: string[]}[]
  /** labs with policies: each one (NS/NAME outside default), the pods it isolates and in which directions */
  policies?: {name: string; namespace: string; pods: string[]; types: string[]}[]
  /** labs whose pods declare ports: the echo servers on them (src/lab/workload.ts), and whether they run */
  workload?: WorkloadStatus
  /** a `policy apply` running, or killed before it finished (and what the next command does about it) */
  policyApply?: PendingApply
  /** labs with services: kube-proxy's mode, the service range, each Service with its ports and endpoints */
  services?: ServicesStatus
  /** routing bgp (netlab status, not up's summary): each BIRD, its sessions and learned routes */
  bgp?: BgpStatus
}

/** The lab to act on: the one named, or the only one there is. */
export function resolveLab(lab: string | undefined, verb: string): string {
  if (lab) return lab
  const labs = listLabs()
  if (labs.length === 1) return labs[0]
  if (labs.length === 0) throw new UsageError(`no lab is up; start one with "${netlabCmd()} up"`)
  throw new UsageError(`${labs.length} labs are up (${labs.join(', ')}); say which: ${netlabCmd()} ${verb} LAB`)
}

/** `netlab status LAB`: as statusOf, and a lab known only by its marked namespaces (orphaned) says so and how to remove them. */
export async function labStatus(lab: string): Promise<StatusReport> {
  if (readLabState(lab).ok || labDirExists(lab)) {
    const s = statusOf(lab)
    const bgp = s.state === 'building' ? undefined : await bgpStatus(requireState(lab).model)
    return bgp ? {...s, bgp} : s
  }
  const n = (await leftNamespaces((l) => l === lab))?.get(lab) ?? 0
  if (n === 0) return statusOf(lab) // no lab of that name (or not root: marks unread): the usage error
  throw new NetlabError(
    `lab ${lab} has no saved state (orphaned): ${n === 1 ? 'a namespace carries' : `${n} namespaces carry`} its mark; "${netlabCmd()} down ${lab}" removes them`,
  )
}

export function statusOf(lab: string): StatusReport {
  const state = requireState(lab)
  const m: LabModel = state.model
  const present = existingNetns()
  const missing = allNetns(m).filter((ns) => !present.has(ns))
  const pending = pendingApply(lab, m)
  const workload = workloadStatus(m)
  return {
    lab: m.lab,
    state: state.status === 'building' ? 'building' : missing.length > 0 ? 'degraded' : 'up',
    routing: m.routing,
    podCIDR: m.podCIDR,
    underlay: m.underlay,
    ipMasq: m.ipMasq,
    segments: m.segments.map((x) => ({index: x.index, cidr: x.cidr})),
    nodes: m.nodes.map((n) => ({
      name: n.name,
      netns: n.netns,
      ip: n.ip,
      segment: n.segment,
      podCIDR: n.podCIDR,
      gateway: n.gateway,
      pods: n.pods.map((p) => ({name: p.name, namespace: namespaceOf(p), netns: p.netns, ip: p.ip})),
    })),
    podAddresses: findRoutingMode(m.routing)?.podsInUnderlay ? 'vpc-subnet' : 'pod-range',
    external: m.external.map((e) => ({name: e.name, netns: e.netns, ip: e.ip, segment: e.segment, vpc: e.vpc ?? false})),
    routers: m.members.filter((x) => x.kind === 'router').map((x) => ({name: x.name, netns: x.netns, ips: x.ips})),
    members: m.members.map((x) => ({kind: x.kind, name: x.name, netns: x.netns, ips: x.ips})),
    missing,
    ...(m.namespaces
      ? {
          namespaces: namespacesOf(m).map((ns) => ({
            name: ns.name,
            labels: ns.labels,
            pods: allPods(m)
              .filter((p) => namespaceOf(p) === ns.name)
              .map((p) => p.name),
          })),
        }
      : {}),
    ...(m.policies
      ? {
          policies: m.policies.map((p) => ({
            name: policyLabel(p.name, p.namespace),
            namespace: namespaceOf(p),
            pods: p.pods,
            types: p.types,
          })),
        }
      : {}),
    ...(workload ? {workload} : {}),
    ...(pending ? {policyApply: pending} : {}),
    ...(m.services ? {services: servicesStatus(m.services)} : {}),
  }
}

/** The line status shows while a policy apply runs, or after one was killed. */
function pendingLine(p: PendingApply, lab: string): string {
  if (p.running) return `policy apply: running (pid ${p.running})`
  if (p.damaged)
    return `policy apply: interrupted, and its record is refused (${p.damaged}); nothing of it is run: "${netlabCmd()} down ${lab}" still works`
  return p.next === 'complete'
    ? `policy apply: interrupted after every node had its new rules (the policies shown are the old ones); ` +
        `the next netlab command on this lab (probe, break, fix, policy apply) completes it`
    : `policy apply: interrupted before every node had its new rules; the next netlab command on this lab ` +
        `(probe, break, fix, policy apply) rolls it back, and lab ${lab} keeps the policies shown`
}

export function renderStatus(s: StatusReport): string {
  const multi = s.segments.length > 1
  // the mode's own words for its ranges (a secondary range, an alias IP range, VPC addresses)
  const terms = routingModeTerms(s.routing)
  const vpcPods = s.podAddresses === 'vpc-subnet'
  const rows: string[][] = [['NODE', 'POD', 'ADDRESS', vpcPods ? 'PODS / GATEWAY' : 'SUBNET / GATEWAY', 'NAMESPACE']]
  for (const n of s.nodes) {
    const range = vpcPods ? `VPC addresses of ${n.podCIDR}` : terms.nodeSubnet ? `${n.podCIDR} (${terms.nodeSubnet})` : n.podCIDR
    rows.push([
      n.name,
      '',
      multi ? `${n.ip} (segment ${n.segment})` : n.ip,
      n.pods.length > 0 ? `${range} via ${n.gateway}` : vpcPods ? `${range} (no pods yet)` : `${range} (no pods yet: no cni0)`,
      n.netns,
    ])
    for (const p of n.pods) rows.push(['', p.name, vpcPods ? `${p.ip} (${terms.podAddress ?? 'VPC address'})` : p.ip, '', p.netns])
  }
  for (const e of s.external)
    rows.push([`${e.name} (${e.vpc ? 'VPC host' : 'external'})`, '', multi ? `${e.ip} (segment ${e.segment})` : e.ip, '', e.netns])
  // whatever else the routing mode added (routers, …), by kind
  for (const x of s.members.filter((x) => !['fabric', 'node', 'pod', 'external'].includes(x.kind)))
    rows.push([`${x.name} (${x.kind})`, '', x.ips.join(', '), '', x.netns])
  const table = alignColumns(rows)
  const underlay = multi ? s.segments.map((x) => `${x.index}: ${x.cidr}`).join(', ') : s.underlay
  const pods = vpcPods
    ? `pods hold VPC addresses of ${s.podCIDR}`
    : terms.podCIDR
      ? `pods ${s.podCIDR} (${terms.podCIDR})`
      : `pods ${s.podCIDR}`
  const head = `lab ${s.lab}: ${s.state}, routing ${s.routing}, ${pods}, underlay ${underlay}, ipMasq ` + `${s.ipMasq ? 'on' : 'off'}`
  const policies = s.policies
    ? [
        '',
        s.policies.length === 0
          ? 'policies: none (every pod open)'
          : `policies: ${s.policies.map((p) => `${p.name} (${p.types.join('+')}: ${p.pods.join(', ') || 'no pod'})`).join('; ')}`,
      ]
    : []
  // the pods grouped by Kubernetes namespace, with the labels namespaceSelectors see
  const namespaces = s.namespaces
    ? [
        '',
        `namespaces: ${s.namespaces
          .map((ns) => {
            const labels = Object.entries(ns.labels).filter(([k]) => k !== NAMESPACE_NAME_LABEL)
            const shown = labels.length > 0 ? ` {${labels.map(([k, v]) => `${k}=${v}`).join(', ')}}` : ''
            return `${ns.name}${shown} (${ns.pods.join(', ') || 'no pod'})`
          })
          .join('; ')}`,
      ]
    : []
  const tail = [
    ...namespaces,
    ...policies,
    ...(s.workload ? ['', workloadLine(s.workload)] : []),
    ...(s.services ? ['', ...renderServices(s.services)] : []),
    ...(s.bgp ? ['', ...renderBgpStatus(s.bgp)] : []),
    ...(s.policyApply ? [pendingLine(s.policyApply, s.lab)] : []),
    ...(s.missing.length ? [`missing namespaces: ${s.missing.join(', ')}`] : []),
  ]
  return [head, '', ...table, ...tail].join('\n')
}

/** pods listed by name on status's workload line; more are counted (--json lists them all) */
const WORKLOAD_PODS_LISTED = 6

/** The workload: the ports each pod serves, and whether its process runs. */
function workloadLine(w: WorkloadStatus): string {
  const how = w.running ? `running (pid ${w.pid})` : 'NOT running'
  const ports = w.pods.reduce((n, p) => n + p.ports.length, 0)
  const what =
    w.pods.length > WORKLOAD_PODS_LISTED
      ? `${plural(ports, 'port')} in ${plural(w.pods.length, 'pod')} (status --json lists them)`
      : w.pods.map((p) => `${p.pod} ${p.ports.map((x) => `${x.port}/${x.protocol}${x.name ? ` (${x.name})` : ''}`).join(', ')}`).join('; ')
  return `workload: ${how}: ${what}`
}

/** A status report names its mode by id, as its JSON does (none for a mode this netlab does not know). */
const routingModeTerms = (id: string) => findRoutingMode(id)?.terms ?? {}
