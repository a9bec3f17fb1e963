// netlab trace's model of what it cannot ask the kernel about: a frame a node's bridge forwards
// from one pod to another (and, with br_netfilter, the node's iptables it meets: FORWARD and nat
// POSTROUTING, in and out by the bridge, physdev matches), the MTU a full-size packet meets where
// it arrives, and --confirm's counts against the verdict. The snapshots are real ones
// (test/fixtures/trace/host-gw-web-1-web-0.json, read from a three-node lab with br_netfilter on
// the host; vxlan-web-0-db.json), each fault that snapshot changed the way `netlab break` does.
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {buildModel} from '../../src/compile/model.js'
import {loadTopologyFile} from '../../src/topology/parse.js'
import {decideBridged} from '../../src/trace/bridged.js'
import {contradiction} from '../../src/trace/confirm.js'
import {decideHop} from '../../src/trace/hop.js'
import {evaluate, parseSave} from '../../src/trace/iptables.js'
import {arrivalMtu, leaving} from '../../src/trace/mtu.js'
import type {Hop, Packet, Snapshot, TraceResult} from '../../src/trace/types.js'

const file = (p: string) => fileURLToPath(new URL(p, import.meta.url))
const model = buildModel(loadTopologyFile(file('../../topologies/three-node.yaml')))
const snaps = JSON.parse(readFileSync(file('../fixtures/trace/host-gw-web-1-web-0.json'), 'utf8')) as Record<string, Snapshot>
const vx = JSON.parse(readFileSync(file('../fixtures/trace/vxlan-web-0-db.json'), 'utf8')) as Record<string, Snapshot>
const snap = (name: string, change: (s: Snapshot) => void = () => {}, from = snaps): Snapshot => {
  const s = structuredClone(from[name])
  change(s)
  return s
}
const member = (name: string) => model.members.find((m) => m.name === name)!
const pkt: Packet = {src: '10.244.0.3', dst: '10.244.0.2', proto: 'icmp'}
/** node-0's hop for web-1's frame to web-0, from node-0's snapshot as changed */
const bridged = (change: (s: Snapshot) => void = () => {}) => {
  const d = decideHop({model, member: member('web-1'), snap: snap('web-1'), packet: pkt})
  return decideBridged(model, d.next!.bridge!, snap('node-0', change), d.packet)!
}
const forwardFirst = (rule: string) => (s: Snapshot) => {
  s.iptables = s.iptables.replace(':OUTPUT ACCEPT [0:0]\n[409', `:OUTPUT ACCEPT [0:0]\n${rule}\n[409`)
}

