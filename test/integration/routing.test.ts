// Each routing mode carries traffic the way it claims, proven from the kernel: the hops a reply
// crossed (its TTL), the router's own forwarding counter, the route the node's kernel picks —
// never from netlab's state.
import {execFileSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {isRoot, labNetns, labSandbox, netlab, rootSnapshot, smallTopology, uniqueLab, writeTopology} from '../helpers/lab.js'

const inNs = (ns: string, cmd: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...cmd], {encoding: 'utf8'})

/** The TTL of the reply to one ping from `ns` to `ip`. */
function replyTtl(ns: string, ip: string): number {
  const m = /ttl=(\d+)/.exec(inNs(ns, ['ping', '-c', '1', '-W', '2', ip]))
  if (!m) throw new Error(`no reply from ${ip}`)
  return Number(m[1])
}

/** IP datagrams this namespace forwarded (per-namespace /proc/net/snmp, field ForwDatagrams). */
function forwarded(ns: string): number {
  const lines = inNs(ns, ['cat', '/proc/net/snmp'])
    .split('\n')
    .filter((l) => l.startsWith('Ip:'))
  const [names, values] = lines.map((l) => l.split(/\s+/))
  return Number(values[names.indexOf('ForwDatagrams')])
}

describe.skipIf(!isRoot)('routing modes, seen from the kernel', () => {
  const {stateDir, env, track} = labSandbox()

  function up(routing: string): string {
    const lab = track(uniqueLab(routing))
    const topo = smallTopology(lab, {nodes: 2, pods: 1, routing})
    const file = writeTopology(stateDir, topo)
    const r = netlab(['up', file, '--json'], env)
    expect(r.code, r.stderr).toBe(0)
    // every ip command of the plan is spoken over rtnetlink: no batch fell back to the ip program
    expect(JSON.parse(r.stdout).fallbacks).toBe(0)
    return lab
  }

  it('host-gw: a pod reaches a pod on another node in two hops, through no router', () => {
    const before = rootSnapshot()
    const lab = up('host-gw')
    const ns = (m: string) => `netlab-${lab}.${m}`
    // pod n0-p0 -> n1-p0: the reply left n1-p0 with TTL 64 and crossed node n1 and node n0
    expect(replyTtl(ns('n0-p0'), '10.244.1.2')).toBe(62)
    expect(inNs(ns('n0'), ['ip', 'route', 'get', '10.244.1.2'])).toMatch(/via 192\.168\.50\.11 dev eth0/)
    expect(netlab(['down', lab], env).code).toBe(0)
    expect(labNetns(lab)).toEqual([])
    expect(rootSnapshot()).toBe(before)
  })

  it("routes: pod traffic between nodes crosses the VPC router (its counter, one more hop, the node's route)", () => {
    const lab = up('routes')
    const ns = (m: string) => `netlab-${lab}.${m}`
    const router = ns('vpc-router')
    // the node has no route for the other node's pod subnet: its kernel picks the default, the router
    expect(inNs(ns('n0'), ['ip', 'route', 'get', '10.244.1.2'])).toMatch(/via 192\.168\.50\.1 dev eth0/)
    expect(inNs(ns('n0'), ['ip', 'route'])).not.toMatch(/^10\.244\.1\.0\/24/m)
    const counted = forwarded(router)
    for (let i = 0; i < 5; i++) expect(replyTtl(ns('n0-p0'), '10.244.1.2')).toBe(61) // one hop more than host-gw's 62
    // 5 requests and 5 replies went through the router
    expect(forwarded(router) - counted).toBeGreaterThanOrEqual(10)
    // no ICMP redirect taught the node a shortcut: the next hop is still the router
    expect(inNs(ns('n0'), ['ip', 'route', 'get', '10.244.1.2'])).toMatch(/via 192\.168\.50\.1 dev eth0/)
    expect(inNs(router, ['sysctl', '-n', 'net.ipv4.conf.all.send_redirects']).trim()).toBe('0')
    // node to node on the same subnet crosses the router too (the node's address is a cloud VM's
    // /32): its reply arrives with one hop taken, and n0 never resolved n1's MAC, only the router's
    expect(inNs(ns('n0'), ['ip', 'route', 'get', '192.168.50.11'])).toMatch(/via 192\.168\.50\.1 dev eth0/)
    const before = forwarded(router)
    expect(replyTtl(ns('n0'), '192.168.50.11')).toBe(63)
    expect(forwarded(router) - before).toBeGreaterThanOrEqual(2)
    const neighbours = inNs(ns('n0'), ['ip', 'neigh', 'show', 'dev', 'eth0'])
    expect(neighbours).toMatch(/^192\.168\.50\.1 /m)
    expect(neighbours).not.toMatch(/^192\.168\.50\.11 /m)
    const probe = netlab(['probe', lab], env)
    expect(probe.code, probe.stdout).toBe(0)
  })

  it('routes, a lab big enough to have its neighbours written: a node holds the router, its external host and its pods, never another node', () => {
    const lab = track(uniqueLab('rbig'))
    const file = writeTopology(stateDir, smallTopology(lab, {nodes: 3, pods: 8, routing: 'routes'}))
    const plan = JSON.parse(netlab(['plan', file, '--format', 'json']).stdout) as {phases: {id: string}[]}
    expect(plan.phases.map((p) => p.id)).toContain('neighbours') // too big to learn them by ARP
    expect(netlab(['up', file, '-q'], env).code).toBe(0)
    const ns = (m: string) => `netlab-${lab}.${m}`
    const probe = netlab(['probe', lab], env)
    expect(probe.code, probe.stdout).toBe(0)
    // after the probe crossed every node: n0 resolved nobody on eth0 but the router and the external host
    const onWire = inNs(ns('n0'), ['ip', '-4', 'neigh', 'show', 'dev', 'eth0'])
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ')[0])
      .sort()
    expect(onWire).toEqual(['192.168.50.1', '203.0.113.10'])
    expect(replyTtl(ns('n0'), '192.168.50.12')).toBe(63) // n2, through the router
  })

  it('routes across two underlay segments: the router joins them and the probe passes', () => {
    const lab = track(uniqueLab('twoseg'))
    const topo = smallTopology(lab, {nodes: 2, pods: 1, ipMasq: false})
    Object.assign(topo.cluster as object, {routing: 'routes', underlay: ['192.168.50.0/24', '192.168.60.0/24']})
    ;(topo.nodes as Record<string, unknown>[])[1].segment = 1
    ;(topo.external as Record<string, unknown>[])[0].segment = 1
    const file = writeTopology(stateDir, topo)
    expect(netlab(['up', file, '-q'], env).code).toBe(0)
    const ns = (m: string) => `netlab-${lab}.${m}`
    const status = JSON.parse(netlab(['status', lab, '--json'], env).stdout)
    expect(status.nodes.map((n: {segment: number}) => n.segment)).toEqual([0, 1])
    expect(status.routers).toEqual([{name: 'vpc-router', netns: ns('vpc-router'), ips: ['192.168.50.1', '192.168.60.1']}])
    // n1 is on segment 1: its address is there, and the two segments share no wire
    expect(inNs(ns('n1'), ['ip', '-br', 'addr', 'show', 'dev', 'eth0'])).toMatch(/192\.168\.60\.\d+\/24/)
    expect(replyTtl(ns('n0-p0'), '10.244.1.2')).toBe(61)
    // ipMasq off, and the VPC routes pod subnets: the external host answers the pod itself
    const probe = netlab(['probe', lab, '--json'], env)
    expect(probe.code, probe.stdout).toBe(0)
  })
})
