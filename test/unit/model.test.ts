// The model: names and addresses decided from a topology (IPAM), and the IPv4 helpers under it.
import {describe, expect, it} from 'vitest'
import {TopologyError} from '../../src/topology/errors.js'
import {loadTopologyFile} from '../../src/topology/parse.js'
import {buildModel} from '../../src/compile/model.js'
import {Cidr, formatIPv4, hostAddressProblem, hostRangeProblem, parseCidr, parseIPv4} from '../../src/core/ipv4.js'
import {hostVethName, labOfNetns, netnsName, ownerMark} from '../../src/core/names.js'
import {allNetns, allPods} from '../../src/model/types.js'
import {THREE_NODE} from '../helpers/constants.js'
import {model} from '../helpers/model.js'

function cidr(text: string): Cidr {
  const c = parseCidr(text)
  if (typeof c === 'string') throw new Error(c)
  return c
}

describe('three-node.yaml', () => {
  const m = buildModel(loadTopologyFile(THREE_NODE))
  const node = (name: string) => m.nodes.find((n) => n.name === name)!

  it('keeps the cluster settings', () => {
    expect(m).toMatchObject({
      lab: 'three-node',
      routing: 'host-gw',
      ipMasq: true,
      podCIDR: '10.244.0.0/16',
      nodeSubnetSize: 24,
      underlay: '192.168.50.0/24',
    })
  })

  it('node-0 gets the first free underlay address from .10 and the first pod subnet', () => {
    expect(node('node-0')).toMatchObject({
      ip: '192.168.50.10',
      podCIDR: '10.244.0.0/24',
      gateway: '10.244.0.1',
      bridge: 'cni0',
      fabricPort: 'node-0',
    })
    expect(node('node-0').pods.map((p) => [p.name, p.ip])).toEqual([
      ['web-0', '10.244.0.2'],
      ['web-1', '10.244.0.3'],
    ])
  })

  it('node-1 keeps its fixed address, subnet and pod address', () => {
    expect(node('node-1')).toMatchObject({ip: '192.168.50.21', podCIDR: '10.244.9.0/24', gateway: '10.244.9.1'})
    expect(node('node-1').pods.map((p) => [p.name, p.ip])).toEqual([['db', '10.244.9.10']])
  })

  it('node-2 gets .12 and the third subnet, with counted pods named after it', () => {
    expect(node('node-2')).toMatchObject({ip: '192.168.50.12', podCIDR: '10.244.2.0/24', gateway: '10.244.2.1'})
    expect(node('node-2').pods.map((p) => [p.name, p.ip])).toEqual([
      ['node-2-p0', '10.244.2.2'],
      ['node-2-p1', '10.244.2.3'],
    ])
  })

  it('names every namespace netlab-<lab>.<name>', () => {
    expect(m.fabric).toEqual({netns: 'netlab-three-node.fabric', bridge: 'br0'})
    for (const n of m.nodes) expect(n.netns).toBe(`netlab-three-node.${n.name}`)
    for (const p of allPods(m)) expect(p.netns).toBe(`netlab-three-node.${p.name}`)
    expect(m.external).toEqual([
      {
        name: 'internet',
        netns: 'netlab-three-node.internet',
        ip: '203.0.113.10',
        mac: '0a:58:cb:00:71:0a',
        fabricPort: 'internet',
        segment: 0,
        vpc: false,
      },
    ])
    const all = allNetns(m)
    expect(all).toHaveLength(1 + 3 + 1 + 5)
    expect(new Set(all).size).toBe(all.length)
    for (const ns of all) expect(labOfNetns(ns)).toBe('three-node')
  })

  it('records which node each pod is on, and its veth on that node', () => {
    for (const n of m.nodes) for (const p of n.pods) expect(p.node).toBe(n.name)
    expect(node('node-0').pods.map((p) => p.hostVeth)).toEqual(['veth-web-0', 'veth-web-1'])
  })
})