describe('a frame one pod sends another of its node, across the node’s bridge', () => {
  it('is bridged by node-0, port to port: the pod’s hop says so, the node’s hop is the bridge’s', () => {
    const d = decideHop({model, member: member('web-1'), snap: snap('web-1'), packet: pkt})
    expect(d.next).toMatchObject({
      member: {name: 'web-0'},
      bridge: {node: {name: 'node-0'}, bridge: 'cni0', inPort: 'veth-web-1', outPort: 'veth-web-0'},
    })
    const b = bridged()
    expect(b.hop).toMatchObject({member: 'node-0', in: 'veth-web-1', out: 'veth-web-0'})
    expect(b.hop.problem).toBeUndefined()
    expect(b.hop.text).toMatch(/^bridged across cni0 from port veth-web-1 to port veth-web-0 .*bridge-nf-call-iptables is 1 in node-0/)
    // the lab's own rules pass it: FORWARD's accept of the pod range, and no masquerade inside the pod range
    expect(b.hop.firewall).toBe('FORWARD rule 1: -A FORWARD -s 10.244.0.0/16 -j ACCEPT')
    expect(b.packet).toEqual(pkt)
  })

  it('with bridge-nf-call-iptables=1, meets FORWARD (in and out cni0): a stray DROP stops it there', () => {
    const b = bridged(forwardFirst('-A FORWARD -d 10.244.0.2/32 -j DROP'))
    expect(b.hop.problem).toMatchObject({kind: 'drop'})
    expect(b.hop.problem!.reason).toMatch(
      /^dropped by node-0's iptables FORWARD rule 1: -A FORWARD -d 10\.244\.0\.2\/32 -j DROP \(net\.bridge/,
    )
    // a rule on the interfaces sees the bridge both ways, as br_netfilter shows it
    expect(bridged(forwardFirst('-A FORWARD -i cni0 -o cni0 -j DROP')).hop.problem).toMatchObject({kind: 'drop'})
    expect(bridged(forwardFirst('-A FORWARD -i eth0 -j DROP')).hop.problem).toBeUndefined()
  })

  it('with bridge-nf-call-iptables=0, or br_netfilter not loaded, iptables never sees it', () => {
    for (const [nf, words] of [
      ['0', /bridge-nf-call-iptables is 0, so node-0's iptables does not see it/],
      ['', /br_netfilter is not loaded, so node-0's iptables does not see it/],
    ] as const) {
      const b = bridged((s) => {
        forwardFirst('-A FORWARD -d 10.244.0.2/32 -j DROP')(s)
        s.bridgeNf = nf
      })
      expect(b.hop.problem, nf).toBeUndefined()
      expect(b.hop.text).toMatch(words)
      expect(b.hop.firewall).toBeUndefined()
    }
  })

  it('meets nat POSTROUTING: a MASQUERADE of the pod subnet rewrites it to cni0’s address — NAT between pods', () => {
    const b = bridged((s) => {
      s.iptables = s.iptables.replace(
        ':POSTROUTING ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 10.244.0.0/24 -j MASQUERADE',
      )
    })
    expect(b.hop.problem).toMatchObject({kind: 'masquerade'})
    expect(b.hop.problem!.reason).toMatch(/node-0 masquerades 10\.244\.0\.3 → 10\.244\.0\.1 on the way to 10\.244\.0\.2 \(web-0\)/)
  })

  it('physdev: the ports it comes in and leaves by, and "is bridged" only for a bridged frame', () => {
    const tables = parseSave(
      [
        '*filter',
        ':FORWARD ACCEPT [0:0]',
        '-A FORWARD -m physdev --physdev-in veth-web-0 -j DROP',
        '-A FORWARD -m physdev --physdev-out veth-web+ --physdev-is-bridged -j REJECT',
        'COMMIT',
      ].join('\n'),
    )
    const at = (where: Parameters<typeof evaluate>[4]) => evaluate(tables, 'filter', 'FORWARD', pkt, where)!
    const frame = {iif: 'cni0', oif: 'cni0', physIn: 'veth-web-1', physOut: 'veth-web-0', bridged: true}
    expect(at(frame)).toMatchObject({verdict: 'drop', rule: {num: 2}})
    expect(at({...frame, physIn: 'veth-web-0'})).toMatchObject({verdict: 'drop', rule: {num: 1}})
    // routed (in by the bridge, out eth0): no way-out port, not bridged
    expect(at({iif: 'cni0', oif: 'eth0', physIn: 'veth-web-1'}).verdict).toBe('accept')
    const negated = parseSave('*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -m physdev ! --physdev-is-bridged -j DROP\nCOMMIT')
    expect(evaluate(negated, 'filter', 'FORWARD', pkt, frame)!.verdict).toBe('accept')
    expect(evaluate(negated, 'filter', 'FORWARD', pkt, {iif: 'cni0', oif: 'eth0'})!.verdict).toBe('drop')
  })
})

describe('a full-size packet and the MTUs it meets where it arrives', () => {
  const hop = (member: string, out: string): Hop => ({member, kind: 'node', out, src: '', text: ''})
  it('wrapped in VXLAN it is 50 bytes more on the underlay; a node whose underlay is smaller drops it on the way in', () => {
    const sent = leaving(hop('node-1', 'flannel.1'), vx['node-1'].links, undefined)!
    expect(sent).toMatchObject({size: 1450, wire: 1500})
    const small = snap('node-0', (s) => (s.links.find((l) => l.ifname === 'eth0')!.mtu = 1400), vx).links
    expect(arrivalMtu('node-0', small, 'flannel.1', true, sent)).toMatchObject({kind: 'mtu'})
    expect(arrivalMtu('node-0', small, 'flannel.1', true, sent)!.reason).toMatch(
      /^node-0's eth0 has MTU 1400, but node-1's eth0 \(wrapped in VXLAN\) sends full-size packets as 1500-byte frames/,
    )
    expect(arrivalMtu('node-0', vx['node-0'].links, 'flannel.1', true, sent)).toBeUndefined()
  })

  it('a router whose way out is smaller says so (ICMP): what goes on is the smallest way out so far, and fits', () => {
    const links = snap('node-0', (s) => (s.links.find((l) => l.ifname === 'eth0')!.mtu = 1400)).links
    const out = leaving(hop('node-0', 'eth0'), links, 1500)!
    expect(out).toMatchObject({size: 1400, wire: 1400})
    expect(arrivalMtu('node-1', [{ifname: 'eth0', mtu: 1400}], 'eth0', false, out)).toBeUndefined()
    expect(arrivalMtu('node-1', [{ifname: 'eth0', mtu: 1300}], 'eth0', false, out)).toMatchObject({kind: 'mtu'})
  })
})

describe('--confirm: counts that contradict the verdict change it', () => {
  const h = (member: string, inn?: string, out?: string): Hop => ({member, kind: 'pod', in: inn, out, src: '', text: ''})
  const arrives: TraceResult = {
    lab: 'x',
    from: 'web-1',
    to: 'web-0',
    packet: pkt,
    hops: [h('web-1', undefined, 'eth0'), h('node-0', 'veth-web-1', 'veth-web-0'), h('web-0', 'eth0')],
    delivered: true,
    summary: 'web-1 → web-0: arrives (web-1 → node-0 → web-0)',
  }
  it('0 packets where the packet should pass: it stops there', () => {
    expect(contradiction(arrives, [{out: 1}, {in: 1, out: 0}, {in: 0}], false)).toMatchObject({
      hop: 1,
      problem: {
        member: 'node-0',
        kind: 'unseen',
        reason: expect.stringMatching(/came in but never went out: node-0's veth-web-0 counted 0/),
      },
    })
    expect(contradiction(arrives, [{out: 1}, {in: 1, out: 2}, {in: 0}], false)).toMatchObject({hop: 2, problem: {member: 'web-0'}})
  })

  it('every hop counted (ARP counts too) but no reply: not "arrives" any more; counts and a reply that agree: no change', () => {
    const c = contradiction(arrives, [{out: 1}, {in: 1, out: 1}, {in: 1}], false)!
    expect(c.hop).toBeUndefined()
    expect(c.problem).toMatchObject({member: 'web-0', kind: 'unseen', reason: expect.stringMatching(/no reply/)})
    expect(contradiction(arrives, [{out: 1}, {in: 1, out: 1}, {in: 1}], true)).toBeUndefined()
    // a verdict that already stops: the counts past the stop say nothing more
    const stops = {
      ...arrives,
      delivered: false,
      hops: [arrives.hops[0], {...arrives.hops[1], problem: {kind: 'drop' as const, reason: 'r'}}],
    }
    expect(contradiction(stops, [{out: 1}, {in: 1}], false)).toBeUndefined()
  })
})
