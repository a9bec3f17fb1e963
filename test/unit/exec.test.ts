// The executor's pure parts: how a plan becomes stages of batches, and how a batch's exit code
// and stderr become exactly which actions were applied (what the journal records).
import {describe, expect, it} from 'vitest'
import {outcome, prepare} from '../../src/exec/batch.js'
import {encodeFdb} from '../../src/tools/bridge.js'
import {encodeIp, ipWord} from '../../src/tools/ip.js'
import {restoreInput} from '../../src/tools/iptables.js'
import type {Step, StepFailure} from '../../src/tools/types.js'
import type {Action} from '../../src/core/actions.js'
import {argv} from '../../src/tools/command.js'
import {linkSyncStages, schedule} from '../../src/exec/schedule.js'
import {deleteSlices} from '../../src/exec/rollback.js'
import {buildModel} from '../../src/compile/model.js'
import {compilePlan} from '../../src/compile/plan.js'
import {loadTopologyFile, parseTopology} from '../../src/topology/parse.js'
import {THREE_NODE} from '../helpers/constants.js'

const plan = compilePlan(buildModel(loadTopologyFile(THREE_NODE)))

describe('schedule', () => {
  const stages = schedule(plan, {split: 2})

  it('keeps every action exactly once, in plan order within each namespace', () => {
    const seen = stages.flatMap((s) => s.lanes.flatMap((l) => l.batches.flatMap((b) => b.actions.map((a) => a.id))))
    expect([...seen].sort((a, b) => a - b)).toEqual(plan.actions.map((a) => a.id))
    for (const s of stages)
      for (const l of s.lanes) {
        const ids = l.batches.flatMap((b) => b.actions.map((a) => a.id))
        expect(ids).toEqual([...ids].sort((a, b) => a - b))
        for (const b of l.batches) for (const a of b.actions) expect([a.netns, a.tool]).toEqual([l.netns, b.tool])
      }
  })

  it('runs lab-scoped phases as their own stages and merges consecutive netns-scoped phases into one', () => {
    expect(stages.map((s) => s.phases)).toEqual([
      ['namespaces'],
      ['ipv4-only'],
      ['links'],
      ['pod-links'],
      ['fabric', 'nodes', 'pods', 'external', 'routes', 'forwarding', 'firewall'],
    ])
    const last = stages.at(-1)!
    expect(last.lanes.length).toBe(10) // one lane per namespace
    const node0 = last.lanes.find((l) => l.netns?.endsWith('.node-0'))!
    expect(node0.batches.map((b) => b.tool)).toEqual(['ip', 'sysctl', 'iptables'])
  })

  it("syncs the link watch before the first stage inside namespaces after the cables, known from the tools' drivers", () => {
    expect([...linkSyncStages(stages)].map((s) => s.phases)).toEqual([stages.at(-1)!.phases]) // not ipv4-only: no link exists yet
    // a stage that makes links and then two stages inside namespaces: only the first is synced
    const [namespaces, ipv4, links, podLinks, inside] = stages
    expect([...linkSyncStages([namespaces, links, ipv4, podLinks, inside, ipv4])]).toEqual([ipv4, inside])
    expect(linkSyncStages([namespaces, ipv4, inside]).size).toBe(0)
  })

  it('splits an independent root phase over several processes only when it is large', () => {
    expect(stages[0].lanes).toHaveLength(1) // 10 namespaces: not worth a second process
    const big = compilePlan(
      buildModel(parseTopology(`name: big\nnodes:\n${Array.from({length: 20}, (_, i) => `  - {name: n${i}, pods: 5}`).join('\n')}\n`)),
    )
    const s = schedule(big, {split: 3})
    expect(s[0].lanes).toHaveLength(3)
    expect(s[0].lanes.every((l) => l.netns === null)).toBe(true)
  })
})

