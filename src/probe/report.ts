// Compare what the probes saw with what the model says, and print it. Pure.
import type {Endpoint, LabModel} from '../model/types.js'
import {parseCidr, parseIPv4} from '../core/ipv4.js'
import {NO_ROUTE_BACK, ROUTED_BACK, VPC_NO_ROUTE_BACK} from './expect.js'
import {SECTION_OF, vpcReachesPods} from './select.js'
import {
  SECTIONS,
  type CheckId,
  type CheckReport,
  type Coverage,
  type Observation,
  type Probe,
  type ProbeReport,
  type ProbeResult,
  type ResultEndpoint,
  type Section,
  type SelfObservation,
} from './types.js'
import {policySummary, renderPolicySummary} from './policy-report.js'

export const CHECK_ORDER: CheckId[] = [
  'pod-pod-same-node',
  'pod-pod-other-node',
  'node-own-pod',
  'node-other-pod',
  'pod-node',
  'no-nat-pod-pod',
  'no-nat-node-pod',
  'self-address',
  'vpc-pod-reach',
  'vpc-pod-source',
  'pod-vpc-reach',
  'pod-vpc-source',
  'pod-in-vpc-subnet',
  'egress-reach',
  'egress-source',
  'policy-ports',
  'policy-external',
]

export const CHECK_TITLES: Record<CheckId, string> = {
  'pod-pod-same-node': 'pod → pod on the same node (ping)',
  'pod-pod-other-node': 'pod → pod on other nodes (ping)',
  'node-own-pod': 'node → its own pods (ping)',
  'node-other-pod': 'node → pods on other nodes (ping)',
  'pod-node': 'pod → nodes (ping)',
  'no-nat-pod-pod': "pod → pod: the receiver sees the source pod's own address (HTTP echo)",
  'no-nat-node-pod':
    "node → pod: the pod sees the node's address on the path: cni0 for its own pods, the " + "route's device for others (HTTP echo)",
  'self-address': "each pod's eth0 address = the address netlab status reports = the address peers see",
  'vpc-pod-reach': 'VPC host → pod (ping)',
  'vpc-pod-source': "VPC host → pod: the pod sees the VPC host's own address (HTTP echo)",
  'pod-vpc-reach': 'pod → VPC host (ping)',
  'pod-vpc-source': 'pod → VPC host: the source address the VPC host sees (HTTP echo)',
  'pod-in-vpc-subnet': "each pod's eth0 address lies in the VPC subnet (a VPC address)",
  'egress-reach': 'pod → external hosts (ping)',
  'egress-source': 'the source address external hosts see (HTTP echo)',
  'policy-ports': 'the ports the policies name, TCP and UDP (HTTP and UDP echo)',
  'policy-external': 'external hosts → pods (ping, HTTP echo): the underlay routes pod subnets',
}

export const SECTION_TITLES: Record<Section, string> = {
  'pod-pod': 'Every pod reaches every pod',
  'node-pod': 'Nodes reach pods, pods reach nodes',
  'no-nat': 'No NAT: the source address the receiver actually saw',
  'self-address': "Self-address: a pod's own idea of its address is what everyone sees",
  vpc: 'The VPC: hosts of the VPC that are not nodes, and pods',
  egress: 'Egress: leaving the cluster',
  policy: 'Policies: who may talk to whom',
}

export interface Evidence {
  probes: Probe[]
  /** by probe id; a probe without an observation failed to run */
  observations: Map<number, Observation>
  /** by pod name, when the self-address section ran */
  self: Map<string, SelfObservation>
}

const resultEndpoints = new WeakMap<Endpoint, ResultEndpoint>()
/** The endpoint as reported; one object per endpoint, shared by its results. */
function endpoint(e: Endpoint): ResultEndpoint {
  let r = resultEndpoints.get(e)
  if (!r)
    resultEndpoints.set(e, (r = {kind: e.kind, name: e.name, ip: e.ip, ...(e.node ? {node: e.node} : {}), ...(e.vpc ? {vpc: true} : {})}))
  return r
}

