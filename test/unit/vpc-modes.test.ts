// The cloud VPC modes in the pure core: aws-vpc (pods hold VPC addresses, wired point to point)
// and vpc-native (alias IP ranges), VPC hosts in every mode, and what the probe expects of them.
import {describe, expect, it} from 'vitest'
import {buildModel} from '../../src/compile/model.js'
import {macFor} from '../../src/core/names.js'
import {allPods, type LabModel} from '../../src/model/types.js'
import {compilePlan} from '../../src/compile/plan.js'
import {neighbourEntries} from '../../src/modes/neighbours.js'
import {ROUTING_MODES} from '../../src/modes/index.js'
import type {Plan} from '../../src/core/actions.js'
import {expectHttp, expectPing, externalEndpoint, nodeEndpoint, podEndpoint} from '../../src/probe/expect.js'
import {notApplicable} from '../../src/probe/checks/index.js'
import {renderReport} from '../../src/probe/render.js'
import {selectProbes, sectionsFor} from '../../src/probe/select.js'
import {encodeIp} from '../../src/tools/ip.js'
import {loadTopologyFile, parseTopology} from '../../src/topology/parse.js'
import {TOPOLOGIES} from '../helpers/constants.js'
import {reportOf} from '../helpers/probe.js'
import {memberLines, smallModel} from '../helpers/model.js'

/** three nodes of two pods (unless told) and a VPC host, under `routing` */
const modeModel = (routing: string, opts: {ipMasq?: boolean; nodes?: number; pods?: number} = {}) =>
  smallModel('lab', {nodes: opts.nodes ?? 3, pods: opts.pods ?? 2, routing, vpcHost: true, ipMasq: opts.ipMasq})
const all = (p: Plan) => p.actions.map((a) => a.args.join(' '))

describe('aws-vpc: the model', () => {
  const m = modeModel('aws-vpc')
  it("pods hold addresses of the VPC subnet, above the nodes', in node order; no node has a pod subnet", () => {
    expect(m.nodes.map((n) => n.ip)).toEqual(['192.168.50.10', '192.168.50.11', '192.168.50.12'])
    expect(allPods(m).map((p) => p.ip)).toEqual([
      '192.168.50.13',
      '192.168.50.14',
      '192.168.50.15',
      '192.168.50.16',
      '192.168.50.17',
      '192.168.50.18',
    ])
    for (const n of m.nodes) expect([n.podCIDR, n.gateway, n.gatewayMac]).toEqual(['192.168.50.0/24', '169.254.1.1', '0a:58:a9:fe:01:01'])
    expect([m.podCIDR, m.nodeSubnetSize]).toEqual(['192.168.50.0/24', 24])
  })
  it("each pod cable's node end answers for 169.254.1.1: its MAC is that address's", () => {
    for (const p of allPods(m)) expect(p.hostVethMac).toBe(macFor('169.254.1.1'))
  })
  it("the VPC host takes the highest free address, the VPC router the first; 169.254.1.1 is no member's address", () => {
    expect(m.external.map((e) => [e.name, e.ip, e.vpc])).toEqual([
      ['internet', '203.0.113.10', false],
      ['vpc-vm', '192.168.50.200', true],
    ])
    expect(m.router).toMatchObject({name: 'vpc-router', legs: [{ip: '192.168.50.1'}]})
    expect(m.members.flatMap((x) => x.ips)).not.toContain('169.254.1.1')
  })
  it('fixed pod addresses stay; the others step around them and around a VPC host without an address', () => {
    const t = parseTopology(`name: lab
cluster: {routing: aws-vpc, underlay: 192.168.50.0/28}
nodes:
  - {name: n0, pods: [{name: a, ip: 192.168.50.12}, b]}
  - {name: n1, ip: 192.168.50.2, pods: [c]}
external: [{name: vm, vpc: true}]
`)
    const mm = buildModel(t)
    expect(mm.nodes.map((n) => n.ip)).toEqual(['192.168.50.10', '192.168.50.2'])
    expect(allPods(mm).map((p) => `${p.name} ${p.ip}`)).toEqual(['a 192.168.50.12', 'b 192.168.50.11', 'c 192.168.50.13'])
    expect(mm.external[0].ip).toBe('192.168.50.14') // the highest free one of a /28
  })
  it('a full VPC subnet is refused at the pod that does not fit', () => {
    const t = parseTopology(
      'name: lab\ncluster: {routing: aws-vpc, underlay: 192.168.50.0/28}\nnodes:\n  - {name: n0, pods: 5}\n',
      'f.yaml',
    )
    expect(() => buildModel(t)).toThrow(/f\.yaml:4:\d+: no free address left in cluster\.underlay 192\.168\.50\.0\/28 for pod n0-p4/)
  })
})

