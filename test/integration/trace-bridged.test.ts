// Trace tells the truth where frames cross a node's bridge and, with br_netfilter, its iptables
// (issue 22, findings 5 and 6). On this kind of host br_netfilter is loaded, so every lab
// namespace has net.bridge.bridge-nf-call-iptables=1 and a node's FORWARD chain sees the frames
// two of its pods exchange across cni0. One small lab per bridge-based routing mode (2 nodes × 2
// pods and an external host), each up once: every fault kind the lab takes is injected in turn
// (one lab, fix between: a fault's undo puts back exactly what it changed), and every check the
// probe then fails must come with an explanation — never "the kernel's state does not explain
// it". Then the CLI's verdicts: a DROP a bridged frame meets stops the trace (exit 1, also with
// --confirm), a rule trace does not model is caught by --confirm's counts, and a node whose
// underlay MTU is too small spoils the path both ways, inbound too (exit 1).
import {execFileSync, spawnSync} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {labPlan} from '../../src/exercise/exercise.js'
import {applicableKinds} from '../../src/exercise/faults.js'
import {readState} from '../../src/state/store.js'
import type {TraceResult} from '../../src/trace/types.js'
import {isRoot, labSandbox, netlab, netlabAsync, rootSnapshot, smallTopology, uniqueLab, writeTopology} from '../helpers/lab.js'

const MODES = ['host-gw', 'routes', 'vxlan', 'vpc-native'] as const

interface Failure {
  src: {name: string}
  dst: {name: string}
  ok: boolean
  explanation?: string
}
interface Report {
  checks: {id: string; results: Failure[]}[]
  /** only when something failed */
  explained?: {traced: number; notTraced: number}
}

/** The node's own net.bridge.bridge-nf-call-iptables ('' when br_netfilter is not loaded on the host). */
function bridgeNf(netns: string): string {
  try {
    return execFileSync('ip', ['netns', 'exec', netns, 'cat', '/proc/sys/net/bridge/bridge-nf-call-iptables'], {encoding: 'utf8'}).trim()
  } catch {
    return ''
  }
}