/** "192.168.50.10" → "192.168.50.10 (node-0's underlay address)": whose address was seen. */
export function addressOwners(model: LabModel): Map<string, string> {
  const owners = new Map<string, string>()
  for (const n of model.nodes) {
    owners.set(n.ip, `${n.name}'s underlay address`)
    owners.set(n.gateway, `${n.name}'s cni0 address`)
    for (const p of n.pods) owners.set(p.ip, `pod ${p.name}`)
  }
  for (const e of model.external) owners.set(e.ip, `${e.vpc ? 'VPC host' : 'external'} ${e.name}`)
  // a gateway no interface holds (aws-vpc's 169.254.1.1) is nobody's source address
  if (model.mode.podGateway) for (const n of model.nodes) owners.delete(n.gateway)
  return owners
}

export function judge(probe: Probe, obs: Observation | undefined): ProbeResult {
  const base = {
    src: endpoint(probe.src),
    dst: endpoint(probe.dst),
    ...(probe.policy ? {policy: probe.policy} : {}),
    ...(obs?.ms !== undefined ? {ms: obs.ms} : {}),
  }
  const seenText = (o: Observation | undefined) =>
    !o ? 'not probed' : !o.reply ? 'no reply' : probe.tool !== 'ping' ? (o.seen ?? 'reply') : 'reply'
  if (!probe.expect.reply) {
    const ok = obs !== undefined && !obs.reply
    // blocked by a policy: how (refused at once, or a timeout) is worth showing
    const how = probe.policy && obs && !obs.reply ? obs.detail : undefined
    const detail =
      obs?.reply && probe.tool !== 'ping' && !probe.policy ? `answered, seeing ${obs.seen}` : obs ? how : 'the probe did not run'
    return {...base, expected: 'no reply', seen: seenText(obs), ok, ...(detail ? {detail} : {})}
  }
  const expected = probe.tool === 'http' && probe.expect.seen ? probe.expect.seen : 'reply'
  if (!obs) return {...base, expected, seen: 'not probed', ok: false, detail: 'the probe did not run'}
  if (!obs.reply) return {...base, expected, seen: 'no reply', ok: false, ...(obs.detail ? {detail: obs.detail} : {})}
  if (probe.tool === 'ping') return {...base, expected, seen: 'reply', ok: true, ...(obs.ttl !== undefined ? {ttl: obs.ttl} : {})}
  if (probe.tool === 'udp' && probe.expect.seen) {
    const ok = obs.seen === probe.expect.seen && (!obs.servedBy || obs.servedBy === probe.dst.netns)
    return {
      ...base,
      expected: probe.expect.seen,
      seen: obs.seen ?? 'reply',
      ok,
      ...(obs.servedBy && obs.servedBy !== probe.dst.netns ? {detail: `answered by ${obs.servedBy}, not ${probe.dst.netns}`} : {}),
    }
  }
  if (obs.servedBy && obs.servedBy !== probe.dst.netns) {
    return {...base, expected, seen: obs.seen ?? 'reply', ok: false, detail: `answered by ${obs.servedBy}, not ${probe.dst.netns}`}
  }
  const ok = obs.seen === probe.expect.seen
  const detail = !ok && obs.local && obs.local !== obs.seen ? `the client sent from ${obs.local}: rewritten on the way (NAT)` : undefined
  return {...base, expected, seen: obs.seen ?? 'reply', ok, ...(detail ? {detail} : {})}
}

/** What the peers of one pod saw of it (no-nat-pod-pod): the source addresses, and the ones its kernel picked. */
interface PeerView {
  seen: Map<string, number>
  used: Set<string>
  count: number
}

/** Add one no-nat-pod-pod observation to what the peers saw of its source pod. */
function notePeerView(views: Map<string, PeerView>, p: Probe, o: Observation | undefined): void {
  if (p.check !== 'no-nat-pod-pod' || !o?.reply || !o.seen) return
  const v = views.get(p.src.name) ?? {seen: new Map(), used: new Set(), count: 0}
  v.seen.set(o.seen, (v.seen.get(o.seen) ?? 0) + 1)
  if (o.local) v.used.add(o.local)
  v.count++
  views.set(p.src.name, v)
}

