// `bench --plot FILE.svg`: netlab's `up` (median wall clock) against pods, a line per routing mode
// and one for the kernel's floor (bench/floor.ts), both axes logarithmic: a mode whose cost grows
// with nodes² bends away from the others. A small SVG written here (src/graph/svg.ts draws graphs
// with Graphviz, which has no chart); pure: cases in, text out.
import {FONT} from '../src/graph/dot.js'
import {median, type Case} from './report.js'

interface Point {
  pods: number
  ms: number
  label: string
}

interface Series {
  name: string
  points: Point[]
  dashed?: boolean
}

const W = 720
const H = 440
const M = {left: 70, right: 150, top: 30, bottom: 50}
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf']
const FLOOR_COLOUR = '#555555'

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const byPods = (a: Point, b: Point) => a.pods - b.pods || a.ms - b.ms

/** The lines: each mode's median `up`, and the floor's median at each size (host-gw's lab where it ran, else the first mode's). */
export function plotSeries(cases: Case[]): Series[] {
  const modes = [...new Set(cases.map((c) => c.mode))]
  const series: Series[] = modes.map((mode) => ({
    name: mode,
    points: cases
      .filter((c) => c.mode === mode && c.median)
      .map((c) => ({pods: c.pods, ms: c.median!.upWallMs, label: c.size}))
      .sort(byPods),
  }))
  const floor: Point[] = []
  for (const size of [...new Set(cases.map((c) => c.size))]) {
    const withFloor = cases.filter((c) => c.size === size && (c.floors ?? []).some((f) => !f.error))
    const c = withFloor.find((x) => x.mode === 'host-gw') ?? withFloor[0]
    if (c) floor.push({pods: c.pods, ms: median(c.floors!.filter((f) => !f.error).map((f) => f.upMs)), label: size})
  }
  if (floor.length > 0) series.push({name: 'kernel floor', points: floor.sort(byPods), dashed: true})
  return series.filter((s) => s.points.length > 0)
}

/** Powers of ten (and 2×, 5×) spanning [lo, hi] on a log axis. */
function ticks(lo: number, hi: number): number[] {
  const out: number[] = []
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++)
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e
      if (v >= lo && v <= hi) out.push(v)
    }
  return out
}

const seconds = (ms: number) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`)

export function upPlot(cases: Case[]): string {
  const series = plotSeries(cases)
  const all = series.flatMap((s) => s.points)
  if (all.length === 0)
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="80"><text x="10" y="40">no run to plot</text></svg>\n`
  // a decade of room at least, so one size still draws an axis
  const [x0, x1] = [Math.min(...all.map((p) => p.pods)) / 1.5, Math.max(...all.map((p) => p.pods)) * 1.5]
  const [y0, y1] = [Math.min(...all.map((p) => p.ms)) / 1.5, Math.max(...all.map((p) => p.ms)) * 1.5]
  const x = (v: number) => M.left + ((Math.log10(v) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0))) * (W - M.left - M.right)
  const y = (v: number) => H - M.bottom - ((Math.log10(v) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0))) * (H - M.top - M.bottom)
  const f = (n: number) => n.toFixed(1)
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT},'DejaVu Sans',Arial,Helvetica,sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="18" font-size="14">netlab up (median wall clock) against pods; both axes logarithmic</text>`,
  ]
  for (const t of ticks(x0, x1))
    out.push(
      `<line x1="${f(x(t))}" y1="${M.top}" x2="${f(x(t))}" y2="${H - M.bottom}" stroke="#e5e5e5"/>`,
      `<text x="${f(x(t))}" y="${H - M.bottom + 16}" text-anchor="middle">${t.toLocaleString('en')}</text>`,
    )
  for (const t of ticks(y0, y1))
    out.push(
      `<line x1="${M.left}" y1="${f(y(t))}" x2="${W - M.right}" y2="${f(y(t))}" stroke="#e5e5e5"/>`,
      `<text x="${M.left - 6}" y="${f(y(t) + 4)}" text-anchor="end">${seconds(t)}</text>`,
    )
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#999"/>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle">pods</text>`,
  )
  series.forEach((s, i) => {
    const colour = s.dashed ? FLOOR_COLOUR : COLOURS[i % COLOURS.length]
    const pts = s.points.map((p) => `${f(x(p.pods))},${f(y(p.ms))}`).join(' ')
    out.push(`<polyline points="${pts}" fill="none" stroke="${colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`)
    for (const p of s.points)
      out.push(
        `<circle cx="${f(x(p.pods))}" cy="${f(y(p.ms))}" r="3" fill="${colour}"><title>${esc(`${s.name} ${p.label}: ${seconds(Math.round(p.ms))}`)}</title></circle>`,
      )
    const ly = M.top + 10 + i * 18
    out.push(
      `<line x1="${W - M.right + 12}" y1="${ly}" x2="${W - M.right + 36}" y2="${ly}" stroke="${colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${W - M.right + 42}" y="${ly + 4}">${esc(s.name)}</text>`,
    )
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}
