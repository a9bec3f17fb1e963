// netlab trace through Services on a real lab (kube-proxy's iptables mode, as netlab writes it):
// a pod, a node and an external host to a ClusterIP and to node ports; the hop that translates
// names kube-proxy's chains and DNAT, the masquerade it marks and why, the way back through the
// node that translated; a Service without endpoints and a node port with externalTrafficPolicy
// Local on a node without an endpoint stop at kube-proxy's filter rules; a pod reaching itself
// stops at its bridge port once hairpin mode is off there; --confirm reads which DNAT rule a
// real connection went through. The topology is the unit fixtures' (test/fixtures/trace/services.yaml).
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import type {TraceResult} from '../../src/trace/types.js'
import {ipIn, isRoot, labSandbox, netlab, rootSnapshot, uniqueLab, writeTopology} from '../helpers/lab.js'

const topology = parse(readFileSync(fileURLToPath(new URL('../fixtures/trace/services.yaml', import.meta.url)), 'utf8')) as Record<
  string,
  unknown
>

/** `netlab trace --lab LAB … --json`: its exit code and result (nothing on stderr). */
function tracer(lab: string, env: Record<string, string>) {
  return (...args: string[]): {code: number; t: TraceResult} => {
    const r = netlab(['trace', '--lab', lab, ...args, '--json'], env)
    expect(r.stderr).toBe('')
    return {code: r.code, t: JSON.parse(r.stdout) as TraceResult}
  }
}
const natHop = (t: TraceResult) => t.hops.find((h) => h.translation)!

describe.skipIf(!isRoot)('netlab trace through Services (iptables mode)', () => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab('tr-svc'))
  let before = ''

  beforeAll(() => {
    before = rootSnapshot()
    const r = netlab(['up', writeTopology(stateDir, {...topology, name: lab})], env)
    expect(r.code, r.stderr).toBe(0)
  }, 120_000)

  const trace = tracer(lab, env)

  it('a pod to a ClusterIP: DNAT at its node through KUBE-SERVICES → KUBE-SVC → KUBE-SEP, its address kept, the reply back through its node', () => {
    const {code, t} = trace('client', '10.96.0.10', '--port', '80', '--endpoint', '10.244.1.2')
    expect(code).toBe(0)
    expect(t.hops.map((h) => h.member)).toEqual(['client', 'node-0', 'node-1', 'web-1'])
    const tr = natHop(t).translation!
    expect(natHop(t).member).toBe('node-0')
    expect(tr.path[0]).toBe('PREROUTING')
    expect(tr.path.slice(1).map((c) => c.replace(/-[A-Z0-9]{16}$/, ''))).toEqual(['KUBE-SERVICES', 'KUBE-SVC', 'KUBE-SEP'])
    expect(tr.candidates.map((c) => [c.to, c.probability])).toEqual([
      ['10.244.0.2:8080', 0.5],
      ['10.244.1.2:8080', 0.5],
    ])
    expect(t.packet).toMatchObject({src: '10.244.0.3', dst: '10.244.1.2', port: 8080})
    expect(tr.masquerade).toBeUndefined()
    expect(t.reply!.hops).toEqual(['web-1', 'node-1', 'node-0', 'client'])
    expect(t.reply!.text).toContain('at node-0 conntrack undoes the translation (its source becomes 10.96.0.10:80 again)')
  })

  it('a node to a ClusterIP: nat OUTPUT, masqueraded (KUBE-MARK-MASQ from KUBE-SVC) to the node', () => {
    const {t} = trace('node-1', 'web', '--port', '80', '--endpoint', '10.244.0.2')
    expect(t.to).toBe('service web (10.96.0.10)')
    const tr = natHop(t).translation!
    expect(natHop(t).member).toBe('node-1')
    expect(tr.path[0]).toBe('OUTPUT')
    expect(tr.masquerade!.chain).toMatch(/^KUBE-SVC-/)
    expect(t.delivered && !t.problem).toBe(true)
    expect(t.reply!.hops.at(-1)).toBe('node-1')
  })

  it('a node port (externalTrafficPolicy Cluster) from outside: masqueraded to the node that took it, un-masqueraded there', () => {
    const {code, t} = trace('outside', 'node-1', '--port', '30080', '--endpoint', '10.244.0.2')
    expect(code).toBe(0)
    const tr = natHop(t).translation!
    expect(tr.path.slice(2, 4).map((c) => c.replace(/-[A-Z0-9]{16}$/, ''))).toEqual(['KUBE-NODEPORTS', 'KUBE-EXT'])
    expect(tr.masquerade!.chain).toMatch(/^KUBE-EXT-/)
    expect(t.hops.map((h) => h.member)).toEqual(['outside', 'node-1', 'node-0', 'web-0'])
    expect(t.packet.src).toBe('192.168.50.11')
    expect(t.reply!.text).toContain('its destination 203.0.113.10 again')
  })

  it('externalTrafficPolicy Local: the node with the endpoint keeps the client address; the other drops it', () => {
    const ok = trace('outside', 'node-1', '--port', '30443')
    expect(ok.code).toBe(0)
    expect(ok.t.packet.src).toBe('203.0.113.10')
    expect(natHop(ok.t).translation!.path).toContain(natHop(ok.t).translation!.path.find((c) => c.startsWith('KUBE-SVL-')))
    const no = trace('outside', 'node-0', '--port', '30443')
    expect(no.code).toBe(1)
    expect(no.t.problem).toMatchObject({member: 'node-0', kind: 'drop'})
    expect(no.t.problem!.reason).toContain('KUBE-EXTERNAL-SERVICES')
    expect(no.t.problem!.reason).toContain('externalTrafficPolicy Local and no endpoint on node-0')
  })

  it('a Service without endpoints: rejected by kube-proxy at the client’s node, from a pod and from the node', () => {
    for (const from of ['client', 'node-0']) {
      const {code, t} = trace(from, 'empty', '--port', '80')
      expect(code).toBe(1)
      expect(t.problem).toMatchObject({member: 'node-0', kind: 'drop'})
      expect(t.problem!.reason).toMatch(/^rejected by kube-proxy: .*"default\/empty has no endpoints"/)
      expect(t.problem!.reason).toContain('connection refused')
    }
  })

  it('hairpin: a pod reaches itself through its Service, masqueraded; with hairpin mode off on its port, it stops there', () => {
    const ok = trace('web-0', 'web', '--port', '80', '--endpoint', '10.244.0.2')
    expect(ok.code).toBe(0)
    expect(ok.t.hops.map((h) => h.member)).toEqual(['web-0', 'node-0', 'web-0'])
    expect(natHop(ok.t).translation!.masquerade!.why).toContain('hairpin')
    expect(ok.t.packet.src).toBe('10.244.0.1')
    ipIn(`netlab-${lab}.node-0`, ['link', 'set', 'dev', 'veth-web-0', 'type', 'bridge_slave', 'hairpin', 'off'])
    try {
      const off = trace('web-0', 'web', '--port', '80', '--endpoint', '10.244.0.2')
      expect(off.code).toBe(1)
      expect(off.t.problem).toMatchObject({member: 'node-0', kind: 'hairpin'})
    } finally {
      ipIn(`netlab-${lab}.node-0`, ['link', 'set', 'dev', 'veth-web-0', 'type', 'bridge_slave', 'hairpin', 'on'])
    }
  })

  it('--confirm: a real connection, and the DNAT rule that counted it', () => {
    const {t} = trace('client', '10.96.0.10', '--port', '80', '--confirm')
    expect(natHop(t).counted).toMatch(/a real connection went through KUBE-SEP-[A-Z0-9]{16} \(DNAT to 10\.244\.[01]\.2:8080\)/)
    // answered: by the workload, or refused where nothing listens (a reply either way)
    expect(t.confirm).toEqual({reply: true})
  })

  it('ClientIP affinity: after one real connection, the client is in its endpoint’s recent list, and trace says so', () => {
    const first = trace('outside', 'node-1', '--port', '30443', '--confirm').t
    expect(natHop(first).counted).toContain('a real connection went through KUBE-SEP-')
    const again = trace('outside', 'node-1', '--port', '30443').t
    expect(natHop(again).translation).toMatchObject({how: 'affinity', affinitySeconds: 10800})
  })

  it('--endpoint that is none of the Service’s endpoints: a usage error, in one line', () => {
    const r = netlab(['trace', '--lab', lab, 'client', 'web', '--port', '80', '--endpoint', '10.9.9.9'], env)
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain('--endpoint 10.9.9.9 is none of the endpoints')
  })

  it('leaves the root namespace as it was', () => {
    expect(rootSnapshot()).toBe(before)
  })
})