/** Self-address of each pod: eth0 = model = the source it used = what peers saw. */
export function judgeSelf(
  model: LabModel,
  probes: Probe[],
  observations: Map<number, Observation>,
  self: Map<string, SelfObservation>,
): ProbeResult[] {
  const peerViews = new Map<string, PeerView>()
  for (const p of probes) notePeerView(peerViews, p, observations.get(p.id))
  return judgeSelfFrom(model, peerViews, self)
}

function judgeSelfFrom(model: LabModel, peerViews: Map<string, PeerView>, self: Map<string, SelfObservation>): ProbeResult[] {
  const results: ProbeResult[] = []
  for (const n of model.nodes) {
    for (const pod of n.pods) {
      const s = self.get(pod.name)
      if (!s) continue
      const me: ResultEndpoint = {kind: 'pod', name: pod.name, ip: pod.ip}
      const v = peerViews.get(pod.name)
      const problems: string[] = []
      const eth0 = s.eth0 ?? []
      if (!s.eth0) problems.push(`eth0 unreadable${s.detail ? ` (${s.detail})` : ''}`)
      else if (eth0.length !== 1 || eth0[0] !== pod.ip)
        problems.push(`eth0 has ${eth0.join(', ') || 'no IPv4 address'}, status says ${pod.ip}`)
      const others = v ? [...v.seen.entries()].filter(([ip]) => ip !== pod.ip) : []
      if (others.length > 0) problems.push(`peers saw ${others.map(([ip, c]) => `${ip} (${c} of ${v!.count})`).join(', ')}`)
      const used = v ? [...v.used].filter((ip) => ip !== pod.ip) : []
      if (used.length > 0) problems.push(`it sent from ${used.join(', ')}`)
      const parts = [`eth0 ${eth0.join(', ') || '?'}`, `status ${pod.ip}`]
      if (v) parts.push(`peers saw ${[...v.seen.keys()].join(', ')}`)
      results.push({
        src: me,
        dst: me,
        expected: pod.ip,
        seen: parts.join('; '),
        ok: problems.length === 0,
        ...(problems.length ? {detail: problems.join('; ')} : {}),
      })
    }
  }
  return results
}

/** Pods' eth0 addresses, read in each pod, against the VPC subnet (the mode gives pods VPC addresses). */
export function judgeInVpc(model: LabModel, self: Map<string, SelfObservation>): ProbeResult[] {
  const vpc = parseCidr(model.underlay)
  if (typeof vpc === 'string') throw new Error(`lab ${model.lab}: bad underlay ${model.underlay}`)
  const results: ProbeResult[] = []
  for (const n of model.nodes) {
    for (const pod of n.pods) {
      const s = self.get(pod.name)
      if (!s) continue
      const me: ResultEndpoint = {kind: 'pod', name: pod.name, ip: pod.ip}
      const eth0 = s.eth0 ?? []
      const outside = eth0.filter((ip) => {
        const v = parseIPv4(ip)
        return v === undefined || !vpc.contains(v)
      })
      const problems = !s.eth0
        ? [`eth0 unreadable${s.detail ? ` (${s.detail})` : ''}`]
        : eth0.length === 0
          ? ['eth0 has no IPv4 address']
          : outside.length > 0
            ? [`${outside.join(', ')} is outside the VPC subnet ${model.underlay}`]
            : []
      results.push({
        src: me,
        dst: me,
        expected: `an address in ${model.underlay}`,
        seen: `eth0 ${eth0.join(', ') || '?'}`,
        ok: problems.length === 0,
        ...(problems.length ? {detail: problems.join('; ')} : {}),
      })
    }
  }
  return results
}

/** Why a check does not apply to this lab, or undefined when it does. */
export function notApplicable(model: LabModel, id: CheckId): string | undefined {
  const mode = model.mode
  const vpcHosts = model.external.some((e) => e.vpc)
  if (id === 'pod-in-vpc-subnet')
    return mode.podsInUnderlay
      ? undefined
      : `routing ${model.routing}: pods hold addresses of the pod range ${model.podCIDR}, not of ` + `the VPC subnet`
  if (SECTION_OF[id] !== 'vpc') return undefined
  if (!vpcHosts) return 'the topology has no VPC host (an external entry with vpc: true)'
  if ((id === 'vpc-pod-reach' || id === 'vpc-pod-source') && !vpcReachesPods(model)) {
    return (
      `routing ${model.routing}: the VPC knows no pod address, so a VPC host has no way to a pod ` +
      `(its default route, the VPC router, has none); it reaches the nodes only`
    )
  }
  return undefined
}

