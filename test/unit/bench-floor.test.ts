// The bench's ratios to the kernel's floor (issue 27): per-round ratios, their median and spread,
// the flag against the committed run, the floor's work taken from a real plan, and the plot.
import {describe, expect, it} from 'vitest'
import {stringify} from 'yaml'
import {floorWork, type FloorRun} from '../../bench/floor.js'
import {plotSeries, upPlot} from '../../bench/plot.js'
import {flagWorse, ratioOf, summarize, tableRows, type Case, type NetlabRun} from '../../bench/report.js'
import {gridTopology} from '../../bench/topology.js'
import {buildModel} from '../../src/compile/model.js'
import {compilePlan} from '../../src/compile/plan.js'
import {parseTopology} from '../../src/topology/parse.js'

const floor = (upMs: number, nsLinksMs = upMs / 2, deleteMs = upMs / 10): FloorRun => ({
  upMs,
  nsLinksMs,
  insideMs: upMs - nsLinksMs,
  deleteMs,
  namespaces: 1,
  links: 1,
  inside: 1,
})
const run = (upWallMs: number, downWallMs = upWallMs / 5): NetlabRun => ({
  lab: 'x',
  upWallMs,
  upMs: upWallMs,
  downWallMs,
  downMs: downWallMs,
})

function labCase(size: string, mode: Case['mode'], pods: number, rounds: [number, number][]): Case {
  const c: Case = {
    size,
    mode,
    nodes: 1,
    pods,
    namespaces: 1,
    actions: 1,
    nodePairActions: 0,
    runs: rounds.map(([netlab]) => run(netlab)),
    floors: rounds.map(([, f]) => floor(f)),
    failed: false,
  }
  summarize(c)
  return c
}

describe('ratios to the floor', () => {
  it('per round, then the median and the spread of the rounds', () => {
    expect(
      ratioOf([
        [300, 100],
        [400, 200],
        [500, 200],
      ]),
    ).toEqual({value: 2.5, spread: 1})
    expect(ratioOf([[300, 100]])).toEqual({value: 3, spread: undefined})
    expect(
      ratioOf([
        [undefined, 100],
        [300, undefined],
      ]),
    ).toBeUndefined()
  })

  it('a round whose netlab run failed does not count', () => {
    const c = labCase('10x10', 'host-gw', 100, [
      [200, 100],
      [900, 100],
      [300, 100],
    ])
    c.runs[1].error = 'netlab up failed'
    summarize(c)
    expect(c.floorRatios?.up).toEqual({value: 2.5, spread: 1})
  })

  it('up against the whole floor and against its namespaces and links, down against its deletion', () => {
    const c = labCase('10x10', 'host-gw', 100, [[400, 200]])
    expect(c.floorRatios).toEqual({
      up: {value: 2, spread: undefined},
      upNsLinks: {value: 4, spread: undefined},
      down: {value: 4, spread: undefined},
    })
  })
})

