// The benchmark's results as data (written to bench/results/latest.json), and the one table
// printed at the end: a row per measure and lab, with the target of the performance issues where
// there is one. The table is built from MEASURES, a list: a new measure (or a CNI preset's
// row) is one entry there.
import type {LabModel} from '../src/model/types.js'
import type {Plan} from '../src/core/actions.js'
import type {RoutingMode} from '../src/topology/types.js'
import type {FloorRun} from './floor.js'
import type {PingSummary, ProbeSummary} from './verify.js'

export interface NaiveRun {
  lab: string
  /** commands in the script = processes it starts (one per command) */
  commands: number
  /** wall clock of `bash script.sh` */
  upMs: number
  exitCode: number
  error?: string
  ping?: PingSummary
  /** wall clock of the hard-way teardown: one `ip -batch` of `netns del` lines */
  downMs?: number
}

export interface NetlabRun {
  lab: string
  /** wall clock of `netlab up FILE --json`, node start-up included */
  upWallMs: number
  /** what `up` reports (inside the process) */
  upMs?: number
  upRssKB?: number
  /** batches of ip lines the rtnetlink fast path did not speak (run by the ip program instead) */
  upFallbacks?: number
  downWallMs?: number
  downMs?: number
  downRssKB?: number
  ping?: PingSummary
  /** netlab probe (representative above 100 pods, every pair below) */
  probe?: ProbeSummary
  /** netlab probe --full */
  probeFull?: ProbeSummary
  error?: string
}

