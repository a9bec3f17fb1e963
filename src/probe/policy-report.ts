// The policy view of a probe report: every probe that carries the policies' verdict, from any
// check, sorted into allowed-and-reachable, denied-and-blocked, and violations both ways (a
// denied flow that got through, an allowed one that did not), each naming the deciding policies.
// Pure.
import type {LabModel} from '../model/types.js'
import {isolating} from '../model/verdict.js'
import {renderMatrix} from './matrix.js'
import type {CheckReport, PolicySummary, ProbeResult, ReachMatrix, Violation} from './types.js'

/** counts: what was allowed and answered, denied and blocked (how long those took to fail), over every probe, passes included (the report keeps only failures of a big check) */
export function policySummary(
  model: LabModel,
  checks: CheckReport[],
  counts: {allowedReachable: number; deniedBlocked: number; deniedMs: number[]},
  matrices: ReachMatrix[] = [],
): PolicySummary {
  const policies = model.policies ?? []
  const pods = model.nodes.flatMap((n) => n.pods)
  const isolated = {
    ingress: pods.filter((p) => isolating(policies, p.name, 'ingress').length > 0).length,
    egress: pods.filter((p) => isolating(policies, p.name, 'egress').length > 0).length,
  }
  const {allowedReachable, deniedBlocked} = counts
  const deniedMs = [...counts.deniedMs]
  const violations: Violation[] = []
  for (const c of checks) {
    for (const r of c.results) {
      if (!r.policy || r.seen === 'not probed' || r.ok) continue
      const denied = r.policy.verdict === 'denied'
      // an allowed flow answered, but seen from the wrong address, is the network model's failure, not the policies'
      if (!denied && r.seen !== 'no reply') continue
      violations.push({
        kind: denied ? 'denied-but-reachable' : 'allowed-but-blocked',
        check: c.id,
        src: r.src,
        dst: r.dst,
        service: r.policy.service,
        policies: r.policy.policies,
        why: r.policy.why,
        seen: r.seen,
        ...(r.detail ? {detail: r.detail} : {}),
      })
    }
  }
  deniedMs.sort((a, b) => a - b)
  const timing =
    deniedMs.length > 0
      ? {deniedMs: {count: deniedMs.length, median: deniedMs[Math.floor((deniedMs.length - 1) / 2)], max: deniedMs.at(-1)!}}
      : {}
  return {
    policies: policies.length,
    isolated,
    allowedReachable,
    deniedBlocked,
    violations,
    ...timing,
    ...(matrices.length > 0 ? {matrices} : {}),
  }
}

function end(e: ProbeResult['src']): string {
  return `${e.kind === 'node' ? 'node ' : e.kind === 'external' ? 'external ' : ''}${e.name} (${e.ip})`
}

/** "✗ denied but reachable: a (ip) → b (ip) tcp/5432 — b is isolated for ingress by p, …; it answered" */
function violationLine(v: Violation): string {
  const what = v.kind === 'denied-but-reachable' ? 'denied but reachable' : 'allowed but blocked'
  const outcome =
    v.kind === 'denied-but-reachable'
      ? `it answered${v.seen !== 'reply' ? `, seeing ${v.seen}` : ''}`
      : `no reply${v.detail ? ` (${v.detail.replace(/^no reply:? ?/, '').replace(/^\((.*)\)$/, '$1') || 'timeout'})` : ''}`
  return `✗ ${what}: ${end(v.src)} → ${end(v.dst)} ${v.service} — ` + `${v.why.replace(/^denied: /, '')}; ${outcome}`
}

export function renderPolicySummary(s: PolicySummary, opts: {maxViolations?: number} = {}): string[] {
  const max = opts.maxViolations ?? 40
  const lines = [
    `  every probe of this run, as the ${s.policies} ` +
      `${s.policies === 1 ? 'policy sees' : 'policies see'} it (pods isolated: ` +
      `${s.isolated.ingress} for ingress, ${s.isolated.egress} for egress):`,
  ]
  lines.push(`    ✓ allowed and reachable: ${s.allowedReachable}`)
  const t = s.deniedMs
  const timing = t ? `; TCP and UDP refused within ${t.max} ms (median ${t.median} ms), pings given up after ` + `their 250 ms timeout` : ''
  lines.push(`    ✓ denied and blocked: ${s.deniedBlocked}${s.deniedBlocked > 0 ? timing : ''}`)
  const denied = s.violations.filter((v) => v.kind === 'denied-but-reachable').length
  const allowed = s.violations.length - denied
  if (s.violations.length === 0) lines.push('    ✓ violations: none')
  else {
    lines.push(`    ✗ violations: ${s.violations.length} (${denied} denied but reachable, ${allowed} ` + `allowed but blocked)`)
    for (const v of s.violations.slice(0, max)) lines.push(`      ${violationLine(v)}`)
    if (s.violations.length > max) lines.push(`      ... and ${s.violations.length - max} more (--json lists them all)`)
  }
  if (s.matrices) {
    lines.push(
      '  pod → pod, as the upstream NetworkPolicy e2e suite prints it (rows: from, columns: to; ' +
        '. reachable, X blocked, - not probed, ! the kernel differs from the policies):',
    )
    for (const m of s.matrices) lines.push(...renderMatrix(m).map((l, i) => (i === 0 ? `    ${l}` : `      ${l}`)))
  }
  return lines
}