function note(
  model: LabModel,
  id: CheckId,
  probes: Probe[],
  counts: (id: CheckId) => {passed: number; failed: number} | undefined,
): string | undefined {
  if (id === 'pod-vpc-source' || id === 'pod-vpc-reach') {
    const seen = probes.find((p) => p.check === 'pod-vpc-source')?.expect
    if (!seen) return undefined
    if (!seen.reply) return VPC_NO_ROUTE_BACK
    if (id === 'pod-vpc-reach') return undefined
    return probes.some((p) => p.check === id && p.expect.reply && p.expect.seen === p.src.ip)
      ? `routing ${model.routing}: nothing translates a pod's address inside the VPC; the VPC host ` + `must see the pod's own address`
      : `routing ${model.routing}, ipMasq on: the node masquerades everything that leaves ` +
          `${model.podCIDR}, VPC hosts included; the VPC host must see the pod's node's address`
  }
  if (id === 'vpc-pod-source')
    return "the VPC delivers the pod's address, and no node translates what comes in: the pod must " + "see the VPC host's own address"
  if (id === 'pod-in-vpc-subnet')
    return `read from each pod's own eth0: the pods' addresses are the VPC's (${model.underlay}), not ` + `a range only the cluster knows`
  if (id === 'egress-reach' || id === 'egress-source') {
    if (!model.external.some((e) => !e.vpc))
      return model.external.length === 0
        ? 'the topology has no external hosts'
        : 'the topology has no external host outside the VPC (the internet)'
    if (!model.ipMasq) return model.mode.podsRoutableFromUnderlay ? ROUTED_BACK : NO_ROUTE_BACK
    if (id === 'egress-source') {
      const podPod = counts('no-nat-pod-pod')
      const tail = podPod ? `; pod → pod in this same run: ${podPod.passed} of ${podPod.passed + podPod.failed} not masqueraded` : ''
      return `ipMasq is on: the external host must see the pod's node's underlay address (masquerade)${tail}`
    }
  }
  if (id === 'policy-ports') {
    if (!probes.some((p) => p.check === id)) return 'no policy names a TCP or UDP port'
    return (
      'every pair of the other sections again, on each port a policy names: the echo service ' +
      'listens on all of them, in every pod and external host'
    )
  }
  if (id === 'policy-external') return "nothing translates what comes in: an allowed pod sees the external host's own address"
  if (
    model.policies &&
    [
      'pod-pod-same-node',
      'pod-pod-other-node',
      'node-other-pod',
      'pod-node',
      'no-nat-pod-pod',
      'no-nat-node-pod',
      'egress-reach',
      'egress-source',
    ].includes(id) &&
    probes.some((p) => p.check === id && p.policy?.verdict === 'denied')
  ) {
    return 'where the policies allow it; a pair they deny must go unanswered (see Policies below)'
  }
  if (id === 'no-nat-pod-pod')
    return "a masquerade rule on pod-to-pod traffic (the bridge plugin's ipMasq mistake) still lets " + 'ping through; this check does not'
  if (id === 'pod-pod-same-node' && probes.length > 0 && !probes.some((p) => p.check === id)) return 'no node has two pods'
  return undefined
}

/** Checks with at most this many sources are listed source by source (renderReport), so their passes are kept. */
export const LIST_SOURCES = 12

/**
 * What a probe run found, taken in as the observations arrive: each probe is judged at once and
 * only counted, unless it failed or its check is small enough to list source by source (or
 * allChecks asks for every result). A --full run of 500 pods is half a million probes: keeping
 * each observation and result as an object cost gigabytes. `failures` of the report's checks are
 * what a caller that explains failures (a trace) takes.
 */
export class Tally {
  private readonly byCheck = new Map<CheckId, {passed: number; failed: number; results: ProbeResult[]; all: boolean}>()
  private readonly peerViews = new Map<string, PeerView>()
  private readonly policy = {allowedReachable: 0, deniedBlocked: 0, deniedMs: [] as number[]}
  private readonly judged: Uint8Array

