// The executor's pure parts: how a plan becomes stages of batches, and how a batch's exit code
// and stderr become exactly which actions were applied (what the journal records).
import {describe, expect, it} from 'vitest'
import {interpret, prepare, restoreInput} from '../../src/exec/batch.js'
import {schedule} from '../../src/exec/schedule.js'
import {buildModel} from '../../src/model/build.js'
import {compilePlan} from '../../src/plan/compile.js'
import {loadTopologyFile, parseTopology} from '../../src/topology/parse.js'
import {THREE_NODE} from '../helpers/constants.js'

const plan = compilePlan(buildModel(loadTopologyFile(THREE_NODE)))

describe('schedule', () => {
  const stages = schedule(plan, {split: 2})

  it('keeps every action exactly once, in plan order within each namespace', () => {
    const seen = stages.flatMap((s) => s.lanes.flatMap((l) => l.batches.flatMap((b) => b.actions.map((a) => a.id))))
    expect([...seen].sort((a, b) => a - b)).toEqual(plan.actions.map((a) => a.id))
    for (const s of stages) for (const l of s.lanes) {
      const ids = l.batches.flatMap((b) => b.actions.map((a) => a.id))
      expect(ids).toEqual([...ids].sort((a, b) => a - b))
      for (const b of l.batches) for (const a of b.actions) expect([a.netns, a.tool]).toEqual([l.netns, b.tool])
    }
  })

  it('runs lab-scoped phases as their own stages and merges consecutive netns-scoped phases into one', () => {
    expect(stages.map((s) => s.phases)).toEqual([['namespaces'], ['ipv4-only'], ['links'], ['pod-links'], ['fabric', 'nodes', 'pods', 'external', 'routes', 'forwarding', 'firewall']])
    const last = stages.at(-1)!
    expect(last.lanes.length).toBe(10) // one lane per namespace
    const node0 = last.lanes.find((l) => l.netns?.endsWith('.node-0'))!
    expect(node0.batches.map((b) => b.tool)).toEqual(['ip', 'sysctl', 'iptables'])
  })

  it('splits an independent root phase over several processes only when it is large', () => {
    expect(stages[0].lanes).toHaveLength(1) // 10 namespaces: not worth a second process
    const big = compilePlan(buildModel(parseTopology(`name: big\nnodes:\n${Array.from({length: 20}, (_, i) => `  - {name: n${i}, pods: 5}`).join('\n')}\n`)))
    const s = schedule(big, {split: 3})
    expect(s[0].lanes).toHaveLength(3)
    expect(s[0].lanes.every((l) => l.netns === null)).toBe(true)
  })
})

describe('batch outcomes', () => {
  const podLane = schedule(plan).at(-1)!.lanes.find((l) => l.netns?.endsWith('.web-0'))!
  const batch = podLane.batches[0]

  it('ip: "Command failed FILE:N" means lines before N were applied, N failed, the rest never ran', () => {
    const p = prepare(batch)
    const o = interpret(p, 1, 'RTNETLINK answers: File exists\nCommand failed /tmp/x/3.0.ip:2')
    expect(o.applied.map((a) => a.id)).toEqual([batch.actions[0].id])
    expect(o.failed?.id).toBe(batch.actions[1].id)
    expect(o.notRun.map((a) => a.id)).toEqual(batch.actions.slice(2).map((a) => a.id))
    expect(o.error?.stderr).toBe('RTNETLINK answers: File exists')
  })

  it('ip: a failure that names no line leaves the whole batch "unknown" (possibly applied)', () => {
    const o = interpret(prepare(batch), 139, 'Segmentation fault')
    expect(o.unknown).toHaveLength(batch.actions.length)
    expect(o.applied).toEqual([])
  })

  it('a fault injected for a test replaces exactly that action with a command that fails', () => {
    const p = prepare(batch, batch.actions[2].id)
    const lines = p.input.trim().split('\n')
    expect(lines[2]).toBe('link set dev netlab-fault up')
    expect(lines.filter((_, i) => i !== 2)).toEqual(batch.actions.filter((_, i) => i !== 2).map((a) => a.args.join(' ')))
  })

  it('iptables: one section per table, the chain policy before the rules', () => {
    const rules = plan.actions.filter((a) => a.tool === 'iptables' && a.netns?.endsWith('.node-0'))
    expect(restoreInput(rules)).toBe(
      ['*filter', ':FORWARD DROP [0:0]', '-A FORWARD -s 10.244.0.0/16 -j ACCEPT', '-A FORWARD -d 10.244.0.0/16 -j ACCEPT', 'COMMIT', '*nat', '-A POSTROUTING -s 10.244.0.0/24 ! -d 10.244.0.0/16 -j MASQUERADE', 'COMMIT', ''].join('\n'),
    )
  })
})