export interface Case {
  size: string
  mode: RoutingMode
  nodes: number
  pods: number
  namespaces: number
  actions: number
  /** actions that exist per ordered pair of nodes (a route or neighbour entry for another node): nodes², inherent to the mode */
  nodePairActions: number
  naive?: NaiveRun
  /** why there is no naive run */
  naiveSkipped?: string
  runs: NetlabRun[]
  /** the kernel's floor for the same lab, once per round (bench/floor.ts) */
  floors?: FloorRun[]
  /** netlab / floor: medians of the per-round ratios, and their spread (largest less smallest) */
  floorRatios?: FloorRatios
  /** ratios worse than the last committed run's by more than this run's spread: kind -> what to say */
  flags?: Partial<Record<RatioKind, string>>
  /** the representative probe's time per check at 1,000 pods (this run's, or the committed run's): the 10,000-pod target is 2× it */
  probeRefPerCheckMs?: number
  /** why the lab was not built at all (nodes² entries beyond what the bench builds) */
  skipped?: string
  /** medians over the successful runs (ms), peak RSS (KB) over all of them */
  median?: {upWallMs: number; upMs: number; downWallMs: number; downMs: number}
  /** the fastest and slowest successful `up` (wall, ms): how much the machine varied */
  upWallRange?: [number, number]
  peakRssKB?: number
  /** naive up / netlab up (both wall clock) */
  ratio?: number
  /** a network did not pass verification, or a command failed */
  failed: boolean
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

export interface Ratio {
  /** median over the rounds */
  value: number
  /** largest less smallest over the rounds; undefined with one round */
  spread?: number
}

export interface FloorRatios {
  /** netlab up (wall) / the floor's up */
  up?: Ratio
  /** netlab up (wall) / the floor's namespaces and links alone */
  upNsLinks?: Ratio
  /** netlab down (wall) / the floor's deletion */
  down?: Ratio
}

const round2 = (x: number) => Math.round(x * 100) / 100
type RatioKind = keyof FloorRatios

/** Without repeated rounds, a ratio has no spread of its own: the largest relative spread of the run's other ratios, or this. */
const DEFAULT_RELATIVE_SPREAD = 0.1

/**
 * Each ratio to the floor that got worse than the last committed run's (same size and mode) by
 * more than this run's spread. A ratio measured once gets the largest relative spread of the
 * ratios measured more often in this run (DEFAULT_RELATIVE_SPREAD without any). Sets c.flags. Pure.
 */
export function flagWorse(cases: Case[], committed: Case[]): void {
  const kinds: RatioKind[] = ['up', 'upNsLinks', 'down']
  const relative = cases
    .flatMap((c) => kinds.map((k) => c.floorRatios?.[k]))
    .flatMap((r) => (r?.spread !== undefined && r.value > 0 ? [r.spread / r.value] : []))
  const fallback = relative.length > 0 ? Math.max(...relative) : DEFAULT_RELATIVE_SPREAD
  for (const c of cases) {
    const before = committed.find((b) => b.size === c.size && b.mode === c.mode)
    for (const k of kinds) {
      const now = c.floorRatios?.[k]
      const then = before?.floorRatios?.[k]
      if (!now || !then) continue
      const spread = now.spread ?? round2(now.value * fallback)
      if (now.value - then.value > spread)
        (c.flags ??= {})[k] = `⚑ worse than the committed run (${then.value.toFixed(2)}×, spread now ${spread.toFixed(2)})`
    }
  }
}

/** Per round, netlab's time over the floor's of the same round; their median and spread. Pure. */
export function ratioOf(pairs: [number | undefined, number | undefined][]): Ratio | undefined {
  const rs = pairs.filter((p): p is [number, number] => p[0] !== undefined && p[1] !== undefined && p[1] > 0).map(([a, b]) => a / b)
  if (rs.length === 0) return undefined
  return {value: round2(median(rs)), spread: rs.length > 1 ? round2(Math.max(...rs) - Math.min(...rs)) : undefined}
}

function floorRatios(c: Case): FloorRatios | undefined {
  const floors = c.floors ?? []
  if (floors.length === 0) return undefined
  const ok = (i: number) => (c.runs[i] && !c.runs[i].error && !floors[i]?.error ? c.runs[i] : undefined)
  const rounds = floors.map((f, i) => ({f, r: ok(i)}))
  return {
    up: ratioOf(rounds.map(({f, r}) => [r?.upWallMs, f.upMs])),
    upNsLinks: ratioOf(rounds.map(({f, r}) => [r?.upWallMs, f.nsLinksMs])),
    down: ratioOf(rounds.map(({f, r}) => [r?.downWallMs, f.deleteMs])),
  }
}

export function summarize(c: Case): void {
  c.floorRatios = floorRatios(c)
  const ok = c.runs.filter((r) => !r.error && r.downWallMs !== undefined)
  if (ok.length > 0) {
    c.median = {
      upWallMs: Math.round(median(ok.map((r) => r.upWallMs))),
      upMs: Math.round(median(ok.map((r) => r.upMs ?? NaN))),
      downWallMs: Math.round(median(ok.map((r) => r.downWallMs!))),
      downMs: Math.round(median(ok.map((r) => r.downMs ?? NaN))),
    }
    const walls = ok.map((r) => r.upWallMs)
    c.upWallRange = [Math.min(...walls), Math.max(...walls)]
  }
  const rss = c.runs.flatMap((r) => [r.upRssKB ?? 0, r.downRssKB ?? 0])
  if (rss.some((x) => x > 0)) c.peakRssKB = Math.max(...rss)
  if (c.naive && c.naive.exitCode === 0 && c.median) c.ratio = Math.round((c.naive.upMs / c.median.upWallMs) * 10) / 10
  c.failed =
    (c.floors ?? []).some((f) => f.error !== undefined) ||
    c.runs.some(
      (r) => r.error || (r.ping && r.ping.failed > 0) || [r.probe, r.probeFull].some((p) => p && (p.error !== undefined || p.failed > 0)),
    ) ||
    (c.naive !== undefined && (c.naive.exitCode !== 0 || c.naive.error !== undefined || (c.naive.ping?.failed ?? 0) > 0))
}

/**
 * Actions a node holds for another node (a route to its pods, a neighbour entry, an fdb entry,
 * naming its address, pod subnet or VXLAN address): one set per ordered pair of nodes, nodes² in
 * all. host-gw must have them (every node routes to every other), so the bench says so.
 */
export function nodePairActions(model: LabModel, plan: Plan): number {
  const marks = new Map(model.nodes.map((n) => [n.netns, n]))
  const own = model.nodes.map((n) => ({n, words: new Set([n.ip, n.podCIDR, n.podCIDR.split('/')[0]])}))
  return plan.actions.filter((a) => {
    const me = a.netns ? marks.get(a.netns) : undefined
    return me !== undefined && own.some(({n, words}) => n !== me && a.args.some((x) => words.has(x)))
  }).length
}

/** What a ratio's note says: its spread over the rounds, and its flag if any. */
const ratioNote = (c: Case, k: RatioKind): string | undefined => {
  const r = c.floorRatios?.[k]
  if (!r) return undefined
  const parts = [r.spread !== undefined ? `spread ${r.spread.toFixed(2)} over ${c.floors?.length} rounds` : 'one round', c.flags?.[k]]
  return parts.filter(Boolean).join('; ')
}
/** The issue-27 targets hold for the 10,000-pod labs. */
const TEN_K = 10_000
const atTenK = (c: Case, limit: number): Goal | undefined => (c.pods >= TEN_K ? {limit} : undefined)
const floorMedian = (c: Case, f: (x: FloorRun) => number): number | undefined => {
  const ok = (c.floors ?? []).filter((x) => !x.error)
  return ok.length ? Math.round(median(ok.map(f))) : undefined
}
/** the representative probe's time per check, ms */
export const probePerCheck = (p: ProbeSummary | undefined): number | undefined =>
  p && !p.error && p.passed + p.failed > 0 ? p.wallMs / (p.passed + p.failed) : undefined

const s = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`)
const mb = (kb: number) => `${Math.round(kb / 1024)} MB`
const times = (x: number) => `${x.toFixed(1)}×`
const times2 = (x: number) => `${x.toFixed(2)}×`

/** A ratio to the floor, with the target issue 27 sets for it at 10,000 pods. */
const floorRatio = (what: string, kind: RatioKind, limit: number): Measure => ({
  what,
  value: (c) => c.floorRatios?.[kind]?.value,
  show: times2,
  goal: (c) => atTenK(c, limit),
  note: (c) => ratioNote(c, kind),
})
const max = (xs: (number | undefined)[]) => {
  const ys = xs.filter((x): x is number => x !== undefined)
  return ys.length ? Math.max(...ys) : undefined
}
/** the first run's probe, if it ran without error */
const probeOf = (c: Case, full: boolean) => c.runs.map((r) => (full ? r.probeFull : r.probe)).find((p) => p && !p.error)

interface Goal {
  limit: number
  atLeast?: boolean
}

/** One line of the table for each lab it applies to. */
export interface Measure {
  what: string
  value(c: Case, cases: Case[]): number | undefined
  show(v: number): string
  /** the target, where the issues set one for this lab */
  goal?(c: Case): Goal | undefined
  note?(c: Case): string | undefined
}

/** The targets of issue 14 (one 2-core machine): by lab size, for host-gw. */
const hostGw = (c: Case, bySize: Record<string, number>): number | undefined => (c.mode === 'host-gw' ? bySize[c.size] : undefined)
const upTo = (limit: number | undefined): Goal | undefined => (limit === undefined ? undefined : {limit})

export const MEASURES: Measure[] = [
  {
    what: 'plan actions',
    value: (c) => (c.skipped ? undefined : c.actions),
    show: String,
    note: (c) =>
      c.nodePairActions > 0
        ? `${c.nodePairActions} of them node-to-node: nodes², inherent (every node holds an entry per other node)`
        : undefined,
  },
  {what: 'naive up (a process per command)', value: (c) => (c.naive?.exitCode === 0 ? c.naive.upMs : undefined), show: s},
  {
    what: 'netlab up, wall',
    value: (c) => c.median?.upWallMs,
    show: s,
    goal: (c) => upTo(hostGw(c, {'50x10': 1200, '100x10': 2500, '10x100': 2500, '200x5': 3500})),
    note: (c) => {
      if (!c.median) return undefined
      const [lo, hi] = c.upWallRange ?? [c.median.upWallMs, c.median.upWallMs]
      return `${s(c.median.upMs)} inside the process${s(hi) !== s(lo) ? `; wall ${s(lo)} to ${s(hi)} over ${c.runs.filter((r) => !r.error).length} runs` : ''}`
    },
  },
  {
    what: 'naive up / netlab up',
    value: (c) => c.ratio,
    show: times,
    goal: (c) => (c.size === '50x10' && c.mode === 'host-gw' ? {limit: 30, atLeast: true} : undefined),
  },
  {
    what: 'netlab up / host-gw up',
    value: (c, cases) => {
      const base = cases.find((x) => x.size === c.size && x.mode === 'host-gw')
      return c.mode !== 'host-gw' && c.median && base?.median ? c.median.upWallMs / base.median.upWallMs : undefined
    },
    show: (v) => `${v.toFixed(2)}×`,
    // bgp's up waits for BGP to converge (BIRD connects after 1 s at the earliest): bench/bgp.ts measures that part
    goal: (c) => (c.mode === 'bgp' ? undefined : {limit: 1.5}),
    note: (c) => (c.mode === 'bgp' ? 'includes BGP converging, ~1 s at least (no target; see bench/bgp.ts)' : undefined),
  },
  {
    what: 'floor up: the same namespaces, links, addresses, routes',
    value: (c) => floorMedian(c, (f) => f.upMs),
    show: s,
    note: (c) =>
      c.floors?.length
        ? `namespaces and links ${s(floorMedian(c, (f) => f.nsLinksMs)!)} (ip -batch × cores), inside ${s(floorMedian(c, (f) => f.insideMs)!)} (nsenter + ip -batch per namespace)`
        : undefined,
  },
  floorRatio('netlab up / floor up', 'up', 1.6),
  floorRatio('netlab up / floor namespaces+links', 'upNsLinks', 3),
  {
    what: 'netlab down, wall',
    value: (c) => c.median?.downWallMs,
    show: s,
    goal: (c) => upTo(hostGw(c, {'50x10': 300})),
    note: (c) => (c.median ? `${s(c.median.downMs)} inside the process` : undefined),
  },
  {what: 'floor delete (ip -batch netns del × cores)', value: (c) => floorMedian(c, (f) => f.deleteMs), show: s},
  floorRatio('netlab down / floor delete', 'down', 1.5),
  {
    what: 'peak RSS of up',
    value: (c) => max(c.runs.map((r) => r.upRssKB)),
    show: mb,
    goal: (c) => (c.pods >= TEN_K ? {limit: 1024 * 1024} : c.pods >= 1000 ? {limit: 200 * 1024} : undefined),
  },
  {what: 'peak RSS of down', value: (c) => max(c.runs.map((r) => r.downRssKB)), show: mb},
  {
    what: 'probe (representative above 100 pods), wall',
    value: (c) => probeOf(c, false)?.wallMs,
    show: s,
    goal: (c) => upTo(hostGw(c, {'50x10': 3000, '100x10': 8000})),
    note: (c) => {
      const p = probeOf(c, false)
      return p ? `${p.coverage}: ${p.passed} passed, ${p.failed} failed` : undefined
    },
  },
  {
    what: 'probe per check (representative)',
    value: (c) => probePerCheck(probeOf(c, false)),
    show: (ms) => `${ms.toFixed(3)} ms`,
    goal: (c) => (c.pods >= TEN_K && c.probeRefPerCheckMs !== undefined ? {limit: 2 * c.probeRefPerCheckMs} : undefined),
    note: (c) =>
      c.pods < TEN_K
        ? undefined
        : c.probeRefPerCheckMs !== undefined
          ? `target: 2 × ${c.probeRefPerCheckMs.toFixed(3)} ms, the ${c.mode} 1,000-pod lab's`
          : `no target: no ${c.mode} lab of 1,000 pods in this run or the committed one (--mode-sizes …,100x10)`,
  },
  {
    what: 'peak RSS of probe (Node and its engines)',
    value: (c) => probeOf(c, false)?.peakTreeKB,
    show: mb,
    goal: (c) => (c.pods >= TEN_K ? {limit: 300 * 1024} : undefined),
  },
  {
    what: 'probe --full, wall',
    value: (c) => probeOf(c, true)?.wallMs,
    show: s,
    goal: (c) => upTo(hostGw(c, {'50x10': 30_000})),
    note: (c) => {
      const p = probeOf(c, true)
      return p ? `${p.passed} passed, ${p.failed} failed` : undefined
    },
  },
  {
    what: 'peak RSS of probe --full (Node, engines)',
    value: (c) => probeOf(c, true)?.peakTreeKB,
    show: mb,
    goal: (c) => upTo(hostGw(c, {'50x10': 300 * 1024})),
  },
]

