// A probe report as text: the sections, each check's count and note, its sources' lines (a small
// check) or its failures, and the policies' summary. Pure. What differs from check to check comes
// from its module (checks/): an address check's lines, whether a source's line shows what its
// targets saw, whether targets are named by service.
import type {LabModel} from '../model/types.js'
import {checkOf} from './checks/index.js'
import {renderPolicySummary} from './policy-report.js'
import {LIST_SOURCES} from './tally.js'
import type {CheckReport, ProbeReport, ProbeResult, ResultEndpoint, Section} from './types.js'
import {plural} from '../core/plural.js'

const SECTION_TITLES: Record<Section, string> = {
  'pod-pod': 'Every pod reaches every pod',
  'node-pod': 'Nodes reach pods, pods reach nodes',
  'no-nat': 'No NAT: the source address the receiver actually saw',
  'self-address': "Self-address: a pod's own idea of its address is what everyone sees",
  vpc: 'The VPC: hosts of the VPC that are not nodes, and pods',
  egress: 'Egress: leaving the cluster',
  policy: 'Policies: who may talk to whom',
  services: 'Services: kube-proxy translates ClusterIPs and NodePorts to endpoints',
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

export interface RenderOptions {
  /** list every source's targets when a check has at most this many sources (default LIST_SOURCES, 12) */
  listSources?: number
  /** failures printed per check before "... and N more" (default 40) */
  maxFailures?: number
  /** whose address is whose, to explain a seen address */
  owners?: Map<string, string>
}

const KIND_WORD: Record<ResultEndpoint['kind'], string> = {pod: '', node: 'node ', external: 'external ', service: 'service '}

function who(e: ResultEndpoint): string {
  return `${e.kind === 'external' && e.vpc ? 'VPC host ' : KIND_WORD[e.kind]}${e.name} (${e.ip})`
}

/** A Service's probe that failed: the trace that shows why (trace follows kube-proxy's DNAT). */
function traceHint(lab: string, r: ProbeResult): string {
  if (!r.service || r.ok) return ''
  return ` — see why: netlab trace --lab ${lab} ${r.src.name} ${r.dst.ip} --proto ${r.service.proto} --port ${r.service.port}`
}

function describeSeen(seen: string, owners?: Map<string, string>): string {
  const owner = owners?.get(seen)
  return owner ? `${seen} (${owner})` : seen
}

function failureLine(lab: string, c: CheckReport, r: ProbeResult, owners?: Map<string, string>): string {
  const check = checkOf(c.id)
  if (check.addresses) return check.addresses.line(r)
  const detail = r.detail ? ` — ${r.detail}` : ''
  // with policies: which service, and what the policies say about it
  const service = r.policy && check.perService ? ` ${r.policy.service}` : ''
  const policy = r.policy && r.policy.policies.length > 0 ? ` (${r.policy.why})` : ''
  // a NodePort: the node's port (a ClusterIP's name has its port already)
  const nodePort = r.service && r.dst.kind === 'node' ? `:${r.service.port}` : ''
  return (
    `✗ ${who(r.src)} → ${who(r.dst)}${nodePort}${service}: expected ${describeSeen(r.expected, owners)}, ` +
    `seen ${describeSeen(r.seen, owners)}${detail}${policy}${traceHint(lab, r)}`
  )
}

/** "web-0 → web-1 db ✗node-2-p0": one line per source, like Mininet's pingall. */
function sourceLines(c: CheckReport): string[] {
  const check = checkOf(c.id)
  // an address check: a line per pod
  if (check.addresses) return c.results.map(check.addresses.line)
  // a check judged over groups of tries: a line per group, with who answered them
  if (check.across) return c.results.map((r) => `${r.ok ? '' : '✗'}${r.src.name} → ${r.dst.name}: ${r.seen}`)
  const bySource = new Map<string, ProbeResult[]>()
  for (const r of c.results) {
    const list = bySource.get(r.src.name) ?? []
    list.push(r)
    bySource.set(r.src.name, list)
  }
  const ports = check.perService === true
  const port = (r: ProbeResult) =>
    ports && r.policy ? `:${r.policy.service}` : r.service && r.dst.kind === 'node' ? `:${r.service.port}` : ''
  const name = (r: ProbeResult) => `${r.ok ? '' : '✗'}${r.dst.name}${port(r)}`
  // targets a policy denies, and that stayed silent as it should, are listed apart
  const blockedByPolicy = (r: ProbeResult) => r.ok && r.expected === 'no reply' && r.policy?.verdict === 'denied'
  // every port of every pair is too many to name: there, name what a policy allowed (and every
  // failure), and count the rest — flows no policy isolates (open), and those a policy blocked
  const open = (r: ProbeResult) => ports && r.ok && r.policy?.policies.length === 0
  return [...bySource.entries()].map(([src, rs]) => {
    const targets = rs.filter((r) => !blockedByPolicy(r) && !open(r)).map(name)
    const blocked = rs.filter(blockedByPolicy).map(name)
    const opened = rs.filter(open).length
    const seen = new Set(rs.filter((r) => r.ok && r.expected !== 'no reply').map((r) => r.seen))
    const silent = rs.some((r) => r.ok && r.expected === 'no reply' && !r.policy)
    const tail = check.showsSeen && seen.size > 0 ? `  (seen as ${[...seen].join(', ')})` : silent ? '  (no reply, as expected)' : ''
    const parts = [
      targets.join(' '),
      opened > 0 ? `${opened} open (no isolated end)` : '',
      blocked.length === 0 ? '' : ports ? `${blocked.length} blocked by policy` : `blocked by policy: ${blocked.join(' ')}`,
    ].filter((x) => x.length > 0)
    return `${src} → ${parts.join('; ')}${tail}`
  })
}

/** Which nodes the failures have in common: where to look first in a big lab. */
function commonNodes(failures: ProbeResult[]): string | undefined {
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
  const scope =
    (r.coverage === 'all-pairs' ? 'every pair' : 'a representative set of pairs (--full for every pair)') +
    (r.udp ? '; no-NAT by UDP datagram (--udp: weaker, no TCP handshake)' : '')
  const policies = r.policy ? `; ${plural(r.policy.policies, 'policy', 'policies')}` : ''
  const lines = [
    `probe of lab ${r.lab}: ${plural(r.pods, 'pod')} on ${plural(r.nodes, 'node')}, ${r.external} external; ` +
      `routing ${r.routing}, ipMasq ${r.ipMasq ? 'on' : 'off'}${policies}; ${scope}`,
  ]
  for (const section of r.sections) {
    const checks = r.checks.filter((c) => c.section === section)
    if (checks.length === 0) continue
    lines.push('', SECTION_TITLES[section])
    for (const c of checks) for (const l of checkLines(r.lab, c, opts)) lines.push(l)
    if (section === 'policy' && r.policy) lines.push(...renderPolicySummary(r.policy, {maxViolations: opts.maxFailures ?? 40}))
  }
  if (r.explained?.notTraced)
    lines.push(
      '',
      `(trace explained ${r.explained.traced} distinct failed paths; ${r.explained.notTraced} more were not traced: netlab trace SRC DST)`,
    )
  lines.push('', `${r.passed} passed, ${r.failed} failed${r.notApplicable ? ` — ${r.notApplicable} (not a failure: exit 0)` : ''}`)
  return lines.join('\n')
}

/** One check: its count and note, its sources' lines when it is small, its failures (the first maxFailures). */
function checkLines(lab: string, c: CheckReport, opts: RenderOptions): string[] {
  if (c.notApplicable) return [`  – ${c.title}: not applicable`, `      ${c.notApplicable}`]
  const listSources = opts.listSources ?? LIST_SOURCES
  const maxFailures = opts.maxFailures ?? 40
  const total = c.passed + c.failed
  const lines = [`  ${c.failed === 0 ? '✓' : '✗'} ${c.title}: ${c.passed}/${total} passed`]
  if (c.note) lines.push(`      ${c.note}`)
  const sources = new Set(c.results.map((x) => x.src.name)).size
  const listed = total > 0 && !c.failuresOnly && sources <= listSources
  if (listed) for (const l of sourceLines(c)) lines.push(`      ${l}`)
  // a listed pod line of an address check already is the whole story of that pod
  const failures = listed && checkOf(c.id).addresses ? [] : c.results.filter((x) => !x.ok)
  for (const f of failures.slice(0, maxFailures))
    lines.push(`      ${failureLine(lab, c, f, opts.owners)}`, ...(f.explanation ? [`        ↳ ${f.explanation}`] : []))
  if (failures.length > maxFailures) {
    lines.push(`      ... and ${plural(failures.length - maxFailures, 'more failure', 'more failures')} (--json lists them all)`)
    const hint = commonNodes(failures)
    if (hint) lines.push(`      ${hint}`)
  }
  return lines
}
