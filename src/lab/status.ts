// `netlab status`: what a lab is made of, read from its saved model, checked against the
// namespaces that actually exist.
import {UsageError} from '../cli/errors.js'
import {allNetns, type LabModel} from '../model/types.js'
import {existingNetns, listLabs, readState} from '../state/store.js'

export interface StatusReport {
  lab: string
  state: 'up' | 'building' | 'degraded'
  routing: string
  podCIDR: string
  underlay: string
  ipMasq: boolean
  /** the underlay segments (one in most labs) */
  segments: {index: number; cidr: string}[]
  nodes: {name: string; netns: string; ip: string; segment: number; podCIDR: string; gateway: string; pods: {name: string; netns: string; ip: string}[]}[]
  external: {name: string; netns: string; ip: string; segment: number}[]
  /** routers a routing mode adds (a VPC route table, a router between segments) */
  routers: {name: string; netns: string; ips: string[]}[]
  /** every namespace of the lab, whatever its kind, in creation order */
  members: {kind: string; name: string; netns: string; ips: string[]}[]
  /** namespaces the lab should have but that do not exist */
  missing: string[]
}

/** The lab to act on: the one named, or the only one there is. */
export function resolveLab(lab: string | undefined, verb: string): string {
  if (lab) return lab
  const labs = listLabs()
  if (labs.length === 1) return labs[0]
  if (labs.length === 0) throw new UsageError(`no lab is up; start one with "netlab up"`)
  throw new UsageError(`${labs.length} labs are up (${labs.join(', ')}); say which: netlab ${verb} LAB`)
}

export function statusOf(lab: string): StatusReport {
  const state = readState(lab)
  if (!state) {
    const labs = listLabs()
    throw new UsageError(`no lab named ${lab} is up${labs.length ? ` (labs up: ${labs.join(', ')})` : ''}`)
  }
  const m: LabModel = state.model
  const present = existingNetns()
  const missing = allNetns(m).filter((ns) => !present.has(ns))
  return {
    lab: m.lab,
    state: state.status === 'building' ? 'building' : missing.length > 0 ? 'degraded' : 'up',
    routing: m.routing,
    podCIDR: m.podCIDR,
    underlay: m.underlay,
    ipMasq: m.ipMasq,
    segments: m.segments.map((x) => ({index: x.index, cidr: x.cidr})),
    nodes: m.nodes.map((n) => ({name: n.name, netns: n.netns, ip: n.ip, segment: n.segment, podCIDR: n.podCIDR, gateway: n.gateway, pods: n.pods.map((p) => ({name: p.name, netns: p.netns, ip: p.ip}))})),
    external: m.external.map((e) => ({name: e.name, netns: e.netns, ip: e.ip, segment: e.segment})),
    routers: m.members.filter((x) => x.kind === 'router').map((x) => ({name: x.name, netns: x.netns, ips: x.ips})),
    members: m.members.map((x) => ({kind: x.kind, name: x.name, netns: x.netns, ips: x.ips})),
    missing,
  }
}

export function renderStatus(s: StatusReport): string {
  const multi = s.segments.length > 1
  const rows: string[][] = [['NODE', 'POD', 'ADDRESS', 'SUBNET / GATEWAY', 'NAMESPACE']]
  for (const n of s.nodes) {
    rows.push([n.name, '', multi ? `${n.ip} (segment ${n.segment})` : n.ip, n.pods.length > 0 ? `${n.podCIDR} via ${n.gateway}` : `${n.podCIDR} (no pods yet: no cni0)`, n.netns])
    for (const p of n.pods) rows.push(['', p.name, p.ip, '', p.netns])
  }
  for (const e of s.external) rows.push([`${e.name} (external)`, '', multi ? `${e.ip} (segment ${e.segment})` : e.ip, '', e.netns])
  // whatever else the routing mode added (routers, …), by kind
  for (const x of s.members.filter((x) => !['fabric', 'node', 'pod', 'external'].includes(x.kind))) rows.push([`${x.name} (${x.kind})`, '', x.ips.join(', '), '', x.netns])
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)))
  const table = rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd())
  const underlay = multi ? s.segments.map((x) => `${x.index}: ${x.cidr}`).join(', ') : s.underlay
  const head = `lab ${s.lab}: ${s.state}, routing ${s.routing}, pods ${s.podCIDR}, underlay ${underlay}, ipMasq ${s.ipMasq ? 'on' : 'off'}`
  const tail = s.missing.length ? [`missing namespaces: ${s.missing.join(', ')}`] : []
  return [head, '', ...table, ...tail].join('\n')
}