describe('batch outcomes', () => {
  const podLane = schedule(plan)
    .at(-1)!
    .lanes.find((l) => l.netns?.endsWith('.web-0'))!
  const batch = podLane.batches[0]
  const fail = (stderr: string, extra: Partial<StepFailure> = {}): StepFailure => ({step: 0, exitCode: 1, stderr, ...extra})

  it('ip: "Command failed FILE:N" means lines before N were applied, N failed, the rest never ran', () => {
    const p = prepare(batch, {netlink: false})
    const o = outcome(p, fail('RTNETLINK answers: File exists\nCommand failed -:2'))
    expect(o.applied.map((a) => a.id)).toEqual([batch.actions[0].id])
    expect(o.failed?.id).toBe(batch.actions[1].id)
    expect(o.notRun.map((a) => a.id)).toEqual(batch.actions.slice(2).map((a) => a.id))
    expect(o.error?.stderr).toBe('RTNETLINK answers: File exists')
  })

  it('netlink: the op the runner names is the action that failed', () => {
    const p = prepare(batch)
    expect(p.steps[0].kind).toBe('netlink')
    const o = outcome(p, fail('RTNETLINK answers: File exists', {at: 3}))
    expect(o.failed?.id).toBe(batch.actions[2].id)
    expect(o.applied).toHaveLength(2)
  })

  it('ip: a failure that names no line leaves the whole batch "unknown" (possibly applied)', () => {
    const o = outcome(prepare(batch, {netlink: false}), fail('Segmentation fault', {exitCode: 139}))
    expect(o.unknown).toHaveLength(batch.actions.length)
    expect(o.applied).toEqual([])
  })

  it('a fault injected for a test replaces exactly that action with a command that fails', () => {
    const p = prepare(batch, {faultAt: batch.actions[2].id, netlink: false})
    const step = p.steps[0] as Extract<Step, {kind: 'exec'}>
    const lines = step.stdin!.trim().split('\n')
    expect(lines[2]).toBe('link set dev netlab-fault up')
    expect(lines.filter((_, i) => i !== 2)).toEqual(batch.actions.filter((_, i) => i !== 2).map((a) => a.args.join(' ')))
  })

  it("ip: the runner speaks the plan's ip lines as op records; anything else falls back to ip -batch", () => {
    expect(encodeIp(['route', 'add', 'default', 'via', '10.244.0.1', 'dev', 'eth0'])).toBe(
      'route\tdst=0.0.0.0\tlen=0\tvia=10.244.0.1\tdev=eth0',
    )
    expect(encodeIp(['addr', 'add', '10.244.0.2/24', 'dev', 'eth0'])).toBe('addr\tip=10.244.0.2\tlen=24\tdev=eth0')
    expect(encodeIp(['link', 'set', 'lo', 'up', 'alias', 'netlab:x'])).toBe('link\tdev=lo\tup=1\talias=netlab:x')
    expect(encodeIp(['neigh', 'add', '10.0.0.1', 'lladdr', '0a:58:0a:00:00:01', 'dev', 'eth0', 'nud', 'permanent'])).toBe(
      'neigh\tip=10.0.0.1\tmac=0a:58:0a:00:00:01\tdev=eth0',
    )
    expect(encodeIp(['route', 'add', '10.0.0.0/8', 'via', '300.1.1.1', 'dev', 'eth0'])).toBeUndefined()
    expect(encodeIp(['link', 'set', 'eth0', 'mtu', '1450', 'up'])).toBe('link\tdev=eth0\tmtu=1450\tup=1')
    expect(encodeIp(['route', 'add', '10.244.9.0/24', 'via', '10.244.9.0', 'dev', 'flannel.1', 'onlink'])).toBe(
      'route\tdst=10.244.9.0\tlen=24\tvia=10.244.9.0\tdev=flannel.1\tonlink=1',
    )
    expect(
      encodeIp([
        'link',
        'add',
        'flannel.1',
        'address',
        '0a:58:0a:f4:00:00',
        'mtu',
        '1450',
        'type',
        'vxlan',
        'id',
        '1',
        'local',
        '192.168.50.10',
        'dev',
        'eth0',
        'dstport',
        '8472',
        'nolearning',
      ]),
    ).toBe('vxlan\tname=flannel.1\tmac=0a:58:0a:f4:00:00\tmtu=1450\tlearning=0\tid=1\tlocal=192.168.50.10\tdev=eth0\tport=8472')
    expect(encodeIp(['link', 'set', 'eth0', 'mtu', '20'])).toBeUndefined()
    expect(
      encodeIp(['link', 'add', 'v0', 'type', 'vxlan', 'id', '1', 'group', '239.1.1.1', 'dev', 'eth0', 'dstport', '4789']),
    ).toBeUndefined()
    expect(encodeIp(['link', 'add', 'b0', 'type', 'bridge'])).toBeUndefined()
    const p = prepare({netns: 'x', tool: 'ip', actions: [{...batch.actions[0], args: ['link', 'set', 'eth0', 'txqueuelen', '100']}]})
    expect([p.steps[0].kind, p.fallback]).toEqual(['exec', true])
  })

  it('bridge: one bridge -batch per namespace (without the fast path); "Command failed -:N" blames line N', () => {
    const fdb = (i: number, mac: string, dst: string): Action => ({
      id: 100 + i,
      phase: 'routes',
      netns: 'x',
      tool: 'bridge',
      args: ['fdb', 'append', mac, 'dev', 'flannel.1', 'dst', dst],
      why: 't',
      undo: {kind: 'netns', netns: 'x'},
    })
    const actions = [
      fdb(0, '0a:58:0a:f4:09:00', '192.168.50.21'),
      fdb(1, '0a:58:0a:f4:02:00', '192.168.50.12'),
      fdb(2, '0a:58:0a:f4:03:00', '192.168.50.13'),
    ]
    const p = prepare({netns: 'x', tool: 'bridge', actions}, {netlink: false})
    expect(p.steps).toEqual([
      {kind: 'exec', argv: ['bridge', '-batch', '-'], stdin: actions.map((a) => a.args.join(' ')).join('\n') + '\n'},
    ])
    // inside a namespace the runner speaks fdb append itself: one op record per entry
    const fast = prepare({netns: 'x', tool: 'bridge', actions})
    expect(fast.steps).toEqual([
      {
        kind: 'netlink',
        ops: [
          'fdb\tmac=0a:58:0a:f4:09:00\tdev=flannel.1\tdst=192.168.50.21',
          'fdb\tmac=0a:58:0a:f4:02:00\tdev=flannel.1\tdst=192.168.50.12',
          'fdb\tmac=0a:58:0a:f4:03:00\tdev=flannel.1\tdst=192.168.50.13',
        ],
      },
    ])
    const refused = outcome(fast, {step: 0, exitCode: 1, stderr: 'RTNETLINK answers: No such device', at: 2, also: [3]})
    expect([refused.applied.map((a) => a.id), refused.failed?.id, refused.notRun.map((a) => a.id)]).toEqual([[100, 102], 101, []])
    expect(encodeFdb(['fdb', 'append', '0a:58:0a:f4:09:00', 'dev', 'flannel.1', 'dst', '192.168.50.21', 'self'])).toBeUndefined()
    expect(encodeFdb(['fdb', 'add', '0a:58:0a:f4:09:00', 'dev', 'flannel.1', 'dst', '192.168.50.21'])).toBeUndefined()
    // a line the runner does not speak: the whole batch goes to the bridge program, counted as a fallback
    const odd = prepare({netns: 'x', tool: 'bridge', actions: [{...actions[0], args: [...actions[0].args, 'self']}]})
    expect([odd.steps[0].kind, odd.fallback, fast.fallback]).toEqual(['exec', true, false])
    expect(argv(actions[0])).toEqual([
      'bridge',
      '-n',
      'x',
      'fdb',
      'append',
      '0a:58:0a:f4:09:00',
      'dev',
      'flannel.1',
      'dst',
      '192.168.50.21',
    ])
    const o = outcome(p, fail('Cannot find device "flannel.1"\nCommand failed -:2'))
    expect([o.applied.map((a) => a.id), o.failed?.id, o.notRun.map((a) => a.id)]).toEqual([[100], 101, [102]])
    expect(o.error).toEqual({
      command: 'bridge -n x fdb append 0a:58:0a:f4:02:00 dev flannel.1 dst 192.168.50.12',
      stderr: 'Cannot find device "flannel.1"',
    })
    const faulty = prepare({netns: 'x', tool: 'bridge', actions}, {faultAt: 101, netlink: false}).steps[0] as Extract<Step, {kind: 'exec'}>
    expect(faulty.stdin!.split('\n')[1]).toContain('dev netlab-fault')
  })

  it('ip: arguments with spaces are quoted for ip -batch rather than refused', () => {
    expect(ipWord('plain')).toBe('plain')
    expect(ipWord('two words')).toBe('"two words"')
    expect(ipWord('say "hi"')).toBe(`'say "hi"'`)
  })

  const rules = plan.actions.filter((a) => a.tool === 'iptables' && a.netns?.endsWith('.node-0'))

  it('iptables: one section per table, the chain policy before the rules', () => {
    expect(restoreInput(rules.map((a) => a.args)).text).toBe(
      [
        '*filter',
        ':FORWARD DROP [0:0]',
        '-A FORWARD -s 10.244.0.0/16 -j ACCEPT',
        '-A FORWARD -d 10.244.0.0/16 -j ACCEPT',
        'COMMIT',
        '*nat',
        '-A POSTROUTING -s 10.244.0.0/24 ! -d 10.244.0.0/16 -j MASQUERADE',
        'COMMIT',
        '',
      ].join('\n'),
    )
  })

  it('iptables: the line iptables-restore names is the rule blamed; earlier tables were committed, the rest were not', () => {
    const p = prepare({netns: rules[0].netns, tool: 'iptables', actions: rules})
    // the nat table's MASQUERADE rule is line 7 of the input
    const o = outcome(p, fail('iptables-restore: line 7 failed: No chain/target/match by that name.'))
    expect(o.failed?.id).toBe(rules[3].id)
    expect(o.applied.map((a) => a.id)).toEqual(rules.slice(0, 3).map((a) => a.id))
    expect(o.notRun).toEqual([])
    expect(o.error?.command).toContain('MASQUERADE')
    // a parse error in the middle of the filter table: nothing was committed
    const parse = outcome(p, fail("Bad argument `x'\nError occurred at line: 3\nTry `iptables-restore -h'"))
    expect(parse.failed?.id).toBe(rules[1].id)
    expect(parse.applied).toEqual([])
    expect(parse.notRun.map((a) => a.id)).toEqual([rules[0], rules[2], rules[3]].map((a) => a.id))
  })

  it('iptables: a table refused at COMMIT is blamed on the one rule using the name the error quotes', () => {
    const jump = {...rules[2], args: ['-A', 'FORWARD', '-j', 'NO-SUCH-CHAIN']}
    const p = prepare({netns: rules[0].netns, tool: 'iptables', actions: [rules[0], rules[1], jump, rules[3]]})
    // line 5 is the filter table's COMMIT
    const o = outcome(p, fail("iptables-restore v1.8.9 (nf_tables): Chain 'NO-SUCH-CHAIN' does not exist\nError occurred at line: 5"))
    expect(o.failed).toBe(jump)
    expect(o.applied).toEqual([])
  })
})

describe('deleting namespaces', () => {
  it('splits a batch of only netns del over eight lanes, every line once; anything else stays one batch, in order', () => {
    const dels = Array.from({length: 1000}, (_, i) => `netns del netlab-x.p${i}`)
    const slices = deleteSlices(dels)
    expect(slices).toHaveLength(8)
    expect(slices.flat()).toEqual(dels)
    expect(deleteSlices(dels.slice(0, 10))).toEqual([dels.slice(0, 10)])
    const mixed = [...dels.slice(0, 100), 'link del veth-x']
    expect(deleteSlices(mixed)).toEqual([mixed])
    expect(deleteSlices([])).toEqual([])
  })
})