describe('aws-vpc: the plan', () => {
  const m = modeModel('aws-vpc')
  const p = compilePlan(m)
  const [n0] = m.nodes
  const [a, b] = n0.pods
  it("no bridge anywhere; the pod cable's node end is made with the gateway's MAC", () => {
    expect(all(p).some((l) => l.includes('type bridge') && !l.includes('br0'))).toBe(false)
    expect(p.actions.find((x) => x.args.includes(a.hostVeth) && x.args[1] === 'add')?.args).toEqual([
      'link',
      'add',
      'name',
      'eth0',
      'netns',
      a.netns,
      'address',
      a.mac,
      'type',
      'veth',
      'peer',
      'name',
      a.hostVeth,
      'address',
      '0a:58:a9:fe:01:01',
      'netns',
      n0.netns,
    ])
  })
  it('inside a pod: its address as a /32, 169.254.1.1 on the link, the default via it, and its MAC written permanent', () => {
    expect(memberLines(p, a.name)).toEqual([
      'net.ipv6.conf.default.disable_ipv6=1',
      `link set lo up alias netlab:lab`,
      `addr add ${a.ip}/32 dev eth0`,
      'link set eth0 up',
      'route add 169.254.1.1 dev eth0 scope link',
      'route add default via 169.254.1.1 dev eth0',
      'neigh add 169.254.1.1 lladdr 0a:58:a9:fe:01:01 dev eth0 nud permanent',
    ])
  })
  it("on a node: one /32 route per pod through its cable, one proxy entry per pod on eth0, no route to another node's pods", () => {
    const l = memberLines(p, 'n0')
    expect(l).toEqual(
      expect.arrayContaining([
        `route add ${a.ip}/32 dev ${a.hostVeth} scope link`,
        `route add ${b.ip}/32 dev ${b.hostVeth} scope link`,
        `neigh add proxy ${a.ip} dev eth0`,
        `neigh add proxy ${b.ip} dev eth0`,
        'net.ipv4.neigh.eth0.proxy_delay=0',
      ]),
    )
    expect(l.filter((x) => x.startsWith('neigh add proxy'))).toHaveLength(2)
    expect(all(p).filter((x) => / via 192\.168\.50\.1[0-2] /.test(x))).toEqual([])
    expect(l.filter((x) => x.startsWith('route add')).length).toBe(2 + 1) // its pods and the internet host
  })
  it("SNAT only what leaves the VPC, to the node's primary address", () => {
    expect(memberLines(p, 'n0').filter((x) => x.includes('POSTROUTING'))).toEqual([
      '-t nat -A POSTROUTING ! -d 192.168.50.0/24 -m addrtype ! --dst-type LOCAL -j SNAT --to-source 192.168.50.10',
    ])
    expect(all(compilePlan(modeModel('aws-vpc', {ipMasq: false}))).some((x) => x.includes('POSTROUTING'))).toBe(false)
  })
  it('the internet host has a route to each node, not to the VPC subnet that holds the pods', () => {
    expect(memberLines(p, 'internet').filter((x) => x.startsWith('route'))).toEqual([
      'route add 192.168.50.10/32 dev eth0',
      'route add 192.168.50.11/32 dev eth0',
      'route add 192.168.50.12/32 dev eth0',
    ])
  })
  it('the plan says which L2 means delivers a pod address, and why', () => {
    const why = p.phases.find((x) => x.id === 'routes')!.why
    expect(why).toContain('proxy neighbour entry per address')
    expect(why).toContain('Why per address and not proxy_arp')
  })
  it('every ip command of the plan is one the rtnetlink runner speaks', () => {
    for (const x of p.actions.filter((y) => y.tool === 'ip' && y.netns)) expect(encodeIp(x.args), x.args.join(' ')).toBeDefined()
  })
})