describe('IPAM', () => {
  it('never moves a fixed subnet; automatic ones skip it', () => {
    // node-1 takes the subnet node-0 would have got; node-0 must go elsewhere.
    const m = model('name: lab\nnodes:\n  - name: node-0\n  - name: node-1\n    podCIDR: 10.244.0.0/24\n  - name: node-2\n')
    expect(m.nodes.map((n) => n.podCIDR)).toEqual(['10.244.1.0/24', '10.244.0.0/24', '10.244.2.0/24'])
  })

  it('skips fixed subnets further on', () => {
    const m = model('name: lab\nnodes:\n  - name: node-0\n  - name: node-1\n  - name: node-2\n    podCIDR: 10.244.1.0/24\n')
    expect(m.nodes.map((n) => n.podCIDR)).toEqual(['10.244.0.0/24', '10.244.2.0/24', '10.244.1.0/24'])
  })

  it('never moves a fixed node address; automatic ones skip it', () => {
    const m = model('name: lab\nnodes:\n  - name: node-0\n  - name: node-1\n    ip: 192.168.50.10\n')
    expect(m.nodes[1].ip).toBe('192.168.50.10')
    const ip0 = parseIPv4(m.nodes[0].ip)!
    expect(m.nodes[0].ip).not.toBe('192.168.50.10')
    expect(cidr('192.168.50.0/24').contains(ip0)).toBe(true)
    expect([parseIPv4('192.168.50.0'), parseIPv4('192.168.50.255')]).not.toContain(ip0)
  })

  it('never moves a fixed pod address; automatic ones skip it', () => {
    const m = model(
      'name: lab\nnodes:\n  - name: node-0\n    pods:\n      - a\n      - {name: b, ip: 10.244.0.2}\n      - c\n      - {name: d, ip: 10.244.0.4}\n      - e\n',
    )
    expect(m.nodes[0].pods.map((p) => [p.name, p.ip])).toEqual([
      ['a', '10.244.0.3'],
      ['b', '10.244.0.2'],
      ['c', '10.244.0.5'],
      ['d', '10.244.0.4'],
      ['e', '10.244.0.6'],
    ])
  })

  it('fills a node subnet exactly: a /29 holds 5 pods', () => {
    const m = model('name: lab\ncluster:\n  nodeSubnetSize: 29\nnodes:\n  - name: n\n    pods: 5\n')
    expect(m.nodes[0].podCIDR).toBe('10.244.0.0/29')
    expect(m.nodes[0].gateway).toBe('10.244.0.1')
    expect(m.nodes[0].pods.map((p) => p.ip)).toEqual(['10.244.0.2', '10.244.0.3', '10.244.0.4', '10.244.0.5', '10.244.0.6'])
  })

  it('fills a pod range exactly: a /23 holds two /24 nodes', () => {
    const m = model('name: lab\ncluster:\n  podCIDR: 10.244.0.0/23\nnodes:\n  - name: a\n  - name: b\n')
    expect(m.nodes.map((n) => n.podCIDR)).toEqual(['10.244.0.0/24', '10.244.1.0/24'])
  })

  it('gives every pod and node a distinct address in its range', () => {
    const m = model(
      'name: lab\ncluster:\n  nodeSubnetSize: 26\nnodes:\n' + Array.from({length: 8}, (_, i) => `  - name: n${i}\n    pods: 20\n`).join(''),
    )
    const ips = allPods(m).map((p) => p.ip)
    expect(new Set(ips).size).toBe(160)
    for (const n of m.nodes) {
      const sub = cidr(n.podCIDR)
      expect(sub.prefix).toBe(26)
      for (const p of n.pods) expect(sub.contains(parseIPv4(p.ip)!)).toBe(true)
    }
    expect(new Set(m.nodes.map((n) => n.ip)).size).toBe(8)
    expect(new Set(m.nodes.map((n) => n.podCIDR)).size).toBe(8)
  })

  it('gives external hosts without an address consecutive TEST-NET-3 ones', () => {
    const m = model('name: lab\nnodes:\n  - name: n\nexternal:\n  - name: a\n  - name: b\n    ip: 198.51.100.7\n  - name: c\n')
    expect(m.external.map((e) => e.ip)).toEqual(['203.0.113.10', '198.51.100.7', '203.0.113.12'])
  })

  it('reports problems as TopologyErrors pointing into the file', () => {
    const text = 'name: lab\nnodes:\n  - name: n\n    pods:\n      - {name: a, ip: 10.244.0.1}\n'
    expect(() => model(text)).toThrow(TopologyError)
    expect(() => model(text)).toThrow(/^test\.yaml:5:23: pod a ip 10\.244\.0\.1 is the gateway address/)
  })
})