  constructor(
    readonly probes: Probe[],
    opts: {allChecks?: boolean} = {},
  ) {
    this.judged = new Uint8Array(probes.length)
    const sources = new Map<CheckId, Set<string>>()
    for (const p of probes) {
      const s = sources.get(p.check) ?? new Set()
      s.add(p.src.name)
      sources.set(p.check, s)
    }
    for (const [id, s] of sources)
      this.byCheck.set(id, {passed: 0, failed: 0, results: [], all: opts.allChecks === true || s.size <= LIST_SOURCES})
  }

  /** Judge probe `id` against what it saw (undefined: it never ran). */
  add(id: number, obs: Observation | undefined): void {
    const p = this.probes[id]
    this.judged[id] = 1
    notePeerView(this.peerViews, p, obs)
    const r = judge(p, obs)
    const c = this.byCheck.get(p.check)!
    if (r.ok) c.passed++
    else c.failed++
    if (!r.ok || c.all) c.results.push(r)
    if (r.ok && r.policy && r.seen !== 'not probed') {
      if (r.policy.verdict === 'denied') {
        this.policy.deniedBlocked++
        if (r.ms !== undefined) this.policy.deniedMs.push(r.ms)
      } else this.policy.allowedReachable++
    }
  }

  report(model: LabModel, coverage: Coverage, sections: Section[], self: Map<string, SelfObservation>, ms: number): ProbeReport {
    // a probe that never reported (its client could not run) is a failure, not a gap
    for (let id = 0; id < this.probes.length; id++) if (!this.judged[id]) this.add(id, undefined)
    const listed = new Map<CheckId, {passed: number; failed: number; results: ProbeResult[]; all: boolean}>(this.byCheck)
    const whole = (results: ProbeResult[]) => {
      const passed = results.filter((r) => r.ok).length
      return {passed, failed: results.length - passed, results, all: true}
    }
    if (sections.includes('self-address')) listed.set('self-address', whole(judgeSelfFrom(model, this.peerViews, self)))
    if (sections.includes('vpc') && !notApplicable(model, 'pod-in-vpc-subnet'))
      listed.set('pod-in-vpc-subnet', whole(judgeInVpc(model, self)))
    // the policy section belongs to labs with policies
    const wanted = new Set(sections.filter((s) => s !== 'policy' || model.policies))
    // internet hosts reach pods only where the underlay routes pod subnets
    const probed = (id: CheckId) => id !== 'policy-external' || model.mode.podsRoutableFromUnderlay === true
    const checks: CheckReport[] = CHECK_ORDER.filter((id) => wanted.has(SECTION_OF[id]) && probed(id)).map((id) => {
      const na = notApplicable(model, id)
      if (na) return {id, section: SECTION_OF[id], title: CHECK_TITLES[id], notApplicable: na, passed: 0, failed: 0, results: []}
      const c = listed.get(id) ?? {passed: 0, failed: 0, results: [], all: true}
      const n = note(model, id, this.probes, (x) => listed.get(x))
      return {
        id,
        section: SECTION_OF[id],
        title: CHECK_TITLES[id],
        ...(n ? {note: n} : {}),
        passed: c.passed,
        failed: c.failed,
        results: c.results,
        ...(c.all ? {} : {failuresOnly: true as const}),
      }
    })
    const passed = checks.reduce((n, c) => n + c.passed, 0)
    const failed = checks.reduce((n, c) => n + c.failed, 0)
    return {
      lab: model.lab,
      coverage,
      sections: SECTIONS.filter((s) => wanted.has(s)),
      ipMasq: model.ipMasq,
      routing: model.routing,
      nodes: model.nodes.length,
      pods: model.nodes.reduce((n, x) => n + x.pods.length, 0),
      external: model.external.length,
      checks,
      passed,
      failed,
      ms,
      ...(model.policies && wanted.has('policy') ? {policy: policySummary(model, checks, this.policy)} : {}),
    }
  }
}

/** The report of probes whose observations are all at hand (tests, small runs). */
export function buildReport(
  model: LabModel,
  coverage: Coverage,
  sections: Section[],
  ev: Evidence,
  ms: number,
  opts: {allChecks?: boolean} = {},
): ProbeReport {
  const tally = new Tally(ev.probes, opts)
  for (const p of ev.probes) tally.add(p.id, ev.observations.get(p.id))
  return tally.report(model, coverage, sections, ev.self, ms)
}