describe('vpc-native: the plan', () => {
  const m = modeModel('vpc-native')
  const p = compilePlan(m)
  it("node internals as host-gw: cni0, pods from the node's alias range", () => {
    expect(memberLines(p, 'n0')).toEqual(expect.arrayContaining(['addr add 10.244.0.1/24 dev cni0', 'link set veth-n0-p0 master cni0 up']))
    expect(memberLines(p, 'n0-p0')).toContain('route add default via 10.244.0.1 dev eth0')
  })
  it('every VM of the VPC, nodes and VPC host, has the secondary range connected; no route per node anywhere', () => {
    for (const x of ['n0', 'n1', 'n2', 'vpc-vm']) expect(memberLines(p, x)).toContain('route add 10.244.0.0/16 dev eth0')
    expect(all(p).filter((x) => /^route add 10\.244\.\d+\.0\/24/.test(x))).toEqual([])
    expect(memberLines(p, 'vpc-router').some((x) => x.includes('10.244.'))).toBe(false)
  })
  it('each node answers ARP on eth0 for its alias range: proxy_arp, at once', () => {
    for (const x of ['n0', 'n1', 'n2'])
      expect(memberLines(p, x)).toEqual(expect.arrayContaining(['net.ipv4.conf.eth0.proxy_arp=1', 'net.ipv4.neigh.eth0.proxy_delay=0']))
    expect(p.phases.find((x) => x.id === 'routes')!.why).toContain('Why proxy_arp on eth0, not one proxy entry per address')
  })
  it('masquerade only leaving the VPC: the primary range is returned untouched first', () => {
    expect(memberLines(p, 'n0').filter((x) => x.includes('POSTROUTING'))).toEqual([
      '-t nat -A POSTROUTING -s 10.244.0.0/24 -d 192.168.50.0/24 -j RETURN',
      '-t nat -A POSTROUTING -s 10.244.0.0/24 ! -d 10.244.0.0/16 -j MASQUERADE',
    ])
  })
  it('refuses two segments, with nodes on both or not', () => {
    expect(() =>
      buildModel(
        parseTopology('name: lab\ncluster: {routing: vpc-native, underlay: [192.168.50.0/24, 192.168.60.0/24]}\nnodes: [{name: n0}]\n'),
      ),
    ).toThrow(/must be one CIDR/)
    for (const mode of ['vpc-native', 'aws-vpc']) {
      const t = parseTopology(
        `name: lab\ncluster: {routing: ${mode}, underlay: [192.168.50.0/24, 192.168.60.0/24]}\nnodes: [{name: n0}, {name: n1, segment: 1}]\n`,
      )
      expect(() => buildModel(t)).toThrow(new RegExp(`routing ${mode} needs every node on one L2 segment`))
    }
  })
})

describe('VPC hosts in every mode', () => {
  for (const mode of ROUTING_MODES) {
    it(`${mode}: the VPC host has an address in the subnet and a default route to the VPC router; nodes reach it by their connected route`, () => {
      const m = modeModel(mode)
      const p = compilePlan(m)
      const vm = memberLines(p, 'vpc-vm')
      expect(vm).toContain('addr add 192.168.50.200/24 dev eth0')
      expect(vm.at(-1)).toBe('route add default via 192.168.50.1 dev eth0')
      expect(memberLines(p, 'n0').some((x) => x.includes('192.168.50.200'))).toBe(false)
      expect(m.members.find((x) => x.name === 'vpc-vm')?.role).toMatch(/^VPC host/)
    })
  }
  it('parse: vpc must be a boolean', () => {
    expect(() => parseTopology('name: lab\nnodes: [{name: n0}]\nexternal: [{name: vm, vpc: yes}]\n')).toThrow(
      /external\[0\]\.vpc must be true/,
    )
  })
  it('an internet host in the underlay is refused, with the hint to say vpc: true', () => {
    expect(() => buildModel(parseTopology('name: lab\nnodes: [{name: n0}]\nexternal: [{name: vm, ip: 192.168.50.99}]\n'))).toThrow(
      /a VM in the VPC says vpc: true/,
    )
  })
})