// kube-proxy's nftables mode (its module in src/proxy/nftables.ts): the same trace, read from table
// ip kube-proxy.
describe.skipIf(!isRoot)('netlab trace through Services (nftables mode)', () => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab('tr-nft'))

  beforeAll(() => {
    const r = netlab(
      ['up', writeTopology(stateDir, {...topology, name: lab, cluster: {...(topology.cluster as object), proxy: 'nftables'}})],
      env,
    )
    expect(r.code, r.stderr).toBe(0)
  }, 120_000)

  const trace = tracer(lab, env)

  it('a pod to a ClusterIP: nat-prerouting → services → service-… → endpoint-… dnat, numgen random’s choice, the reply back', () => {
    const {code, t} = trace('client', 'web', '--port', '80', '--endpoint', '10.244.1.2')
    expect(code).toBe(0)
    const tr = natHop(t).translation!
    expect(tr.path.slice(0, 2)).toEqual(['nat-prerouting', 'services'])
    expect(tr.path.at(-1)).toMatch(/^endpoint-[A-Z2-7]{8}-default\/web\/tcp\/http__10\.244\.1\.2\/8080$/)
    expect(tr.candidates.map((c) => [c.to, c.probability])).toEqual([
      ['10.244.0.2:8080', 0.5],
      ['10.244.1.2:8080', 0.5],
    ])
    expect(t.hops.map((h) => h.member)).toEqual(['client', 'node-0', 'node-1', 'web-1'])
    expect(t.reply!.hops).toContain('node-0')
  })

  it('masqueraded where kube-proxy marks it (a node port, eTP Cluster); refused or dropped where it has no endpoint', () => {
    const np = trace('outside', 'node-0', '--port', '30080', '--endpoint', '10.244.1.2').t
    expect(natHop(np).translation!.masquerade!.chain).toMatch(/^external-/)
    expect(np.packet.src).toBe('192.168.50.10')
    const empty = trace('client', 'empty', '--port', '80')
    expect(empty.code).toBe(1)
    expect(empty.t.problem!.reason).toMatch(/^rejected by kube-proxy \(nftables mode\): .*no-endpoint-services/)
    const local = trace('outside', 'node-0', '--port', '30443')
    expect(local.t.problem!.reason).toContain('externalTrafficPolicy Local and no endpoint on node-0')
  })

  it('hairpin, and ClientIP affinity read from the endpoint’s set after a real connection', () => {
    expect(trace('web-0', 'web', '--port', '80', '--endpoint', '10.244.0.2').code).toBe(0)
    trace('outside', 'node-1', '--port', '30443', '--confirm')
    expect(natHop(trace('outside', 'node-1', '--port', '30443').t).translation!.how).toBe('affinity')
  })
})