/** Every failed probe of a report, with its check: what a caller that explains failures takes. */
export function failures(r: ProbeReport): {check: CheckReport; result: ProbeResult}[] {
  return r.checks.flatMap((check) => check.results.filter((x) => !x.ok).map((result) => ({check, result})))
}

export interface RenderOptions {
  /** list every source's targets when a check has at most this many sources (default 12) */
  listSources?: number
  /** failures printed per check before "... and N more" (default 40) */
  maxFailures?: number
  /** whose address is whose, to explain a seen address */
  owners?: Map<string, string>
}

function who(e: ResultEndpoint): string {
  return `${e.kind === 'node' ? 'node ' : e.kind === 'external' ? (e.vpc ? 'VPC host ' : 'external ') : ''}${e.name} ` + `(${e.ip})`
}

function describeSeen(seen: string, owners?: Map<string, string>): string {
  const owner = owners?.get(seen)
  return owner ? `${seen} (${owner})` : seen
}

export function failureLine(c: CheckReport, r: ProbeResult, owners?: Map<string, string>): string {
  if (c.id === 'pod-in-vpc-subnet') return `✗ ${r.src.name}: expected ${r.expected}, but ${r.detail ?? r.seen}`
  if (c.id === 'self-address') return `✗ ${r.src.name}: expected ${r.expected} everywhere, but ${r.detail ?? r.seen}`
  const detail = r.detail ? ` — ${r.detail}` : ''
  // with policies: which service, and what the policies say about it
  const service = r.policy && c.id === 'policy-ports' ? ` ${r.policy.service}` : ''
  const policy = r.policy && r.policy.policies.length > 0 ? ` (${r.policy.why})` : ''
  return (
    `✗ ${who(r.src)} → ${who(r.dst)}${service}: expected ${describeSeen(r.expected, owners)}, ` +
    `seen ${describeSeen(r.seen, owners)}${detail}${policy}`
  )
}

/** "web-0 → web-1 db ✗node-2-p0": one line per source, like Mininet's pingall. */
function sourceLines(c: CheckReport): string[] {
  if (c.id === 'pod-in-vpc-subnet')
    return c.results.map((r) => (r.ok ? `✓ ${r.src.name}: ${r.seen}, in ${r.expected.replace(/^an address in /, '')}` : failureLine(c, r)))
  if (c.id === 'self-address') return c.results.map((r) => (r.ok ? `✓ ${r.src.name}: ${r.seen}` : failureLine(c, r)))
  const bySource = new Map<string, ProbeResult[]>()
  for (const r of c.results) {
    const list = bySource.get(r.src.name) ?? []
    list.push(r)
    bySource.set(r.src.name, list)
  }
  const isHttp =
    c.id === 'no-nat-pod-pod' ||
    c.id === 'no-nat-node-pod' ||
    c.id === 'egress-source' ||
    c.id === 'vpc-pod-source' ||
    c.id === 'pod-vpc-source' ||
    c.id === 'policy-ports'
  const name = (r: ProbeResult) => `${r.ok ? '' : '✗'}${r.dst.name}${c.id === 'policy-ports' && r.policy ? `:${r.policy.service}` : ''}`
  // targets a policy denies, and that stayed silent as it should, are listed apart
  const blockedByPolicy = (r: ProbeResult) => r.ok && r.expected === 'no reply' && r.policy?.verdict === 'denied'
  // every port of every pair is too many to name: there, name what a policy allowed (and every
  // failure), and count the rest — flows no policy isolates (open), and those a policy blocked
  const ports = c.id === 'policy-ports'
  const open = (r: ProbeResult) => ports && r.ok && r.policy?.policies.length === 0
  return [...bySource.entries()].map(([src, rs]) => {
    const targets = rs.filter((r) => !blockedByPolicy(r) && !open(r)).map(name)
    const blocked = rs.filter(blockedByPolicy).map(name)
    const opened = rs.filter(open).length
    const seen = new Set(rs.filter((r) => r.ok && r.expected !== 'no reply').map((r) => r.seen))
    const silent = rs.some((r) => r.ok && r.expected === 'no reply' && !r.policy)
    const tail = isHttp && seen.size > 0 ? `  (seen as ${[...seen].join(', ')})` : silent ? '  (no reply, as expected)' : ''
    const parts = [
      targets.join(' '),
      opened > 0 ? `${opened} open (no isolated end)` : '',
      blocked.length === 0 ? '' : ports ? `${blocked.length} blocked by policy` : `blocked by policy: ${blocked.join(' ')}`,
    ].filter((x) => x.length > 0)
    return `${src} → ${parts.join('; ')}${tail}`
  })
}

