// routing bgp in the pure core: cluster.bgp's checks (each at its line and column), who peers with
// whom (full mesh, route reflectors, one AS per segment with the router), the BIRD configs, and
// the design's promise: a node that joins changes no other speaker's config. The plan writes no
// route between nodes (only each node's blackhole for its own block).
import {describe, expect, it} from 'vitest'
import {buildModel} from '../../src/compile/model.js'
import {compilePlan} from '../../src/compile/plan.js'
import {bgpSessions, bgpSpeakers, birdConfig} from '../../src/modes/bgp-peers.js'
import type {LabModel} from '../../src/model/types.js'
import {parseTopology} from '../../src/topology/parse.js'
import {TopologyError} from '../../src/topology/errors.js'
import {bgpLearned} from '../../src/probe/checks/bgp-learned.js'

const DIR = '/run/netlab/lab/bird'

function topo(cluster: string, nodes: {name: string; segment?: number}[]): string {
  const lines = nodes.map((n) => `  - {name: ${n.name}, pods: 1${n.segment !== undefined ? `, segment: ${n.segment}` : ''}}`)
  return `name: lab\ncluster:\n${cluster}\nnodes:\n${lines.join('\n')}\n`
}
const ONE = '  routing: bgp'
const TWO = '  routing: bgp\n  underlay: [192.168.50.0/24, 192.168.60.0/24]'
const model = (text: string): LabModel => buildModel(parseTopology(text, 'lab.yaml'))
const nodes = (n: number, segment = (_i: number) => 0) => Array.from({length: n}, (_, i) => ({name: `node-${i}`, segment: segment(i)}))

/** The error a topology is refused with, as "line:col message". */
function refused(text: string): string {
  try {
    model(text)
  } catch (error) {
    if (error instanceof TopologyError) return `${error.pos.line}:${error.pos.col} ${error.message}`
    throw error
  }
  return 'accepted'
}

describe('cluster.bgp: what it takes, refused at the offending value', () => {
  it('asNumber: a whole number from 1 to 4294967294; routeReflectors: names of nodes, each once; encapsulation: none', () => {
    expect(refused(topo(`${ONE}\n  bgp: {asNumber: 0}`, nodes(2)))).toMatch(/^4:\d+ .*asNumber must be a whole number from 1 to 4294967294/)
    expect(refused(topo(`${ONE}\n  bgp: {routeReflectors: [node-9]}`, nodes(2)))).toMatch(/^4:\d+ .*no node "node-9"/)
    expect(refused(topo(`${ONE}\n  bgp: {routeReflectors: [node-0, node-0]}`, nodes(2)))).toMatch(/"node-0" is named twice/)
    expect(refused(topo(`${ONE}\n  bgp: {colour: red}`, nodes(2)))).toMatch(/unknown key "colour"/)
    expect(refused(topo(`${ONE}\n  bgp: {encapsulation: none}`, nodes(2)))).toBe('accepted')
  })

  it('encapsulation vxlan and ipip are named and refused with the reason; cluster.bgp under another mode is refused', () => {
    expect(refused(topo(`${ONE}\n  bgp: {encapsulation: vxlan}`, nodes(2)))).toMatch(
      /vxlan is not built: routing vxlan already shows the overlay/,
    )
    expect(refused(topo(`${ONE}\n  bgp: {encapsulation: ipip}`, nodes(2)))).toMatch(/this kernel has no IPIP devices/)
    expect(refused(topo(`  routing: host-gw\n  bgp: {asNumber: 65000}`, nodes(2)))).toMatch(
      /^4:3 lab.yaml:4:3: cluster.bgp applies only to routing bgp/,
    )
  })

  it("cluster.cni is refused: Calico's pods are cabled point to point, which no bridge plugin does", () => {
    expect(refused(topo(`${ONE}\n  cni: {preset: reference}`, nodes(2)))).toMatch(
      /^4:\d+ .*cluster.cni: routing bgp cables pods point to point/,
    )
  })

  it('route reflectors need one segment (on two, the router already reflects between them)', () => {
    expect(
      refused(
        topo(
          `${TWO}\n  bgp: {routeReflectors: [node-0]}`,
          nodes(2, (i) => i),
        ),
      ),
    ).toMatch(/route reflectors need one segment/)
  })
})

