// netlab trace, break and fix on real labs: one small lab per routing mode (2 nodes × 2 pods),
// each brought up once. On each, a healthy trace across nodes names the members it crosses. The
// vxlan lab, which takes every kind of fault, gets one break/trace/fix round per kind: trace must
// name the hop the fault is on and the reason; aws-vpc's proxy-ARP path gets the route fault too.
// Then probe is green again and the root namespace is unchanged. Cost is kept small by sampling:
// one trace pair per mode, one fault per kind (not every candidate), two probes in all.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {breakLab, fixLab, labPlan} from '../../src/exercise/exercise.js'
import {pickFault, seeded, type Fault, type FaultKind} from '../../src/exercise/faults.js'
import type {LabModel} from '../../src/model/types.js'
import {readState} from '../../src/state/store.js'
import {inCidr} from '../../src/trace/iptables.js'
import {traceLab} from '../../src/trace/trace.js'
import type {TraceResult} from '../../src/trace/types.js'
import {isRoot, labSandbox, netlab, rootSnapshot, smallTopology, uniqueLab, writeTopology} from '../helpers/lab.js'

const MODES = ['host-gw', 'routes', 'vxlan', 'aws-vpc', 'vpc-native'] as const

describe.skipIf(!isRoot)('netlab trace, break and fix on a lab of each routing mode', () => {
  const {stateDir, env, track} = labSandbox()
  const labs = new Map<string, string>()
  let before = ''
  let savedStateDir: string | undefined

  beforeAll(() => {
    before = rootSnapshot()
    // the library calls below read the state directory from the environment, as the CLI does
    savedStateDir = process.env.NETLAB_STATE_DIR
    process.env.NETLAB_STATE_DIR = stateDir
    for (const routing of MODES) {
      const lab = track(uniqueLab(`tr-${routing}`))
      const file = writeTopology(stateDir, smallTopology(lab, {nodes: 2, pods: 2, routing, external: false}))
      const r = netlab(['up', file], env)
      expect(r.code, r.stderr).toBe(0)
      labs.set(routing, lab)
    }
  }, 120_000)

  afterAll(() => {
    if (savedStateDir === undefined) delete process.env.NETLAB_STATE_DIR
    else process.env.NETLAB_STATE_DIR = savedStateDir
  })

  const modelOf = (routing: string): LabModel => readState(labs.get(routing)!)!.model
  const trace = (routing: string, from: string, to: string): Promise<TraceResult> => {
    const model = modelOf(routing)
    const target = model.members.find((m) => m.name === to)!
    return traceLab(
      model.lab,
      model,
      model.members.find((m) => m.name === from)!,
      target.ips[0],
    )
  }

  it.each(MODES)('%s: a healthy trace across nodes names every member on the way', (routing) => {
    // host-gw also sends one real ping along the path (--confirm): every hop counts it
    const confirm = routing === 'host-gw' ? ['--confirm'] : []
    const r = netlab(['trace', '--lab', labs.get(routing)!, 'n0-p0', 'n1-p1', '--json', ...confirm], env)
    expect(r.code, r.stderr).toBe(0)
    const t = JSON.parse(r.stdout) as TraceResult
    expect(t.delivered).toBe(true)
    expect(t.problem).toBeUndefined()
    const path = routing === 'routes' ? ['n0-p0', 'n0', 'vpc-router', 'n1', 'n1-p1'] : ['n0-p0', 'n0', 'n1', 'n1-p1']
    expect(t.hops.map((h) => h.member)).toEqual(path)
    // leaving n0: by the overlay in vxlan, the underlay otherwise; arriving at the pod by its eth0
    expect(t.hops[1].out).toBe(routing === 'vxlan' ? 'flannel.1' : 'eth0')
    expect(t.hops.at(-1)!.in).toBe('eth0')
    if (confirm.length) for (const h of t.hops) expect(h.counted, h.member).toMatch(/: [1-9]\d* packets?/)
  })

  // For a fault on node `where`: the pair whose path crosses it, and the hop and reason trace must name.
  const cases: [string, FaultKind, string, string, string][] = [
    ['vxlan', 'route', 'n0-p0', 'n1-p0', 'no-route'],
    ['vxlan', 'forwarding', 'n0-p0', 'n1-p0', 'forwarding-off'],
    ['vxlan', 'masquerade', 'n0-p0', 'n1-p0', 'masquerade'],
    ['vxlan', 'drop', 'n1-p0', 'n0-p0', 'drop'],
    ['vxlan', 'mtu', 'n0-p0', 'n1-p0', 'mtu'],
    ['vxlan', 'fdb', 'n0-p0', 'n1-p0', 'no-fdb'],
    ['aws-vpc', 'route', 'n1-p0', 'n0-p0', 'no-route'],
  ]
  it.each(cases)('%s: break %s; trace %s → %s names the node and %s; fix', async (routing, kind, from, to, reason) => {
    const lab = labs.get(routing)!
    const model = modelOf(routing)
    const toIp = model.members.find((m) => m.name === to)!.ips[0]
    // the first seed whose fault is on n0, and for a route, the route to the traced pod (picked as break picks)
    const hits = (f: Fault) => f.where === 'n0' && (kind !== 'route' || inCidr(toIp, f.plan.actions[0].args[2]))
    const seed = Array.from({length: 200}, (_, i) => i).find((i) => hits(pickFault(model, labPlan(model), kind, seeded(i))!))!
    const broken = await breakLab(lab, kind, seed)
    try {
      expect(hits(broken.fault)).toBe(true)
      const t = await trace(routing, from, to)
      expect(t.problem, t.summary).toMatchObject({member: 'n0', kind: reason})
      expect(t.delivered).toBe(kind === 'mtu') // a small packet still fits
      expect(t.summary).toMatch(new RegExp(`^${from} → ${to}: (stops at|arrives, but at) n0: `))
    } finally {
      expect((await fixLab(lab))?.fault.kind).toBe(kind)
    }
    expect((await trace(routing, from, to)).problem).toBeUndefined()
  })

  it('probe explains a failure with trace; break and fix by the CLI; then probe is green and the root namespace unchanged', () => {
    const lab = labs.get('host-gw')!
    const broke = netlab(['break', lab, 'forwarding', '--seed', '0', '--json', '--reveal'], env)
    expect(broke.code, broke.stderr).toBe(0)
    expect(JSON.parse(broke.stdout)).toMatchObject({lab, injected: true, fault: {kind: 'forwarding', where: 'n0'}})
    const hidden = netlab(['break', lab], env)
    expect(hidden.code).toBe(2) // one fault at a time
    const failing = netlab(['probe', lab, '--json', '--only', 'pod-pod'], env)
    expect(failing.code).toBe(1)
    const report = JSON.parse(failing.stdout) as {checks: {results: {ok: boolean; explanation?: string}[]}[]; explained: {traced: number}}
    const failures = report.checks.flatMap((c) => c.results.filter((x) => !x.ok))
    expect(failures.length).toBeGreaterThan(0)
    for (const f of failures) expect(f.explanation).toMatch(/stops at n0: n0 does not forward: net\.ipv4\.ip_forward is 0/)
    expect(report.explained.traced).toBeGreaterThan(0)
    const fixed = netlab(['fix', lab, '--json'], env)
    expect(JSON.parse(fixed.stdout)).toMatchObject({lab, fixed: true, fault: {kind: 'forwarding'}})
    expect(JSON.parse(netlab(['fix', lab, '--json'], env).stdout)).toMatchObject({fixed: false})
    for (const routing of ['host-gw', 'vxlan']) {
      const r = netlab(['probe', labs.get(routing)!, '--only', 'pod-pod,node-pod,no-nat'], env)
      expect(r.code, r.stdout).toBe(0)
    }
    for (const lab of labs.values()) expect(netlab(['down', lab], env).code).toBe(0)
    expect(rootSnapshot()).toBe(before)
  })
})
