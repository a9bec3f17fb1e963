// `probe --full` says how long it will take before it starts when that is over a minute (issue 27):
// the estimate counts the checks without building them; here it is held against the probes a
// --full run really plans, on labs small enough to build them.
import {describe, expect, it} from 'vitest'
import {stringify} from 'yaml'
import {gridTopology} from '../../bench/topology.js'
import {buildModel} from '../../src/compile/model.js'
import {ANNOUNCE_MS, fullAnnouncement, fullChecks, PROBE_CHECK_MS} from '../../src/probe/estimate.js'
import {selectProbes} from '../../src/probe/select.js'
import {parseTopology} from '../../src/topology/parse.js'

const grid = (nodes: number, pods: number) => buildModel(parseTopology(stringify(gridTopology('est', nodes, pods, 'host-gw')), 'g.yaml'))

describe('probe --full estimate', () => {
  it.each([
    [3, 4],
    [10, 10],
    [20, 15],
  ])('%i × %i: within 10%% of the checks --full plans', (nodes, pods) => {
    const m = grid(nodes, pods)
    const planned = selectProbes(m, {full: true}).length
    expect(Math.abs(fullChecks(m) - planned) / planned, `${fullChecks(m)} estimated, ${planned} planned`).toBeLessThan(0.1)
  })

  it('says nothing when the run should take under a minute, and the count and time when over', () => {
    const small = grid(10, 10)
    expect(fullChecks(small) * PROBE_CHECK_MS).toBeLessThan(ANNOUNCE_MS)
    expect(fullAnnouncement(small)).toBeUndefined()
    const big = grid(100, 100)
    const line = fullAnnouncement(big)!
    expect(line).toContain(`about ${fullChecks(big).toLocaleString('en')} checks`)
    // 10,000 pods: 2 × 10⁴ × (10⁴ − 1) pod pairs and more, at 0.3 ms each: 16.7 hours at least
    expect(line).toMatch(/expected to take about (1[6-9]|[2-4]\d)\.\d hours/)
  })
})
