// The benchmark's results as data (written to bench/results/latest.json), the targets from the
// performance issue checked against them, and the table printed at the end.
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
  probe?: ProbeSummary
  error?: string
}

export interface Case {
  size: string
  mode: string
  nodes: number
  pods: number
  namespaces: number
  actions: number
  naive?: NaiveRun
  /** why there is no naive run */
  naiveSkipped?: string
  runs: NetlabRun[]
  /** medians over the successful runs (ms), peak RSS (KB) over all of them */
  median?: {upWallMs: number; upMs: number; downWallMs: number; downMs: number}
  peakRssKB?: number
  /** naive up / netlab up (both wall clock) */
  ratio?: number
  /** a network did not pass verification, or a command failed */
  failed: boolean
}

export interface Target {
  what: string
  goal: string
  got: string
  /** undefined: could not be measured in this run */
  ok?: boolean
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

export function summarize(c: Case): void {
  const ok = c.runs.filter((r) => !r.error && r.downWallMs !== undefined)
  if (ok.length > 0) {
    c.median = {
      upWallMs: Math.round(median(ok.map((r) => r.upWallMs))),
      upMs: Math.round(median(ok.map((r) => r.upMs ?? NaN))),
      downWallMs: Math.round(median(ok.map((r) => r.downWallMs!))),
      downMs: Math.round(median(ok.map((r) => r.downMs ?? NaN))),
    }
  }
  const rss = c.runs.flatMap((r) => [r.upRssKB ?? 0, r.downRssKB ?? 0])
  if (rss.some((x) => x > 0)) c.peakRssKB = Math.max(...rss)
  if (c.naive && c.naive.exitCode === 0 && c.median) c.ratio = Math.round((c.naive.upMs / c.median.upWallMs) * 10) / 10
  c.failed =
    c.runs.some((r) => r.error || (r.ping && r.ping.failed > 0) || (r.probe && (r.probe.error || r.probe.failed > 0))) ||
    (c.naive !== undefined && (c.naive.exitCode !== 0 || c.naive.error !== undefined || (c.naive.ping?.failed ?? 0) > 0))
}

const s = (ms: number | undefined) =>
  ms === undefined || Number.isNaN(ms) ? '—' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`
const mb = (kb: number | undefined) => (kb === undefined ? '—' : `${Math.round(kb / 1024)}`)

/** The targets of the performance issue, per routing mode, checked against this run. */
export function targets(cases: Case[], modes: readonly string[]): Target[] {
  const out: Target[] = []
  const find = (size: string, mode: string) => cases.find((c) => c.size === size && c.mode === mode)
  const check = (what: string, goal: string, value: number | undefined, limit: number, show: (v: number) => string, atLeast = false) =>
    out.push({
      what,
      goal,
      got: value === undefined || Number.isNaN(value) ? 'not measured' : show(value),
      ok: value === undefined || Number.isNaN(value) ? undefined : atLeast ? value >= limit : value <= limit,
    })
  for (const mode of modes) {
    const three = find('three', mode)
    const fifty = find('50x10', mode)
    const hundred = find('100x10', mode)
    if (three) {
      check(`three-node up (${mode}), wall`, '≤ 0.50 s', three.median?.upWallMs, 500, s)
      check(`three-node down (${mode}), wall`, '≤ 0.30 s', three.median?.downWallMs, 300, s)
    }
    if (fifty) {
      check(`50x10 up (${mode}), wall`, '≤ 2.00 s', fifty.median?.upWallMs, 2000, s)
      check(`50x10 down (${mode}), wall`, '≤ 1.00 s', fifty.median?.downWallMs, 1000, s)
      check(`50x10 naive up / netlab up (${mode})`, '≥ 15×', fifty.ratio, 15, (v) => `${v.toFixed(1)}×`, true)
    }
    if (fifty && hundred) {
      const lin = fifty.median && hundred.median ? hundred.median.upWallMs / fifty.median.upWallMs : undefined
      check(`linearity: 100x10 up / 50x10 up (${mode}), wall`, '≤ 2.0 (about)', lin, 2.0, (v) => `${v.toFixed(2)}`)
      const linSelf = fifty.median && hundred.median ? hundred.median.upMs / fifty.median.upMs : undefined
      check(`linearity, in-process ms (${mode}), for information`, '≤ 2.0 (about)', linSelf, 2.0, (v) => `${v.toFixed(2)}`)
    }
    if (hundred)
      check(
        `peak RSS at 100x10 (${mode})`,
        '≤ 200 MB',
        hundred.peakRssKB === undefined ? undefined : hundred.peakRssKB / 1024,
        200,
        (v) => `${Math.round(v)} MB`,
      )
  }
  const others = modes.filter((m) => m !== 'host-gw')
  if (others.length === 0)
    out.push({what: 'every routing mode within 1.5× of host-gw', goal: '≤ 1.5×', got: 'only host-gw exists: nothing to compare'})
  for (const mode of others) {
    for (const c of cases.filter((x) => x.mode === mode)) {
      const base = find(c.size, 'host-gw')
      const r = c.median && base?.median ? c.median.upWallMs / base.median.upWallMs : undefined
      check(`${c.size} up, ${mode} / host-gw`, '≤ 1.5×', r, 1.5, (v) => `${v.toFixed(2)}×`)
    }
  }
  return out
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => [...r[i]].length)))
  const line = (r: string[]) =>
    r
      .map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd()
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n')
}

export function renderTable(cases: Case[]): string {
  const head = [
    'topology',
    'mode',
    'actions',
    'naive up',
    'netlab up',
    'ratio',
    'ip fallbacks',
    'netlab down',
    'peak RSS (MB)',
    'probe (time, passed/failed)',
    'pings naive · netlab',
  ]
  const rows = cases.map((c) => {
    const naive = c.naive
      ? c.naive.error === 'interrupted'
        ? 'interrupted'
        : c.naive.exitCode === 0
          ? s(c.naive.upMs)
          : `FAILED (${s(c.naive.upMs)})`
      : 'skipped'
    const up = c.median ? `${s(c.median.upWallMs)} (${s(c.median.upMs)})` : c.runs.length ? 'FAILED' : '—'
    const down = c.median ? `${s(c.median.downWallMs)} (${s(c.median.downMs)})` : '—'
    const probes = c.runs.map((r) => r.probe).filter((p): p is ProbeSummary => p !== undefined)
    const probe =
      probes.length === 0
        ? 'n/a'
        : probes.map((p) => (p.error ? `error: ${p.error}` : `${s(p.wallMs)}, ${p.passed}/${p.failed}`)).join('; ')
    const pings = (p?: PingSummary) => (p ? `${p.passed}/${p.passed + p.failed}` : '—')
    const netlabPings = c.runs.map((r) => r.ping).filter((p): p is PingSummary => p !== undefined)
    const np = netlabPings.length
      ? `${netlabPings.reduce((n, p) => n + p.passed, 0)}/${netlabPings.reduce((n, p) => n + p.passed + p.failed, 0)}`
      : '—'
    const topo = `${c.size === 'three' ? 'three-node' : c.size} (${c.pods} pods)`
    const fallbacks = [...new Set(c.runs.map((r) => r.upFallbacks).filter((f) => f !== undefined))].join('/') || '—'
    return [
      topo,
      c.mode,
      String(c.actions),
      naive,
      up,
      c.ratio === undefined ? '—' : `${c.ratio.toFixed(1)}×`,
      fallbacks,
      down,
      mb(c.peakRssKB),
      probe,
      `${pings(c.naive?.ping)} · ${np}`,
    ]
  })
  return table([head, ...rows])
}

export function renderTargets(ts: Target[]): string {
  return table([['target', 'goal', 'got', 'met'], ...ts.map((t) => [t.what, t.goal, t.got, t.ok === undefined ? '–' : t.ok ? '✓' : '✗'])])
}