describe('large labs: the VPC modes write every pod address a node or VPC host resolves', () => {
  it("aws-vpc 10 × 10: each node has a permanent entry per other node's pod (that node's MAC), and one per own pod on its cable", () => {
    const m = modeModel('aws-vpc', {nodes: 10, pods: 10})
    expect(neighbourEntries(m, {ptp: true, vpcPods: true})).toBeGreaterThan(128)
    const p = compilePlan(m)
    expect(p.phases.map((x) => x.id)).toContain('neighbours')
    const n0 = memberLines(p, 'n0').filter((x) => x.startsWith('neigh add') && !x.includes('proxy'))
    const other = m.nodes[1].pods[0]
    expect(n0).toContain(`neigh add ${other.ip} lladdr ${m.nodes[1].mac} dev eth0 nud permanent`)
    expect(n0).toContain(
      `neigh add ${m.nodes[0].pods[0].ip} lladdr ${m.nodes[0].pods[0].mac} dev ${m.nodes[0].pods[0].hostVeth} nud permanent`,
    )
    expect(n0.filter((x) => x.endsWith('dev eth0 nud permanent'))).toHaveLength(90 + 9 + 1 + 1 + 1) // others' pods, nodes, internet, VPC host, router
    expect(memberLines(p, 'vpc-vm').filter((x) => x.startsWith('neigh add'))).toHaveLength(100 + 10 + 1)
    expect(memberLines(p, 'n0-p0').filter((x) => x.startsWith('neigh add'))).toEqual([
      'neigh add 169.254.1.1 lladdr 0a:58:a9:fe:01:01 dev eth0 nud permanent',
    ])
  })
})

