// The capacity preflight's arithmetic (issue 27): what a lab needs, counted from its real plan,
// against a machine's limits; each limit it would exceed is one sentence with both numbers.
import {describe, expect, it} from 'vitest'
import {stringify} from 'yaml'
import {gridTopology} from '../../bench/topology.js'
import {buildModel} from '../../src/compile/model.js'
import {compilePlan} from '../../src/compile/plan.js'
import {capacityMessage, capacityProblems, KERNEL_BYTES, kernelBytes, labNeeds, type MachineLimits} from '../../src/core/capacity.js'
import {parseTopology} from '../../src/topology/parse.js'

const plenty: MachineLimits = {
  memAvailableKB: 64 * 1024 ** 2,
  filesFree: 1e7,
  nofileHard: 1 << 20,
  gcThresh3: 1024,
  runInodesFree: 1e6,
  tasksFree: 1e5,
}

function grid(nodes: number, pods: number) {
  const model = buildModel(parseTopology(stringify(gridTopology('cap', nodes, pods, 'host-gw')), 'grid.yaml'))
  return compilePlan(model)
}

describe('labNeeds', () => {
  it('counts namespaces and veth pairs from the plan: a pair per pod and per node, a namespace per pod, node, fabric and external host', () => {
    const [nodes, pods] = [4, 5]
    const n = labNeeds(grid(nodes, pods), {dynamicNeighbours: 0, workloadSockets: 0, processes: 0})
    expect(n.namespaces).toBe(nodes * pods + nodes + 2)
    expect(n.vethPairs).toBe(nodes * pods + nodes + 1)
    expect(n.devices).toBeGreaterThan(0) // bridges
    expect(n.namespaces + n.vethPairs + n.devices + n.otherActions).toBe(grid(nodes, pods).actions.length)
  })

  it('kernel memory grows with the lab: per namespace and per pair as the constants say', () => {
    const small = labNeeds(grid(2, 2), {dynamicNeighbours: 0, workloadSockets: 0, processes: 0})
    const big = labNeeds(grid(2, 3), {dynamicNeighbours: 0, workloadSockets: 0, processes: 0})
    const per = KERNEL_BYTES.namespace + KERNEL_BYTES.vethPair
    expect(kernelBytes(big) - kernelBytes(small)).toBeGreaterThanOrEqual(2 * per)
  })
})

describe('capacityProblems', () => {
  const needs = labNeeds(grid(3, 4), {dynamicNeighbours: 40, workloadSockets: 30, processes: 1})

  it('a lab that fits: none', () => {
    expect(capacityProblems(needs, plenty)).toEqual([])
  })

  it('memory: refused just below what the estimate needs, accepted at it', () => {
    const kb = Math.ceil(kernelBytes(needs) / 1024 / 0.9)
    expect(capacityProblems(needs, {...plenty, memAvailableKB: kb})).toEqual([])
    const [p] = capacityProblems(needs, {...plenty, memAvailableKB: kb - 2})
    expect(p).toMatch(
      new RegExp(`^kernel memory: about \\d+ MB needed \\(${needs.namespaces} namespaces × 200 KB, ${needs.vethPairs} veth pairs`),
    )
  })

  it.each<[keyof MachineLimits, number, RegExp]>([
    [
      'nofileHard',
      100,
      /open files: the workload needs about 286 in one process, a process may have 100 \(ulimit -Hn; fs.nr_open with CAP_SYS_RESOURCE\)/,
    ],
    ['filesFree', 100, /open files: about 286 needed, 100 left machine-wide/],
    ['gcThresh3', 39, /neighbour table: the lab learns 40 entries by ARP, the machine-wide table holds 39/],
    ['runInodesFree', 10, /\/run: \d+ inodes needed .*, 10 free/],
    ['tasksFree', 3, /processes: about 65 needed, 3 more may start/],
  ])('%s too low: one sentence with both numbers', (key, value, sentence) => {
    const problems = capacityProblems(needs, {...plenty, [key]: value})
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(sentence)
  })

  it('a lab without a workload needs no file limit of its own', () => {
    expect(capacityProblems({...needs, workloadSockets: 0}, {...plenty, nofileHard: 10})).toEqual([])
  })

  it('the refusal names the lab and every problem on one line', () => {
    const m = capacityMessage('big', capacityProblems(needs, {...plenty, tasksFree: 0, gcThresh3: 0}))
    expect(m.split('\n')).toHaveLength(1)
    expect(m).toMatch(/^lab big does not fit this machine, nothing was made: neighbour table: .*; processes: /)
  })
})

describe('10,000 pods are accepted by the model (the preflight guards the machine instead of a fixed cap)', () => {
  it.each([
    [100, 100, 'host-gw'],
    [1000, 10, 'routes'],
  ] as const)('%i nodes × %i pods (%s)', (nodes, pods, mode) => {
    const model = buildModel(parseTopology(stringify(gridTopology('big', nodes, pods, mode)), 'grid.yaml'))
    expect(model.nodes.reduce((n, x) => n + x.pods.length, 0)).toBe(nodes * pods)
  })
})
