// netlab trace's pure part: the iptables walk over an iptables-save dump, and one hop decided
// from a namespace snapshot. The snapshots are real ones (test/fixtures/trace, read from a
// three-node-vxlan lab along web-0 → db, trimmed); each fault is that snapshot with one thing
// changed the way `netlab break` changes the kernel.
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {buildModel} from '../../src/compile/model.js'
import type {LabModel} from '../../src/model/types.js'
import {loadTopologyFile} from '../../src/topology/parse.js'
import {arrivalInterface, decideHop, onLink} from '../../src/trace/hop.js'
import {evaluate, parseSave, words} from '../../src/trace/iptables.js'
import {countedText, parseCounters} from '../../src/trace/confirm.js'
import {renderTrace} from '../../src/trace/render.js'
import type {Packet, Snapshot} from '../../src/trace/types.js'

const file = (p: string) => fileURLToPath(new URL(p, import.meta.url))
const vxlan = buildModel(loadTopologyFile(file('../../topologies/three-node-vxlan.yaml')))
const aws = buildModel(loadTopologyFile(file('../../topologies/aws-vpc.yaml')))
const policy = buildModel(loadTopologyFile(file('../../topologies/policy-three-tier.yaml')))
const snaps = JSON.parse(readFileSync(file('../fixtures/trace/vxlan-web-0-db.json'), 'utf8')) as Record<string, Snapshot>
const snap = (name: string, change: (s: Snapshot) => void = () => {}): Snapshot => {
  const s = structuredClone(snaps[name])
  change(s)
  return s
}
const member = (model: LabModel, name: string) => model.members.find((m) => m.name === name)!
const pkt: Packet = {src: '10.244.0.2', dst: '10.244.9.10', proto: 'icmp'}
const hop = (name: string, iif: string | undefined, s: Snapshot, packet = pkt, model = vxlan) =>
  decideHop({model, member: member(model, name), snap: s, packet, iif})

describe('iptables: the rule that decides', () => {
  const dump = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD DROP [0:0]',
    ':NETLAB-POLICY - [0:0]',
    ':NETLAB-IN-db - [0:0]',
    '[3:180] -A FORWARD -j NETLAB-POLICY',
    '[9:540] -A FORWARD -s 10.244.0.0/16 -j ACCEPT',
    '-A NETLAB-POLICY -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    '-A NETLAB-POLICY -d 10.244.9.10/32 -j NETLAB-IN-db',
    '-A NETLAB-IN-db -s 10.244.0.2/32 -p tcp -m tcp --dport 5432 -m comment --comment "allow-web ingress rule 1" -j RETURN',
    '-A NETLAB-IN-db -m comment --comment "isolated by allow-web" -j REJECT --reject-with icmp-admin-prohibited',
    'COMMIT',
    '*nat',
    ':POSTROUTING ACCEPT [0:0]',
    '-A POSTROUTING -s 10.244.0.0/24 ! -d 10.244.0.0/16 -j MASQUERADE',
    'COMMIT',
  ].join('\n')
  const tables = parseSave(dump)

  it('splits quoted words as iptables-save writes them', () => {
    expect(words('-A X -m comment --comment "a \\"b\\" c" -j ACCEPT')).toEqual([
      '-A',
      'X',
      '-m',
      'comment',
      '--comment',
      'a "b" c',
      '-j',
      'ACCEPT',
    ])
    expect(tables.get('filter')!.chains.get('FORWARD')![0].packets).toBe(3)
  })

  it('follows jumps and RETURN, and names the policy rule that rejects', () => {
    const denied = evaluate(tables, 'filter', 'FORWARD', pkt, {iif: 'eth0', oif: 'cni0'})!
    expect(denied.verdict).toBe('drop')
    expect(denied.path).toEqual(['FORWARD', 'NETLAB-POLICY', 'NETLAB-IN-db'])
    expect(denied.comment).toBe('isolated by allow-web')
    const allowed = evaluate(tables, 'filter', 'FORWARD', {...pkt, proto: 'tcp', port: 5432}, {iif: 'eth0', oif: 'cni0'})!
    expect(allowed).toMatchObject({verdict: 'accept', path: ['FORWARD']})
    expect(allowed.rule!.num).toBe(2)
    // another port of the same pod: rejected again
    expect(evaluate(tables, 'filter', 'FORWARD', {...pkt, proto: 'tcp', port: 80}, {})!.verdict).toBe('drop')
  })

  it('falls to the chain policy, and reads negated matches', () => {
    expect(evaluate(tables, 'filter', 'FORWARD', {src: '192.168.50.9', dst: '192.168.50.10', proto: 'icmp'}, {})).toMatchObject({
      verdict: 'drop',
      path: ['FORWARD'],
    })
    expect(evaluate(tables, 'nat', 'POSTROUTING', {...pkt, dst: '203.0.113.10'}, {})!.verdict).toBe('masquerade')
    expect(evaluate(tables, 'nat', 'POSTROUTING', pkt, {})!.verdict).toBe('accept')
    expect(evaluate(tables, 'mangle', 'FORWARD', pkt, {})).toBeUndefined()
  })
})