describe('names', () => {
  it('netns names and the lab they belong to', () => {
    expect(netnsName('lab', 'node-0')).toBe('netlab-lab.node-0')
    expect(labOfNetns('netlab-lab.node-0')).toBe('lab')
    expect(labOfNetns('netlab-my-lab.fabric')).toBe('my-lab')
    for (const other of ['netlab-lab', 'lab.node-0', 'netlab-.x', 'netlab-Lab.x', 'netlab-lab.x/y', 'cni-1234', 'xnetlab-lab.a'])
      expect(labOfNetns(other), other).toBeUndefined()
    expect(ownerMark('lab')).toBe('netlab:lab')
    expect(ownerMark('lab', '/tmp/my state')).toBe('netlab:lab@/tmp/my_state')
  })

  it('host veth names fit in 15 characters and stay distinct', () => {
    expect(hostVethName('web-0')).toBe('veth-web-0')
    expect(hostVethName('abcdefghij')).toBe('veth-abcdefghij')
    const long = hostVethName('abcdefghijk')
    expect(long).toMatch(/^veth[0-9a-f]{11}$/)
    expect(hostVethName('abcdefghijk')).toBe(long)
    expect(hostVethName('abcdefghijl')).not.toBe(long)
    expect(hostVethName('x'.repeat(40)).length).toBeLessThanOrEqual(15)
  })
})

describe('parseIPv4 / formatIPv4', () => {
  it('reads dotted quads as unsigned 32-bit numbers', () => {
    expect(parseIPv4('0.0.0.0')).toBe(0)
    expect(parseIPv4('10.244.0.1')).toBe(0x0af40001)
    expect(parseIPv4('255.255.255.255')).toBe(0xffffffff)
    expect(parseIPv4('192.168.50.10')).toBe(3232248330)
  })

  it('rejects everything else', () => {
    for (const bad of [
      '1.2.3',
      '256.1.1.1',
      '1.2.3.256',
      '01.2.3.4',
      '1.2.3.04',
      ' 1.2.3.4',
      '1.2.3.4 ',
      '1.2.3.4\n',
      '1.2.3.4.5',
      '1..2.3',
      '',
      '-1.2.3.4',
      '0x1.2.3.4',
      '1.2.3.4/32',
      'a.b.c.d',
      '１.2.3.4',
    ]) {
      expect(parseIPv4(bad), JSON.stringify(bad)).toBeUndefined()
    }
  })

  it('formats back to the same text', () => {
    for (const ip of ['0.0.0.0', '10.244.0.1', '192.168.50.255', '255.255.255.255', '128.0.0.1'])
      expect(formatIPv4(parseIPv4(ip)!)).toBe(ip)
  })
})

describe('parseCidr', () => {
  it('reads network/prefix', () => {
    const c = cidr('10.244.0.0/16')
    expect([c.base, c.prefix, c.size]).toEqual([parseIPv4('10.244.0.0'), 16, 65536])
    expect(c.toString()).toBe('10.244.0.0/16')
    expect(formatIPv4(c.last)).toBe('10.244.255.255')
    expect(cidr('0.0.0.0/0').size).toBe(2 ** 32)
    expect(cidr('10.0.0.1/32').size).toBe(1)
  })

  it('rejects what is not a CIDR, saying why', () => {
    expect(parseCidr('10.244.0.0')).toMatch(/is not a CIDR/)
    expect(parseCidr('10.244.0.0/')).toMatch(/is not a CIDR/)
    expect(parseCidr('10.244.0.0/8/8')).toMatch(/is not a CIDR/)
    expect(parseCidr('10.244.0.0/x')).toMatch(/is not a CIDR/)
    expect(parseCidr('10.244.0.0/-1')).toMatch(/is not a CIDR/)
    expect(parseCidr('10.244.0.0/33')).toMatch(/prefix length must be 0 to 32/)
    expect(parseCidr('10.244.0/16')).toMatch(/"10\.244\.0" is not an IPv4 address/)
    expect(parseCidr('300.0.0.0/8')).toMatch(/is not an IPv4 address/)
  })

  it('rejects host bits set and suggests the network', () => {
    expect(parseCidr('10.244.1.0/16')).toBe('"10.244.1.0/16" has host bits set; did you mean 10.244.0.0/16?')
    expect(parseCidr('192.168.50.10/24')).toMatch(/did you mean 192\.168\.50\.0\/24\?/)
    expect(parseCidr('10.0.0.1/31')).toMatch(/did you mean 10\.0\.0\.0\/31\?/)
  })
})