describe('who peers with whom', () => {
  it("full mesh (Calico's default): every pair once, iBGP in AS 64512, each node naming only the nodes before it", () => {
    const m = model(topo(ONE, nodes(5)))
    const s = bgpSessions(m)
    expect(s).toHaveLength((5 * 4) / 2)
    expect(new Set(s.map((x) => [x.from, x.to].sort().join(' '))).size).toBe(10)
    expect(s.every((x) => x.kind === 'iBGP' && Number(x.from.slice(5)) > Number(x.to.slice(5)))).toBe(true)
    expect(bgpSpeakers(m).map((x) => x.as)).toEqual([64512, 64512, 64512, 64512, 64512])
  })

  it('route reflectors: each client peers with every reflector, the reflectors with each other; far fewer sessions', () => {
    const m = model(topo(`${ONE}\n  bgp: {routeReflectors: [node-0, node-3]}`, nodes(6)))
    const s = bgpSessions(m)
    expect(s).toHaveLength(4 * 2 + 1)
    expect(s.filter((x) => x.reflector).map((x) => `${x.from}>${x.to}`)).toEqual([
      'node-1>node-0',
      'node-1>node-3',
      'node-2>node-0',
      'node-2>node-3',
      'node-4>node-0',
      'node-4>node-3',
      'node-5>node-0',
      'node-5>node-3',
    ])
    expect(s.filter((x) => x.mutual).map((x) => `${x.from}>${x.to}`)).toEqual(['node-3>node-0'])
    expect(birdConfig(m, bgpSpeakers(m)[0], DIR)).toContain('rr client;')
    expect(birdConfig(m, bgpSpeakers(m)[1], DIR)).not.toContain('rr client')
  })

  it("two segments: one AS per segment, the router in the next; each node peers with its rack-mates and the router's leg on its segment", () => {
    const m = model(
      topo(
        `${TWO}\n  bgp: {asNumber: 65000}`,
        nodes(4, (i) => (i < 2 ? 0 : 1)),
      ),
    )
    expect(bgpSpeakers(m).map((x) => `${x.name} ${x.as}`)).toEqual([
      'node-0 65000',
      'node-1 65000',
      'node-2 65001',
      'node-3 65001',
      'router 65002',
    ])
    expect(bgpSessions(m).map((x) => `${x.from}>${x.to} ${x.kind} ${x.toIp}`)).toEqual([
      'node-0>router eBGP 192.168.50.1',
      'node-1>node-0 iBGP 192.168.50.10',
      'node-1>router eBGP 192.168.50.1',
      'node-2>router eBGP 192.168.60.1',
      'node-3>node-2 iBGP 192.168.60.10',
      'node-3>router eBGP 192.168.60.1',
    ])
    const router = birdConfig(m, bgpSpeakers(m).at(-1)!, DIR)
    expect(router).toContain('neighbor range 192.168.50.0/24 as 65000; passive on;')
    expect(router).toContain('neighbor range 192.168.60.0/24 as 65001; passive on;')
  })
})

describe('BIRD configs', () => {
  it('a node announces its own block, accepts its segment, names its peers, installs what it learns; fast timers; no graceful restart', () => {
    const m = model(topo(ONE, nodes(3)))
    const conf = birdConfig(m, bgpSpeakers(m)[2], DIR)
    expect(conf).toContain('router id 192.168.50.12;')
    expect(conf).toContain(`log "${DIR}/node-2.log" all;`)
    expect(conf).toContain('route 10.244.2.0/24 blackhole;')
    expect(conf).toContain('export where source = RTS_BGP;') // into the kernel
    expect(conf).toContain('neighbor range 192.168.50.0/24 internal; passive on;')
    expect(conf).toContain('protocol bgp to_node_0 from peer { neighbor 192.168.50.10 internal; }')
    expect(conf).toContain('protocol bgp to_node_1 from peer { neighbor 192.168.50.11 internal; }')
    expect(conf).toMatch(/hold time 3; keepalive time 1;/)
    expect(conf).toContain('graceful restart off;')
  })

  // the design for netlab apply (issue 25): a node that joins makes its own sessions, the others accept it by range
  for (const [what, cluster, seg] of [
    ['full mesh', ONE, () => 0],
    ['route reflectors (a client joins)', `${ONE}\n  bgp: {routeReflectors: [node-0]}`, () => 0],
    ['two segments (a node joins segment 1)', TWO, (i: number) => i % 2],
  ] as const)
    it(`${what}: a node that joins changes no other speaker's config`, () => {
      const before = model(topo(cluster, nodes(4, seg)))
      const after = model(topo(cluster, nodes(5, seg)))
      for (const s of bgpSpeakers(before)) {
        const same = bgpSpeakers(after).find((x) => x.name === s.name)!
        expect(birdConfig(after, same, DIR), s.name).toBe(birdConfig(before, s, DIR))
      }
      expect(bgpSpeakers(after)).toHaveLength(bgpSpeakers(before).length + 1)
    })
})