describe('flags against the committed run', () => {
  const committed = [
    labCase('50x10', 'host-gw', 500, [
      [200, 100],
      [210, 100],
      [190, 100],
    ]),
  ] // 2.0×, spread 0.2

  it('worse by more than this run’s spread: flagged; within it: not', () => {
    const worse = labCase('50x10', 'host-gw', 500, [
      [250, 100],
      [260, 100],
      [240, 100],
    ]) // 2.5×, spread 0.2
    const within = labCase('50x10', 'host-gw', 500, [
      [210, 100],
      [230, 100],
      [190, 100],
    ]) // 2.1×, spread 0.4
    flagWorse([worse], committed)
    flagWorse([within], committed)
    expect(worse.flags?.up).toMatch(/^⚑ worse than the committed run \(2\.00×, spread now 0\.20\)/)
    expect(within.flags).toBeUndefined()
    const rows = tableRows([worse]).filter((r) => r.what === 'netlab up / floor up')
    expect(rows[0].note).toMatch(/⚑/)
  })

  it('better, or another size or mode: never flagged', () => {
    const better = labCase('50x10', 'host-gw', 500, [[150, 100]])
    const other = labCase('50x10', 'routes', 500, [[900, 100]])
    flagWorse([better, other], committed)
    expect(better.flags).toBeUndefined()
    expect(other.flags).toBeUndefined()
  })

  it('one round: the largest relative spread of the run’s repeated ratios stands in for its own', () => {
    const repeated = labCase('50x10', 'host-gw', 500, [
      [200, 100],
      [240, 100],
      [220, 100],
    ]) // 2.2×, spread 0.4: 18 %
    const once = labCase('100x100', 'host-gw', 10_000, [[230, 100]]) // 2.3×
    const then = [...committed, labCase('100x100', 'host-gw', 10_000, [[200, 100]])] // 2.0×
    flagWorse([repeated, once], then)
    expect(once.flags).toBeUndefined() // 0.3 worse, within 18 % of 2.3
    const worse = labCase('100x100', 'host-gw', 10_000, [[300, 100]])
    flagWorse([repeated, worse], then)
    expect(worse.flags?.up).toMatch(/⚑/)
  })

  it('the 10,000-pod labs carry the issue’s targets, the smaller ones none', () => {
    // floor 100 ms, its namespaces and links 50 ms: netlab 140 ms is 1.4× and 2.8×, 170 ms 1.7× and 3.4×
    const rows = tableRows([
      labCase('100x100', 'host-gw', 10_000, [[140, 100]]),
      labCase('1000x10', 'routes', 10_000, [[170, 100]]),
      labCase('50x10', 'host-gw', 500, [[170, 100]]),
    ])
    const goal = (lab: string, what: string) => rows.find((r) => r.lab.startsWith(lab) && r.what === what)
    expect(goal('100x100', 'netlab up / floor up')).toMatchObject({goal: '≤ 1.60×', met: '✓'})
    expect(goal('100x100', 'netlab up / floor namespaces+links')).toMatchObject({goal: '≤ 3.00×', met: '✓'})
    expect(goal('1000x10', 'netlab up / floor up')).toMatchObject({goal: '≤ 1.60×', met: '✗'})
    expect(goal('1000x10', 'netlab up / floor namespaces+links')).toMatchObject({goal: '≤ 3.00×', met: '✗'})
    expect(goal('50x10', 'netlab up / floor up')).toMatchObject({goal: '', met: ''})
  })
})

describe('the floor of a real plan', () => {
  it('every namespace, every root-made link, and inside them only devices, links, addresses and routes', () => {
    const model = buildModel(parseTopology(stringify(gridTopology('fl', 3, 2, 'host-gw')), 'g.yaml'))
    const plan = compilePlan(model)
    const w = floorWork(plan)
    expect(w.namespaces).toHaveLength(plan.actions.filter((a) => a.creates).length)
    expect(w.links.every((l) => l.startsWith('link add '))).toBe(true)
    expect(w.links).toHaveLength(plan.actions.filter((a) => a.netns === null && a.args[0] === 'link' && a.args[1] === 'add').length)
    const inside = [...w.inside.values()].flat()
    expect(inside.length).toBeGreaterThan(0)
    for (const line of inside) expect(line).toMatch(/^(link|addr|address|route) (add|set|replace) /)
    expect(inside.some((l) => l.startsWith('route add'))).toBe(true)
    expect(inside.some((l) => l.startsWith('addr add'))).toBe(true)
  })
})

describe('bench --plot', () => {
  const cases = [
    labCase('10x10', 'host-gw', 100, [[1000, 800]]),
    labCase('50x10', 'host-gw', 500, [[2000, 1500]]),
    labCase('50x10', 'vxlan', 500, [[3000, 1500]]),
  ]

  it('a line per mode, sorted by pods, and the floor (host-gw’s where it ran)', () => {
    const series = plotSeries(cases)
    expect(series.map((s) => s.name)).toEqual(['host-gw', 'vxlan', 'kernel floor'])
    expect(series[0].points.map((p) => [p.pods, p.ms])).toEqual([
      [100, 1000],
      [500, 2000],
    ])
    expect(series[2].points.map((p) => p.ms)).toEqual([800, 1500])
  })

  it('an SVG with a polyline per series and the legend', () => {
    const svg = upPlot(cases)
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(svg.match(/<polyline /g)).toHaveLength(3)
    for (const name of ['host-gw', 'vxlan', 'kernel floor']) expect(svg).toContain(`>${name}</text>`)
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true)
  })

  it('no run: says so instead of an empty chart', () => {
    expect(upPlot([])).toContain('no run to plot')
  })
})