describe('the probe: VPC checks follow the mode', () => {
  const ends = (m: LabModel) => {
    const vm = externalEndpoint(m.external.find((e) => e.vpc)!)
    const pod = podEndpoint(m.nodes[0].pods[0])
    return {vm, pod, node: nodeEndpoint(m.nodes[0])}
  }
  for (const mode of ['aws-vpc', 'vpc-native']) {
    it(`${mode}: both ways, each side sees the other's own address, ipMasq on or off`, () => {
      for (const ipMasq of [true, false]) {
        const m = modeModel(mode, {ipMasq})
        const {vm, pod} = ends(m)
        expect(expectHttp(m, vm, pod)).toEqual({reply: true, seen: vm.ip})
        expect(expectHttp(m, pod, vm)).toEqual({reply: true, seen: pod.ip})
        expect(expectPing(m, pod, vm)).toEqual({reply: true})
        expect(notApplicable(m, 'vpc-pod-source')).toBeUndefined()
      }
      const m = modeModel(mode)
      const inet = externalEndpoint(m.external.find((e) => !e.vpc)!)
      expect(expectHttp(m, ends(m).pod, inet)).toEqual({reply: true, seen: m.nodes[0].ip}) // SNAT leaving the VPC
      expect(expectHttp(modeModel(mode, {ipMasq: false}), ends(m).pod, inet).reply).toBe(false)
    })
  }
  it("aws-vpc: a node reaches every pod from eth0's address (it has none on the cable)", () => {
    const m = modeModel('aws-vpc')
    expect(expectHttp(m, nodeEndpoint(m.nodes[0]), podEndpoint(m.nodes[0].pods[0]))).toEqual({reply: true, seen: m.nodes[0].ip})
  })
  it('host-gw and vxlan: VPC host → pod is not applicable; pod → VPC host is masqueraded, or unanswered without ipMasq', () => {
    for (const mode of ['host-gw', 'vxlan']) {
      const m = modeModel(mode)
      const {vm, pod} = ends(m)
      expect(notApplicable(m, 'vpc-pod-reach')).toMatch(/the VPC knows no pod address/)
      expect(notApplicable(m, 'pod-vpc-source')).toBeUndefined()
      expect(selectProbes(m).filter((x) => x.check === 'vpc-pod-reach')).toEqual([])
      expect(expectHttp(m, pod, vm)).toEqual({reply: true, seen: m.nodes[0].ip})
      expect(expectHttp(modeModel(mode, {ipMasq: false}), pod, vm).reply).toBe(false)
    }
  })
  it('routes: VPC host → pod through the VPC router; the pod is masqueraded towards it only with ipMasq on', () => {
    const m = modeModel('routes')
    const {vm, pod} = ends(m)
    expect(notApplicable(m, 'vpc-pod-reach')).toBeUndefined()
    expect(expectHttp(m, vm, pod)).toEqual({reply: true, seen: vm.ip})
    expect(expectHttp(m, pod, vm)).toEqual({reply: true, seen: m.nodes[0].ip})
    expect(expectHttp(modeModel('routes', {ipMasq: false}), pod, vm)).toEqual({reply: true, seen: pod.ip})
  })
  it('pods in the VPC subnet is a check of aws-vpc only; a lab without a VPC host has no VPC checks, reported as not applicable', () => {
    expect(notApplicable(modeModel('aws-vpc'), 'pod-in-vpc-subnet')).toBeUndefined()
    expect(notApplicable(modeModel('vpc-native'), 'pod-in-vpc-subnet')).toMatch(/not of the VPC subnet/)
    const plain = buildModel(loadTopologyFile(`${TOPOLOGIES}/three-node.yaml`))
    const report = reportOf(plain, 'all-pairs', ['vpc'], {probes: [], observations: new Map(), self: new Map()}, 1)
    expect(report.checks.map((c) => [c.id, c.passed, c.failed, !!c.notApplicable])).toEqual([
      ['vpc-pod-reach', 0, 0, true],
      ['vpc-pod-source', 0, 0, true],
      ['pod-vpc-reach', 0, 0, true],
      ['pod-vpc-source', 0, 0, true],
      ['pod-in-vpc-subnet', 0, 0, true],
    ])
    const text = renderReport(report)
    expect(text).toContain('– VPC host → pod (ping): not applicable')
    expect(text).not.toContain('✓')
  })
  it("pods in the VPC subnet is judged from what each pod's eth0 holds, not from the model", () => {
    const m = modeModel('aws-vpc')
    const self = new Map(allPods(m).map((p) => [p.name, {eth0: [p.ip]}]))
    self.set('n0-p0', {eth0: ['10.244.0.2']})
    const report = reportOf(m, 'all-pairs', sectionsFor(['vpc']), {probes: [], observations: new Map(), self}, 1)
    const check = report.checks.find((c) => c.id === 'pod-in-vpc-subnet')!
    expect([check.passed, check.failed]).toEqual([5, 1])
    expect(check.results.find((r) => !r.ok)?.detail).toBe('10.244.0.2 is outside the VPC subnet 192.168.50.0/24')
  })
})

describe('topologies for the VPC modes', () => {
  for (const [file, mode] of [
    ['aws-vpc.yaml', 'aws-vpc'],
    ['gke-vpc-native.yaml', 'vpc-native'],
  ]) {
    it(`${file}: ${mode}, a VPC host and an internet host, and a comment block to read first`, () => {
      const m = buildModel(loadTopologyFile(`${TOPOLOGIES}/${file}`))
      expect(m.routing).toBe(mode)
      expect(m.external.map((e) => e.vpc).sort()).toEqual([false, true])
    })
  }
})