describe('the plan', () => {
  it('with Services, no node sends a pod an ICMP redirect (a pod reaching itself through its Service is routed back out its cable)', () => {
    const text = topo(ONE, nodes(2)) + 'services:\n  - {name: s, selector: {app: x}, ports: [{port: 80}]}\n'
    const plan = compilePlan(model(text))
    const redirects = plan.actions.filter((a) => a.tool === 'sysctl' && a.args[0].includes('send_redirects=0')).map((a) => a.args[0])
    expect(redirects.filter((x) => x.includes('.all.'))).toHaveLength(2)
    expect(redirects.filter((x) => x.includes('.veth-'))).toEqual([
      'net.ipv4.conf.veth-node-0-p0.send_redirects=0',
      'net.ipv4.conf.veth-node-1-p0.send_redirects=0',
    ])
  })

  it('writes no route between nodes: the routes phase holds only each node its own blackhole; pods on /32 cables via 169.254.1.1', () => {
    const m = model(topo(ONE, nodes(3)))
    const plan = compilePlan(m)
    const routes = plan.actions.filter((a) => a.phase === 'routes')
    expect(routes.map((a) => `${a.netns} ${a.args.join(' ')}`)).toEqual(m.nodes.map((n) => `${n.netns} route add blackhole ${n.podCIDR}`))
    const others = m.nodes.flatMap((n) => m.nodes.filter((x) => x !== n).map((x) => x.podCIDR))
    expect(plan.actions.filter((a) => a.tool === 'ip' && a.args[0] === 'route' && others.includes(a.args[2]))).toEqual([])
    expect(plan.actions.some((a) => a.args.join(' ').includes('cni0'))).toBe(false)
    for (const p of m.nodes.flatMap((n) => n.pods)) expect(p.hostVethMac).toBe('0a:58:a9:fe:01:01')
  })
})

describe("the probe's bgp-learned check", () => {
  const m = model(topo(ONE, nodes(3)))
  const bird = (dst: string, gateway: string) => ({dst, protocol: 'bird', gateway})
  const tables = (n1: {dst: string; protocol?: string; gateway?: string}[]) =>
    new Map([
      ['node-0', {routes: [bird('10.244.1.0/24', '192.168.50.11'), bird('10.244.2.0/24', '192.168.50.12'), {dst: '10.244.0.0/24'}]}],
      ['node-1', {routes: n1}],
      ['node-2', {routes: [bird('10.244.0.0/24', '192.168.50.10'), bird('10.244.1.0/24', '192.168.50.11')]}],
    ])
  const judge = (n1: {dst: string; protocol?: string; gateway?: string}[]) =>
    bgpLearned.addresses.judge(m, tables(n1)).map((r) => `${r.src.name} ${r.ok ? 'ok' : r.detail}`)

  it('passes a node whose every route to another block is proto bird; names a withdrawn block and a route written statically', () => {
    expect(judge([bird('10.244.0.0/24', '192.168.50.10'), bird('10.244.2.0/24', '192.168.50.12')])).toEqual([
      'node-0 ok',
      'node-1 ok',
      'node-2 ok',
    ])
    expect(judge([bird('10.244.0.0/24', '192.168.50.10')])[1]).toBe(
      "node-1 no route to node-2's block 10.244.2.0/24 learned by BGP (withdrawn, or never announced)",
    )
    // host-gw's way: the same route, written by hand (proto boot)
    expect(judge([bird('10.244.0.0/24', '192.168.50.10'), {dst: '10.244.2.0/24', protocol: 'boot', gateway: '192.168.50.12'}])[1]).toMatch(
      /10\.244\.2\.0\/24 \(to node-2's pods\) is written statically \(proto boot\), not learned/,
    )
  })
})

describe('netlab apply in routing bgp: which changes touch the speakers', () => {
  it('a pod that comes or goes changes none (its node announces the same block); a node that joins does', async () => {
    const {speakersChange} = await import('../../src/lab/bird.js')
    const base = topo(ONE, nodes(3))
    const before = model(base)
    const morePods = model(base.replace(/pods: \d+|pods: \[[^\]]*\]/, 'pods: 3'))
    expect(morePods.nodes.flatMap((n) => n.pods).length).not.toBe(before.nodes.flatMap((n) => n.pods).length)
    expect(speakersChange(before, morePods)).toBe(false)
    expect(speakersChange(before, model(topo(ONE, nodes(4))))).toBe(true)
    expect(speakersChange(before, model(topo(ONE, nodes(2))))).toBe(true)
  })
})
