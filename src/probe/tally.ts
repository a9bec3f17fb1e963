// What a probe run found, as a report: each probe judged as its observation arrives, counted per
// check, and the report's checks in registry order, each with its note (or why it does not
// apply) from its module in checks/. Pure.
import type {LabModel} from '../model/types.js'
import {addressChecks, checkOf, CHECKS} from './checks/index.js'
import type {ProbeCheck} from './checks/types.js'
import {judge, notePeerView, type PeerView} from './judge.js'
import {MatrixTally} from './matrix.js'
import {policySummary} from './policy-report.js'
import {
  SECTIONS,
  type CheckId,
  type CheckReport,
  type Coverage,
  type Observation,
  type Probe,
  type ProbeReport,
  type ProbeResult,
  type Section,
  type SelfObservation,
} from './types.js'

/** Checks with at most this many sources are listed source by source (renderReport), so their passes are kept. */
export const LIST_SOURCES = 12

/** One check's count, and the results it keeps (`all`: every one, not only the failures). */
interface Count {
  passed: number
  failed: number
  results: ProbeResult[]
  all: boolean
}

/**
 * What a probe run found, taken in as the observations arrive: each probe is judged at once and
 * only counted, unless it failed or its check is small enough to list source by source (or
 * allChecks asks for every result). A --full run of 500 pods is half a million probes: keeping
 * each observation and result as an object cost gigabytes. The report's failed results are what
 * a caller that explains failures (a trace) takes.
 */
export class Tally {
  private readonly byCheck = new Map<CheckId, Count>()
  private readonly peerViews = new Map<string, PeerView>()
  private readonly policy = {allowedReachable: 0, deniedBlocked: 0, deniedMs: [] as number[]}
  private readonly judged: Uint8Array
  /** the tries of checks judged across them (checkOf(id).across), kept until the report */
  private readonly tries = new Map<CheckId, ProbeResult[]>()
  /** the policy section's pod → pod matrices (a lab with policies, and not too many pods) */
  private readonly matrix: MatrixTally

  constructor(
    readonly probes: Probe[],
    opts: {allChecks?: boolean} = {},
  ) {
    this.judged = new Uint8Array(probes.length)
    this.matrix = new MatrixTally(probes)
    const sources = new Map<CheckId, Set<string>>()
    for (const p of probes) {
      const s = sources.get(p.check) ?? new Set()
      s.add(p.src.name)
      sources.set(p.check, s)
    }
    for (const [id, s] of sources)
      this.byCheck.set(id, {passed: 0, failed: 0, results: [], all: opts.allChecks === true || s.size <= LIST_SOURCES})
  }

  /** Judge probe `id` against what it saw (undefined: it never ran); true when it passed. */
  add(id: number, obs: Observation | undefined): boolean {
    const p = this.probes[id]
    this.judged[id] = 1
    notePeerView(this.peerViews, p, obs)
    const r = judge(p, obs)
    if (checkOf(p.check).across) {
      const list = this.tries.get(p.check) ?? this.tries.set(p.check, []).get(p.check)!
      list.push(r)
      return r.ok
    }
    const c = this.byCheck.get(p.check)!
    if (r.ok) c.passed++
    else c.failed++
    if (!r.ok || c.all) c.results.push(r)
    this.matrix.add(p, r)
    if (r.ok && r.policy && r.seen !== 'not probed') {
      if (r.policy.verdict === 'denied') {
        this.policy.deniedBlocked++
        if (r.ms !== undefined) this.policy.deniedMs.push(r.ms)
      } else this.policy.allowedReachable++
    }
    return r.ok
  }

  /** `picked`: the sections were chosen (--only), so one that does not apply is shown as such, not left out. */
  report(
    model: LabModel,
    coverage: Coverage,
    sections: Section[],
    self: Map<string, SelfObservation>,
    ms: number,
    picked = false,
  ): ProbeReport {
    // a probe that never reported (its client could not run) is a failure, not a gap
    for (let id = 0; id < this.probes.length; id++) if (!this.judged[id]) this.add(id, undefined)
    const counted = new Map<CheckId, Count>(this.byCheck)
    for (const [id, tries] of this.tries) {
      const results = checkOf(id).across!(model, tries)
      const passed = results.filter((r) => r.ok).length
      counted.set(id, {passed, failed: results.length - passed, results, all: true})
    }
    for (const c of addressChecks(model, sections)) {
      const results = c.addresses!.judge(model, self, this.peerViews)
      const passed = results.filter((r) => r.ok).length
      counted.set(c.id, {passed, failed: results.length - passed, results, all: true})
    }
    // the policy section belongs to labs with policies, the services section to labs with Services
    // (asked for by --only, each says it does not apply)
    const wanted = new Set(
      sections.filter((s) => (s !== 'policy' || model.policies || picked) && (s !== 'services' || model.services || picked)),
    )
    const checks = CHECKS.filter((c) => wanted.has(c.section) && (c.inReport?.(model) ?? true)).map((c) =>
      checkReport(c, model, coverage, this.probes, counted),
    )
    const passed = checks.reduce((n, c) => n + c.passed, 0)
    const failed = checks.reduce((n, c) => n + c.failed, 0)
    const none = checks.every((c) => c.notApplicable)
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
      ...(model.policies && wanted.has('policy') ? {policy: policySummary(model, checks, this.policy, this.matrix.matrices())} : {}),
      ...(none ? {notApplicable: `no check of this run applies to lab ${model.lab}: nothing was checked`} : {}),
    }
  }
}

/** One check of the report: not applicable, or its counts, results and note. */
function checkReport(check: ProbeCheck, model: LabModel, coverage: Coverage, probes: Probe[], counted: Map<CheckId, Count>): CheckReport {
  const {id, section} = check
  const title = check.udpTitle && probes.find((p) => p.check === id)?.tool === 'udp' ? check.udpTitle : check.title
  const noPolicies =
    section === 'policy' && !model.policies ? `lab ${model.lab} has no network policies (netlab policy apply adds them)` : undefined
  const na = check.notApplicable?.(model) ?? noPolicies
  if (na) return {id, section, title, notApplicable: na, passed: 0, failed: 0, results: []}
  const c = counted.get(id) ?? {passed: 0, failed: 0, results: [], all: true}
  const n = check.note?.({model, coverage, probes, counts: (x) => counted.get(x)})
  // nothing in the lab for it to probe (one pod per node: no same-node pair): not applicable, and why
  if (c.passed + c.failed === 0)
    return {id, section, title, notApplicable: n ?? `lab ${model.lab} has nothing for it to probe`, passed: 0, failed: 0, results: []}
  return {
    id,
    section,
    title,
    ...(n ? {note: n} : {}),
    passed: c.passed,
    failed: c.failed,
    results: c.results,
    ...(c.all ? {} : {failuresOnly: true as const}),
  }
}