describe('one hop, from a real vxlan lab', () => {
  it('walks web-0 → node-0 → (overlay) node-1 → db on the healthy lab', () => {
    const a = hop('web-0', undefined, snap('web-0'))
    expect(a.next).toMatchObject({member: {name: 'node-0'}, via: '10.244.0.1'})
    expect(arrivalInterface(a.next!, snaps['node-0'].links)).toBe('cni0')
    const b = hop('node-0', 'cni0', snap('node-0'))
    expect(b.hop).toMatchObject({out: 'flannel.1', via: '10.244.9.0', next: 'node-1'})
    expect(b.hop.problem).toBeUndefined()
    expect(b.next).toMatchObject({member: {name: 'node-1'}, via: '192.168.50.21', overlay: true})
    expect(arrivalInterface(b.next!, snaps['node-1'].links)).toBe('flannel.1')
    const c = hop('node-1', 'flannel.1', snap('node-1'))
    expect(c.next).toMatchObject({member: {name: 'db'}, via: '10.244.9.10'})
    const d = hop('db', 'eth0', snap('db'))
    expect(d.delivered).toBe(true)
  })

  it('names each fault at its hop', () => {
    const cases: [string, (s: Snapshot) => void, string, RegExp][] = [
      ['forwarding-off', (s) => (s.ipForward = '0'), 'forwarding-off', /ip_forward is 0/],
      [
        'no route',
        (s) => (s.route = {error: 'Network is unreachable'}),
        'no-route',
        /no route to 10\.244\.9\.10 \(Network is unreachable\)/,
      ],
      [
        'stray drop',
        (s) => (s.iptables = s.iptables.replace(':FORWARD DROP [0:0]', ':FORWARD DROP [0:0]\n-A FORWARD -d 10.244.9.10/32 -j DROP')),
        'drop',
        /FORWARD rule 1: -A FORWARD -d 10\.244\.9\.10\/32 -j DROP/,
      ],
      [
        'masquerade',
        (s) =>
          (s.iptables = s.iptables.replace(
            ':POSTROUTING ACCEPT [0:0]',
            ':POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 10.244.0.0/24 -j MASQUERADE',
          )),
        'masquerade',
        /masquerades 10\.244\.0\.2 → 10\.244\.0\.0/,
      ],
      [
        'missing fdb',
        (s) => (s.fdb = s.fdb.filter((f) => f.dst !== '192.168.50.21')),
        'no-fdb',
        /no forwarding-database entry for 0a:58:0a:f4:09:00/,
      ],
      [
        'missing neighbour',
        (s) => (s.neigh = s.neigh.filter((n) => n.dst !== '10.244.9.0')),
        'no-neighbour',
        /no neighbour entry for 10\.244\.9\.0 on flannel\.1/,
      ],
      ['underlay MTU', (s) => (s.links.find((l) => l.ifname === 'eth0')!.mtu = 1400), 'mtu', /MTU 1450.*1500 bytes, more than eth0's 1400/],
    ]
    for (const [what, change, kind, reason] of cases) {
      const d = hop('node-0', 'cni0', snap('node-0', change))
      expect(d.hop.problem?.kind, what).toBe(kind)
      expect(d.hop.problem?.reason, what).toMatch(reason)
      // only a too-large MTU lets the (small) packet go on
      expect(d.next !== undefined, what).toBe(kind === 'mtu')
    }
  })

  it('renders the hops and where it stops', () => {
    const d = hop(
      'node-0',
      'cni0',
      snap('node-0', (s) => (s.ipForward = '0')),
    )
    const text = renderTrace({
      lab: 'x',
      from: 'web-0',
      to: 'db',
      packet: pkt,
      hops: [d.hop],
      delivered: false,
      summary: 'web-0 → db: stops at node-0',
    })
    expect(text).toMatch(/1\. node-0 \(node\), in by cni0\n {3}✗ stops here: node-0 does not forward/)
  })
})

describe('links and proxy ARP (by the model)', () => {
  it('knows who is on a link', () => {
    expect([...onLink(vxlan, member(vxlan, 'node-0'), 'cni0')!].sort()).toEqual(['web-0', 'web-1'])
    expect(onLink(vxlan, member(vxlan, 'node-0'), 'eth0')!.has('internet')).toBe(true)
    expect(onLink(vxlan, member(vxlan, 'web-0'), 'eth0')!.has('node-0')).toBe(true)
  })

  it('aws-vpc: a pod address on the underlay is answered by its node, and a node without the pod route sends it back', () => {
    const links = [{ifname: 'eth0', mtu: 1500, addr_info: [{family: 'inet', local: '192.168.50.10', prefixlen: 24}]}]
    const base: Snapshot = {links, route: [{dst: '192.168.50.30', dev: 'eth0'}], neigh: [], fdb: [], iptables: '', ipForward: '1'}
    const p: Packet = {src: '192.168.50.22', dst: '192.168.50.30', proto: 'icmp'}
    const d = hop('node-0', 'veth-web-0', base, p, aws)
    expect(d.next).toMatchObject({member: {name: 'node-1'}, dev: 'eth0'})
    expect(d.hop.text).toMatch(/node-1 answers for its pod \(proxy ARP\)/)
    const back = hop('node-1', 'eth0', {...base, links: [{ifname: 'eth0', addr_info: [{local: '192.168.50.21'}]}]}, p, aws)
    expect(back.hop.problem).toMatchObject({kind: 'no-route'})
    expect(back.hop.problem!.reason).toMatch(/route to its pod is missing/)
  })
})

describe('a lab wired for policies', () => {
  const ip = (name: string) => policy.members.find((m) => m.name === name)!.ips[0]
  it('routes same-node pods through their node, and names the policy that rejects', () => {
    const p: Packet = {src: ip('frontend-0'), dst: ip('api-0'), proto: 'icmp'}
    const links = [{ifname: 'eth0', addr_info: [{local: p.src}]}]
    const d = hop(
      'frontend-0',
      undefined,
      {links, route: [{dst: p.dst, dev: 'eth0'}], neigh: [], fdb: [], iptables: '', ipForward: '0'},
      p,
      policy,
    )
    expect(d.next).toMatchObject({member: {name: 'node-0'}, dev: 'cni0'})
    const dump = [
      '*filter',
      ':FORWARD DROP [0:0]',
      ':NETLAB-POLICY - [0:0]',
      ':NETLAB-OUT-frontend-0 - [0:0]',
      '-A FORWARD -j NETLAB-POLICY',
      `-A NETLAB-POLICY -s ${p.src}/32 -j NETLAB-OUT-frontend-0`,
      '-A NETLAB-OUT-frontend-0 -m comment --comment "isolated by frontend-egress" -j REJECT --reject-with icmp-admin-prohibited',
      'COMMIT',
    ].join('\n')
    const nodeLinks = [{ifname: 'cni0', addr_info: [{local: '10.244.0.1'}]}]
    const snapshot = {links: nodeLinks, route: [{dst: p.dst, dev: 'cni0'}], neigh: [], fdb: [], iptables: dump, ipForward: '1'}
    const n = hop('node-0', 'cni0', snapshot, p, policy)
    expect(n.hop.problem).toMatchObject({kind: 'drop'})
    expect(n.hop.problem!.reason).toBe(
      `rejected by a network policy: node-0's iptables FORWARD → NETLAB-POLICY → NETLAB-OUT-frontend-0 rule 1, "isolated by frontend-egress"`,
    )
  })
})

describe('--confirm: counters before and after one ping', () => {
  const stats = (rx: number, tx: number) =>
    JSON.stringify([
      {ifname: 'cni0', stats64: {rx: {packets: rx}, tx: {packets: 0}}},
      {ifname: 'eth0', stats64: {rx: {packets: 0}, tx: {packets: tx}}},
    ])
  it('counts in by the way in, out by the way out, and nothing out where the packet stops', () => {
    const h = {member: 'node-0', kind: 'node', in: 'cni0', out: 'eth0', src: 'x', text: ''}
    expect(countedText(h, parseCounters(stats(5, 7)), parseCounters(stats(6, 8)))).toBe('in by cni0: 1 packet, out eth0: 1 packet')
    const stopped = {...h, problem: {kind: 'no-route' as const, reason: 'r'}}
    expect(countedText(stopped, parseCounters(stats(5, 7)), parseCounters(stats(7, 7)))).toBe('in by cni0: 2 packets')
    expect(parseCounters('not json').size).toBe(0)
  })
})
