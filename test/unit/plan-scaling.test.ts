// Plans grow linearly with pods at a fixed number of nodes, in every routing mode: no part of a
// plan may be pods² per node (the old permanent-neighbour scheme wrote every pod an entry for
// every other pod of its bridge: 109k actions at 10 × 100). Three sizes per mode are enough to
// see a square term; the plans are compiled only, never built.
import {describe, expect, it} from 'vitest'
import {stringify} from 'yaml'
import {gridTopology} from '../../bench/topology.js'
import {buildModel} from '../../src/compile/model.js'
import {compilePlan} from '../../src/compile/plan.js'
import {seedsNeighbours} from '../../src/modes/neighbours.js'
import {ROUTING_MODES, routingMode} from '../../src/modes/index.js'
import {parseTopology} from '../../src/topology/parse.js'
import type {RoutingMode} from '../../src/topology/types.js'

const NODES = 10
const PODS = [10, 50, 100] // pods per node

function actions(mode: string, pods: number, nodes = NODES): {count: number; seeded: boolean} {
  const model = buildModel(parseTopology(stringify(gridTopology(`scale${pods}`, nodes, pods, mode as RoutingMode)), 'grid.yaml'))
  return {count: compilePlan(model).actions.length, seeded: seedsNeighbours(model, routingMode(mode).neighbourShape)}
}

describe('plan size', () => {
  for (const mode of ROUTING_MODES) {
    it(`${mode}: grows linearly with pods at ${NODES} nodes (${PODS.map((p) => `${NODES}×${p}`).join(', ')})`, () => {
      const [a10, a50, a100] = PODS.map((p) => actions(mode, p))
      // all three write their neighbours (the scheme that used to be pods² per node)
      for (const a of [a10, a50, a100]) expect(a.seeded).toBe(true)
      // the same number of actions per extra pod from 10 to 50 as from 50 to 100
      const slopeLow = (a50.count - a10.count) / (PODS[1] - PODS[0])
      const slopeHigh = (a100.count - a50.count) / (PODS[2] - PODS[1])
      expect(slopeHigh, `${a10.count}, ${a50.count}, ${a100.count} actions`).toBeCloseTo(slopeLow, 6)
      // a few commands per pod, and in a VPC mode an entry for it on every other node
      expect(slopeLow / NODES).toBeLessThan(15 + NODES)
    })
  }
})

// A mode whose nodes reach each other through the router (nodePeers 'router': routes) writes each
// node one underlay neighbour, the router, so its plan grows linearly with nodes too; host-gw's
// per-node routes and neighbour entries are nodes², which the same measure must see.
describe('plan size against nodes', () => {
  const SIZES = [40, 80, 160] // nodes, one pod each, one segment
  const slopes = (mode: string) => {
    const [a, b, c] = SIZES.map((n) => actions(mode, 1, n).count)
    return {low: (b - a) / (SIZES[1] - SIZES[0]), high: (c - b) / (SIZES[2] - SIZES[1]), counts: [a, b, c]}
  }
  for (const mode of new Set(['routes', ...ROUTING_MODES.filter((m) => routingMode(m).nodePeers === 'router')])) {
    it(`${mode}: grows linearly with nodes (${SIZES.map((n) => `${n}×1`).join(', ')})`, () => {
      const {low, high, counts} = slopes(mode)
      expect(high, counts.join(', ')).toBeCloseTo(low, 6)
    })
  }
  it('host-gw: grows with nodes² (the measure sees it)', () => {
    const {low, high, counts} = slopes('host-gw')
    expect(high, counts.join(', ')).toBeGreaterThan(1.5 * low)
  })
})