describe.skipIf(!isRoot)('trace and probe with br_netfilter: bridged frames cross the node’s iptables', () => {
  const {stateDir, env, track} = labSandbox()
  const labs = new Map<string, string>()
  let before = ''
  let savedStateDir: string | undefined

  beforeAll(() => {
    before = rootSnapshot()
    savedStateDir = process.env.NETLAB_STATE_DIR
    process.env.NETLAB_STATE_DIR = stateDir // readState below reads the lab's state as the CLI does
    for (const routing of MODES) {
      const lab = track(uniqueLab(`tb-${routing}`))
      const r = netlab(['up', writeTopology(stateDir, smallTopology(lab, {nodes: 2, pods: 2, routing}))], env)
      expect(r.code, r.stderr).toBe(0)
      labs.set(routing, lab)
    }
  }, 120_000)

  afterAll(() => {
    if (savedStateDir === undefined) delete process.env.NETLAB_STATE_DIR
    else process.env.NETLAB_STATE_DIR = savedStateDir
  })

  /** Skip where the host has no br_netfilter (the premise): nothing then hands bridged frames to iptables. */
  const premise = (lab: string, skip: () => void) => {
    if (bridgeNf(`netlab-${lab}.n0`) !== '1') skip()
  }

  // the modes side by side: a faulted lab's probe mostly waits for its lost packets, and the waits overlap
  it.concurrent.for(MODES)('%s: every check the probe fails under each fault is explained', {timeout: 240_000}, async (routing, ctx) => {
    const lab = labs.get(routing)!
    premise(lab, () => ctx.skip())
    const model = readState(lab)!.model
    const unexplained: string[] = []
    const failing = new Map<string, number>()
    for (const kind of applicableKinds(model, labPlan(model))) {
      const broke = await netlabAsync(['break', lab, kind, '--seed', '0', '--json', '--reveal'], env)
      ctx.expect(broke.code, broke.stderr).toBe(0)
      const where = (JSON.parse(broke.stdout) as {fault: {where: string}}).fault.where
      try {
        const r = await netlabAsync(['probe', lab, '--json'], env)
        const report = JSON.parse(r.stdout) as Report
        const failures = report.checks.flatMap((c) => c.results.filter((x) => !x.ok).map((x) => ({...x, check: c.id})))
        failing.set(kind, failures.length)
        ctx.expect(report.explained?.notTraced ?? 0, `${kind}: failures left untraced`).toBe(0)
        for (const f of failures)
          // explained, and by the member the fault is on (not by something else that happens to look wrong)
          if (!f.explanation || /does not explain|could not trace/.test(f.explanation) || !f.explanation.includes(where))
            unexplained.push(`${kind}: ${f.check} ${f.src.name} → ${f.dst.name}: ${f.explanation ?? '(none)'}`)
      } finally {
        ctx.expect((await netlabAsync(['fix', lab], env)).code).toBe(0)
      }
    }
    ctx.expect(unexplained).toEqual([])
    // the faults that spoil bridged frames did show, so the explanations were put to the test
    ctx.expect(failing.get('drop')).toBeGreaterThan(0)
    ctx.expect(failing.get('masquerade')).toBeGreaterThan(0)
  })

  const trace = (lab: string, from: string, to: string, ...more: string[]) => {
    const r = netlab(['trace', '--lab', lab, from, to, '--json', ...more], env)
    return {code: r.code, t: JSON.parse(r.stdout) as TraceResult}
  }

  it('a DROP in FORWARD stops a frame one pod bridges to another of its node (exit 1), with --confirm too', (ctx) => {
    const lab = labs.get('host-gw')!
    premise(lab, () => ctx.skip())
    // drop --seed 0 puts "-d n0-p0 -j DROP" first in n0's FORWARD (the CLI says where with --reveal)
    const broke = netlab(['break', lab, 'drop', '--seed', '0', '--json', '--reveal'], env)
    expect(JSON.parse(broke.stdout)).toMatchObject({fault: {kind: 'drop', where: 'n0'}})
    try {
      for (const confirm of [[], ['--confirm']]) {
        const {code, t} = trace(lab, 'n0-p1', 'n0-p0', ...confirm)
        expect(code, t.summary).toBe(1)
        expect(t.delivered).toBe(false)
        expect(t.problem).toMatchObject({member: 'n0', kind: 'drop'})
        expect(t.summary).toMatch(/^n0-p1 → n0-p0: stops at n0: dropped by n0's iptables FORWARD rule 1: .*-j DROP/)
        // the node's hop is the bridge's: in by one pod's port
        expect(t.hops.map((h) => [h.member, h.in])).toEqual([
          ['n0-p1', undefined],
          ['n0', 'veth-n0-p1'],
        ])
      }
    } finally {
      expect(netlab(['fix', lab], env).code).toBe(0)
    }
    const healthy = trace(lab, 'n0-p1', 'n0-p0', '--confirm')
    expect(healthy.code, healthy.t.summary).toBe(0)
    expect(healthy.t.hops.map((h) => h.member)).toEqual(['n0-p1', 'n0', 'n0-p0'])
    expect(healthy.t.hops[1].text).toMatch(/bridged across cni0 .*bridge-nf-call-iptables is 1/)
    for (const h of healthy.t.hops) expect(h.counted, h.member).toMatch(/: [1-9]\d* packets?/)
  })

  it('--confirm: counts that contradict "arrives" change the verdict (a rule trace does not model)', () => {
    const lab = labs.get('host-gw')!
    const model = readState(lab)!.model
    const target = model.members.find((m) => m.name === 'n0-p0')!.ips[0]
    // the raw table is not modelled: only the real packet can show it is dropped on n0
    const rule = ['-t', 'raw', 'PREROUTING', '-d', `${target}/32`, '-j', 'DROP']
    const ipt = (verb: string) =>
      execFileSync('ip', ['netns', 'exec', `netlab-${lab}.n0`, 'iptables', rule[0], rule[1], verb, ...rule.slice(2)])
    expect(trace(lab, 'n1-p0', 'n0-p0').code).toBe(0)
    ipt('-I')
    try {
      expect(trace(lab, 'n1-p0', 'n0-p0').code).toBe(0) // the model alone does not see it
      const {code, t} = trace(lab, 'n1-p0', 'n0-p0', '--confirm')
      expect(code, t.summary).toBe(1)
      expect(t.confirm).toEqual({reply: false})
      expect(t.problem).toMatchObject({member: 'n0', kind: 'unseen'})
      expect(t.delivered).toBe(false)
      expect(t.summary).not.toMatch(/arrives/)
      expect(t.hops.find((h) => h.member === 'n0')!.counted).toMatch(/out cni0: 0 packets/)
    } finally {
      ipt('-D')
    }
  })

  it('vxlan: a node whose underlay MTU is too small spoils the path both ways, inbound too (exit 1)', () => {
    const lab = labs.get('vxlan')!
    const broke = netlab(['break', lab, 'mtu', '--seed', '0', '--json', '--reveal'], env)
    const where = (JSON.parse(broke.stdout) as {fault: {where: string}}).fault.where
    const other = where === 'n0' ? 'n1' : 'n0'
    try {
      for (const [from, to] of [
        [`${where}-p0`, `${other}-p0`],
        [`${other}-p0`, `${where}-p0`],
      ]) {
        const {code, t} = trace(lab, from, to)
        expect(code, t.summary).toBe(1)
        expect(t.delivered).toBe(true) // a small packet still fits
        expect(t.problem).toMatchObject({member: where, kind: 'mtu'})
        expect(t.summary).toMatch(new RegExp(`^${from} → ${to}: arrives, but at ${where}: .*full-size packets are lost`))
      }
      // the real thing: a full-size ping into the node with the small MTU is lost, a small one is not
      const dst = readState(lab)!.model.members.find((m) => m.name === `${where}-p0`)!.ips[0]
      const ping = (size: number) =>
        spawnSync('ip', ['netns', 'exec', `netlab-${lab}.${other}-p0`, 'ping', '-c', '1', '-W', '1', '-s', String(size), dst]).status
      expect(ping(1400)).not.toBe(0)
      expect(ping(1000)).toBe(0)
    } finally {
      expect(netlab(['fix', lab], env).code).toBe(0)
    }
    expect(trace(lab, `${other}-p0`, `${where}-p0`).code).toBe(0)
  })

  it('leaves the root namespace as it was', () => {
    for (const lab of labs.values()) expect(netlab(['down', lab], env).code).toBe(0)
    expect(rootSnapshot()).toBe(before)
  })
})