describe('addresses a host can hold (hostAddressProblem, hostRangeProblem)', () => {
  const ip = (text: string) => hostAddressProblem(parseIPv4(text)!)

  it('refuses each special block from its first to its last address, and nothing either side', () => {
    const blocks: [string, string, string, string, RegExp][] = [
      // before, first, last, after, what
      ['', '0.0.0.0', '0.255.255.255', '1.0.0.0', /"this network" \(0\.0\.0\.0\/8\)/],
      ['126.255.255.255', '127.0.0.0', '127.255.255.255', '128.0.0.0', /loopback \(127\.0\.0\.0\/8\)/],
      ['169.253.255.255', '169.254.0.0', '169.254.255.255', '169.255.0.0', /link-local \(169\.254\.0\.0\/16\)/],
      ['223.255.255.255', '224.0.0.0', '239.255.255.255', '', /multicast \(224\.0\.0\.0\/4\)/],
      ['', '240.0.0.0', '255.255.255.254', '', /reserved \(240\.0\.0\.0\/4\)/],
    ]
    for (const [before, first, last, after, what] of blocks) {
      if (before) expect(ip(before), before).toBeUndefined()
      expect(ip(first), first).toMatch(what)
      expect(ip(last), last).toMatch(what)
      if (after) expect(ip(after), after).toBeUndefined()
    }
    expect(ip('255.255.255.255')).toBe('is the broadcast address 255.255.255.255, not an address a host can hold')
    for (const ok of ['10.244.0.5', '192.168.50.10', '203.0.113.10', '100.64.0.1', '172.16.0.1']) expect(ip(ok), ok).toBeUndefined()
  })

  it('refuses a range that is or overlaps one, and takes the private and documentation ranges', () => {
    expect(hostRangeProblem(cidr('224.0.0.0/8'))).toBe('is multicast (224.0.0.0/4): hosts cannot hold its addresses')
    expect(hostRangeProblem(cidr('96.0.0.0/3'))).toBe('overlaps loopback (127.0.0.0/8): hosts cannot hold its addresses')
    expect(hostRangeProblem(cidr('0.0.0.0/0'))).toMatch(/^overlaps "this network"/)
    expect(hostRangeProblem(cidr('128.0.0.0/1'))).toMatch(/^overlaps link-local/)
    expect(hostRangeProblem(cidr('255.255.255.255/32'))).toMatch(/^is the broadcast address/)
    for (const ok of [
      '10.0.0.0/8',
      '172.16.0.0/12',
      '192.168.0.0/16',
      '100.64.0.0/10',
      '198.51.100.0/24',
      '1.0.0.0/8',
      '126.0.0.0/8',
      '128.0.0.0/3',
    ])
      expect(hostRangeProblem(cidr(ok)), ok).toBeUndefined()
  })

  it("leaves netlab's own choices alone: aws-vpc's pods still get the gateway 169.254.1.1", () => {
    const m = model('name: lab\ncluster:\n  routing: aws-vpc\nnodes:\n  - name: a\n    pods: 2\n')
    expect(m.nodes[0].gateway).toBe('169.254.1.1')
    expect(m.nodes[0].pods.map((p) => hostAddressProblem(parseIPv4(p.ip)!))).toEqual([undefined, undefined])
  })
})

describe('Cidr', () => {
  const pods = cidr('10.244.0.0/16')
  const a = cidr('10.244.3.0/24')
  const b = cidr('10.244.4.0/24')

  it('covers: the whole of the other is inside', () => {
    expect(pods.covers(a)).toBe(true)
    expect(a.covers(pods)).toBe(false)
    expect(a.covers(a)).toBe(true)
    expect(a.covers(b)).toBe(false)
    expect(pods.covers(cidr('10.245.0.0/24'))).toBe(false)
    expect(pods.covers(cidr('10.244.0.0/15'))).toBe(false)
  })

  it('overlaps: symmetric, and false for neighbours', () => {
    expect(pods.overlaps(a)).toBe(true)
    expect(a.overlaps(pods)).toBe(true)
    expect(a.overlaps(a)).toBe(true)
    expect(a.overlaps(b)).toBe(false)
    expect(b.overlaps(a)).toBe(false)
    expect(cidr('10.243.255.0/24').overlaps(pods)).toBe(false)
    expect(cidr('10.245.0.0/24').overlaps(pods)).toBe(false)
    expect(cidr('0.0.0.0/0').overlaps(a)).toBe(true)
  })

  it('contains: first and last address are inside', () => {
    expect(a.contains(parseIPv4('10.244.3.0')!)).toBe(true)
    expect(a.contains(parseIPv4('10.244.3.255')!)).toBe(true)
    expect(a.contains(parseIPv4('10.244.4.0')!)).toBe(false)
    expect(a.contains(parseIPv4('10.244.2.255')!)).toBe(false)
  })

  it('subnet: the k-th subnet of a size', () => {
    expect(pods.subnet(24, 0).toString()).toBe('10.244.0.0/24')
    expect(pods.subnet(24, 9).toString()).toBe('10.244.9.0/24')
    expect(pods.subnet(26, 5).toString()).toBe('10.244.1.64/26')
    expect(pods.subnet(24, 255).toString()).toBe('10.244.255.0/24')
  })
})
