// Routing modes and underlay segments in the pure core: what each mode's plan holds, and what
// every mode's plan must hold whatever the mode.
import {describe, expect, it} from 'vitest'
import {parseTopology} from '../../src/topology/parse.js'
import {buildModel} from '../../src/compile/model.js'
import {compilePlan} from '../../src/compile/plan.js'
import {ROUTING_MODES, routingMode} from '../../src/modes/index.js'
import {TopologyError} from '../../src/topology/errors.js'
import {memberLines} from '../helpers/model.js'

const topo = (routing: string, extra = '') =>
  parseTopology(`name: lab
cluster: {routing: ${routing}${extra}}
nodes:
  - {name: n0, pods: 2}
  - {name: n1, pods: 1}
  - {name: n2, pods: []}
external: [{name: inet, ip: 203.0.113.10}]
`)
const planOf = (routing: string, extra = '') => compilePlan(buildModel(topo(routing, extra)))

describe('every routing mode', () => {
  for (const mode of ROUTING_MODES) {
    it(`${mode}: every phase and action says why, no namespace or interface is created twice`, () => {
      const plan = planOf(mode)
      for (const p of plan.phases) expect(p.why.length, p.id).toBeGreaterThan(20)
      for (const a of plan.actions) expect(a.why.length, a.args.join(' ')).toBeGreaterThan(5)
      const created = plan.actions.filter((a) => a.creates).map((a) => a.creates)
      expect(new Set(created).size).toBe(created.length)
      const links = plan.actions
        .filter((a) => a.args[0] === 'link' && a.args[1] === 'add')
        .flatMap((a) => {
          const peer = a.args.indexOf('peer')
          // made from the root namespace ("link add name X netns NS …") or inside one ("ip -n NS link add X …")
          const netns = a.args.includes('netns') ? a.args[a.args.indexOf('netns') + 1] : a.netns
          const main = `${netns}/${a.args[2] === 'name' ? a.args[3] : a.args[2]}`
          return peer < 0 ? [main] : [main, `${a.args[a.args.lastIndexOf('netns') + 1]}/${a.args[peer + 2]}`]
        })
      expect(new Set(links).size).toBe(links.length)
      expect(routingMode(mode).summary.length).toBeGreaterThan(10)
    })
  }
})

describe('routes mode', () => {
  const plan = planOf('routes')
  it('the VPC router holds one route per node pod subnet, next hop that node', () => {
    expect(memberLines(plan, 'vpc-router').filter((l) => l.startsWith('route add 10.244'))).toEqual([
      'route add 10.244.0.0/24 via 192.168.50.10 dev eth0',
      'route add 10.244.1.0/24 via 192.168.50.11 dev eth0',
      'route add 10.244.2.0/24 via 192.168.50.12 dev eth0',
    ])
  })
  it("nodes hold no route to another node's pod subnet, only a default route via the router", () => {
    for (const n of ['n0', 'n1', 'n2']) {
      const routes = memberLines(plan, n).filter((l) => l.startsWith('route add'))
      expect(routes.filter((l) => l.startsWith('route add 10.244'))).toEqual([])
      expect(routes).toContain('route add default via 192.168.50.1 dev eth0')
    }
  })
  it('the router forwards and sends no ICMP redirects', () => {
    expect(memberLines(plan, 'vpc-router')).toEqual(
      expect.arrayContaining(['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.eth0.send_redirects=0']),
    )
  })
  it('the router is a member of the lab: a namespace, an address, a role', () => {
    const m = buildModel(topo('routes'))
    expect(m.members.filter((x) => x.kind === 'router')).toEqual([
      expect.objectContaining({name: 'vpc-router', netns: 'netlab-lab.vpc-router', ips: ['192.168.50.1']}),
    ])
  })
  it('host-gw has neither a router nor a default route on the nodes', () => {
    const hg = planOf('host-gw')
    expect(hg.actions.some((a) => a.netns?.endsWith('.vpc-router'))).toBe(false)
    expect(memberLines(hg, 'n0')).not.toContain('route add default via 192.168.50.1 dev eth0')
  })
})

describe('underlay segments', () => {
  const two = ', underlay: [192.168.50.0/24, 192.168.60.0/24]'
  const seg = (routing: string) =>
    parseTopology(`name: lab
cluster: {routing: ${routing}${two}}
nodes:
  - {name: n0, pods: 1}
  - {name: n1, pods: 1, segment: 1}
external: [{name: inet, ip: 203.0.113.10, segment: 1}]
`)
  it("one switch per segment; each port in its segment's switch; addresses from the segment", () => {
    const m = buildModel(seg('routes'))
    expect(m.nodes.map((n) => [n.ip, n.segment])).toEqual([
      ['192.168.50.10', 0],
      ['192.168.60.10', 1],
    ])
    expect(m.router?.legs.map((l) => [l.dev, l.ip, l.fabricPort])).toEqual([
      ['eth0', '192.168.50.1', 'vpc-router0'],
      ['eth1', '192.168.60.1', 'vpc-router1'],
    ])
    const p = compilePlan(m)
    const fabric = memberLines(p, 'fabric')
    expect(fabric).toEqual(
      expect.arrayContaining([
        'link set n0 master br0 up',
        'link set n1 master br1 up',
        'link set inet master br1 up',
        'link set vpc-router0 master br0 up',
        'link set vpc-router1 master br1 up',
      ]),
    )
    expect(p.actions.filter((a) => a.args.join(' ').match(/^link add name br\d/)).map((a) => a.args[3])).toEqual(['br0', 'br1'])
  })
  it('a node reaches the other segment, and an external host there, through the router leg on its own segment', () => {
    const p = compilePlan(buildModel(seg('vxlan')))
    expect(memberLines(p, 'n0')).toEqual(
      expect.arrayContaining([
        'route add 192.168.60.0/24 via 192.168.50.1 dev eth0',
        'route add 203.0.113.10/32 via 192.168.50.1 dev eth0',
      ]),
    )
    expect(memberLines(p, 'n1')).toEqual(
      expect.arrayContaining(['route add 192.168.50.0/24 via 192.168.60.1 dev eth0', 'route add 203.0.113.10/32 dev eth0']),
    )
  })
  it('routes: a node takes the other segment through its one default route to the router, no segment route of its own', () => {
    const p = compilePlan(buildModel(seg('routes')))
    const n0 = memberLines(p, 'n0')
    expect(n0).toEqual(
      expect.arrayContaining(['route add default via 192.168.50.1 dev eth0', 'route add 203.0.113.10/32 via 192.168.50.1 dev eth0']),
    )
    expect(n0.filter((l) => l.startsWith('route add 192.168.60.0/24'))).toEqual([])
    expect(memberLines(p, 'n1')).toEqual(expect.arrayContaining(['route add default via 192.168.60.1 dev eth0']))
  })
  it('host-gw across segments is refused at the node that is on another segment', () => {
    expect(() => buildModel(seg('host-gw'))).toThrow(TopologyError)
    expect(() => buildModel(seg('host-gw'))).toThrow(/:5:\d+: routing host-gw needs every node on one L2 segment/)
  })
  it('one segment, no router: a lab of host-gw has neither (the plans of existing labs do not change)', () => {
    const m = buildModel(topo('host-gw'))
    expect(m.router).toBeUndefined()
    expect(m.segments).toEqual([{index: 0, cidr: '192.168.50.0/24', bridge: 'br0'}])
  })
})