export interface Row {
  lab: string
  mode: string
  what: string
  got: string
  /** the target, or '' */
  goal: string
  /** '✓', '✗', or '' without a target */
  met: string
  note: string
  value: number
}

/** Every measure for every lab where it was measured, in the order of the labs. */
export function tableRows(cases: Case[], measures: Measure[] = MEASURES): Row[] {
  return cases.flatMap((c) =>
    measures.flatMap((m) => {
      const v = m.value(c, cases)
      if (v === undefined || Number.isNaN(v)) return []
      const goal = m.goal?.(c)
      const met = goal ? ((goal.atLeast ? v >= goal.limit : v <= goal.limit) ? '✓' : '✗') : ''
      const lab = `${c.size === 'three' ? 'three-node' : c.size} (${c.pods} pods)`
      return [
        {
          lab,
          mode: c.mode,
          what: m.what,
          got: m.show(v),
          goal: goal ? `${goal.atLeast ? '≥' : '≤'} ${m.show(goal.limit)}` : '',
          met,
          note: m.note?.(c) ?? '',
          value: v,
        },
      ]
    }),
  )
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => [...r[i]].length)))
  const line = (r: string[]) =>
    r
      .map((cell, i) => (i === 3 || i === 4 ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n')
}

export function renderTable(rows: Row[]): string {
  const missed = rows.filter((r) => r.met === '✗').length
  const goals = rows.filter((r) => r.met !== '').length
  return (
    table([
      ['lab', 'mode', 'measure', 'got', 'target', 'met', 'note'],
      ...rows.map((r) => [r.lab, r.mode, r.what, r.got, r.goal, r.met, r.note]),
    ]) + `\n\n${goals - missed} of ${goals} targets met`
  )
}