/** Which nodes the failures have in common: where to look first in a big lab. */
export function commonNodes(failures: ProbeResult[]): string | undefined {
  const nodeOf = (e: ResultEndpoint) => (e.kind === 'node' ? e.name : e.node)
  const involved = new Map<string, number>()
  for (const f of failures) {
    for (const n of new Set([nodeOf(f.src), nodeOf(f.dst)])) if (n) involved.set(n, (involved.get(n) ?? 0) + 1)
  }
  const top = [...involved.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3)
  if (top.length === 0) return undefined
  if (top[0][1] === failures.length) return `every failure involves node ${top[0][0]} (its pods, or the node itself)`
  return `failures by node involved: ${top.map(([n, c]) => `${n} ${c}`).join(', ')} (of ${failures.length})`
}

export function renderReport(r: ProbeReport, opts: RenderOptions = {}): string {
  const listSources = opts.listSources ?? 12
  const maxFailures = opts.maxFailures ?? 40
  const scope = r.coverage === 'all-pairs' ? 'every pair' : 'a representative set of pairs (--full for every pair)'
  const policies = r.policy ? `; ${r.policy.policies} ${r.policy.policies === 1 ? 'policy' : 'policies'}` : ''
  const lines = [
    `probe of lab ${r.lab}: ${r.pods} pods on ${r.nodes} nodes, ${r.external} external; ` +
      `routing ${r.routing}, ipMasq ${r.ipMasq ? 'on' : 'off'}${policies}; ${scope}`,
  ]
  for (const section of r.sections) {
    const checks = r.checks.filter((c) => c.section === section)
    if (checks.length === 0) continue
    lines.push('', SECTION_TITLES[section])
    for (const c of checks) {
      if (c.notApplicable) {
        lines.push(`  – ${c.title}: not applicable`, `      ${c.notApplicable}`)
        continue
      }
      const total = c.passed + c.failed
      const mark = total === 0 ? '-' : c.failed === 0 ? '✓' : '✗'
      lines.push(`  ${mark} ${c.title}: ${total === 0 ? 'nothing to probe' : `${c.passed}/${total} passed`}`)
      if (c.note) lines.push(`      ${c.note}`)
      const sources = new Set(c.results.map((x) => x.src.name)).size
      const listed = total > 0 && !c.failuresOnly && sources <= listSources
      if (listed) for (const l of sourceLines(c)) lines.push(`      ${l}`)
      // a listed self-address line already is the whole story of that pod
      const failures = listed && (c.id === 'self-address' || c.id === 'pod-in-vpc-subnet') ? [] : c.results.filter((x) => !x.ok)
      for (const f of failures.slice(0, maxFailures))
        lines.push(`      ${failureLine(c, f, opts.owners)}`, ...(f.explanation ? [`        ↳ ${f.explanation}`] : []))
      if (failures.length > maxFailures) {
        lines.push(`      ... and ${failures.length - maxFailures} more failure(s) (--json lists them all)`)
        const hint = commonNodes(failures)
        if (hint) lines.push(`      ${hint}`)
      }
    }
    if (section === 'policy' && r.policy) lines.push(...renderPolicySummary(r.policy, {maxViolations: maxFailures}))
  }
  if (r.explained?.notTraced)
    lines.push(
      '',
      `(trace explained ${r.explained.traced} distinct failed paths; ${r.explained.notTraced} more were not traced: netlab trace SRC DST)`,
    )
  lines.push('', `${r.passed} passed, ${r.failed} failed`)
  return lines.join('\n')
}
