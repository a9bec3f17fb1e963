// netlab trace through a Service: kube-proxy's DNAT read from a node's nat table, the endpoint
// chosen (statistic, recent), the masquerade it marks (KUBE-MARK-MASQ → KUBE-POSTROUTING), the
// REJECT/DROP of a Service without (local) endpoints, and hairpin. The rules are real:
// test/fixtures/trace/services-node-{0,1}.save are `iptables-save -c` of kube-proxy's rules for
// test/fixtures/trace/services.yaml, written by hand as kube-proxy writes them into a scratch
// namespace and read back from the kernel.
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {buildModel} from '../../src/compile/model.js'
import {loadTopologyFile} from '../../src/topology/parse.js'
import {decideHop} from '../../src/trace/hop.js'
import {evaluate, parseSave} from '../../src/trace/iptables.js'
import {destinationNat, parseRecent, replyVerdict, translationText, unreadTranslation} from '../../src/trace/nat.js'
import {connectionSeen, dnatCounts} from '../../src/trace/confirm.js'
import {renderTrace} from '../../src/trace/render.js'
import type {Hop, IpLink, Packet, RouteGet, Snapshot, TraceResult} from '../../src/trace/types.js'

const file = (p: string) => fileURLToPath(new URL(p, import.meta.url))
const model = buildModel(loadTopologyFile(file('../fixtures/trace/services.yaml')))
const rules = (node: string) => readFileSync(file(`../fixtures/trace/services-${node}.save`), 'utf8')
const member = (name: string) => model.members.find((m) => m.name === name)!

const SVC_WEB = 'KUBE-SVC-CDGGSHYLG3RE2FKL'
const SEP_WEB_0 = 'KUBE-SEP-QA4PSDNF5R2OJOPA'
const SEP_WEB_1 = 'KUBE-SEP-UIQK3OSOSTRHRPBX'
const SEP_API = 'KUBE-SEP-N6X4OLJSYPITHTVB'

/** A node's links as `ip -j -d addr show` prints them: eth0, the bridge, its pods' ports (hairpin on). */
function links(node: string, hairpin = true): IpLink[] {
  const n = model.nodes.find((x) => x.name === node)!
  return [
    {ifname: 'lo', addr_info: [{family: 'inet', local: '127.0.0.1', prefixlen: 8}]},
    {ifname: 'eth0', mtu: 1500, addr_info: [{family: 'inet', local: n.ip, prefixlen: 24}]},
    {ifname: 'cni0', mtu: 1500, linkinfo: {info_kind: 'bridge'}, addr_info: [{family: 'inet', local: n.gateway, prefixlen: 24}]},
    ...n.pods.map((p) => ({
      ifname: p.hostVeth,
      master: 'cni0',
      linkinfo: {info_kind: 'veth', info_slave_data: {hairpin}},
    })),
  ]
}

function snap(node: string, route: RouteGet[], change: Partial<Snapshot> = {}): Snapshot {
  return {links: links(node), route, neigh: [], fdb: [], iptables: rules(node), ipForward: '1', bridgeNf: '1', ...change}
}

const pod = (name: string) => model.nodes.flatMap((n) => n.pods).find((p) => p.name === name)!
const client = pod('client').ip
const toWeb: Packet = {src: client, dst: '10.96.0.10', proto: 'tcp', port: 80}

describe('kube-proxy DNAT, read from the nat table', () => {
  it('a pod to a ClusterIP: KUBE-SERVICES → KUBE-SVC → KUBE-SEP DNAT, the endpoint chosen at random, no masquerade', () => {
    const t = destinationNat(snap('node-0', []), toWeb, 'cni0')!
    expect(t.path).toEqual(['PREROUTING', 'KUBE-SERVICES', SVC_WEB, SEP_WEB_0])
    expect(t.packet).toMatchObject({src: client, dst: '10.244.0.2', port: 8080})
    expect(t.service).toBe('default/web:http')
    expect(t.how).toBe('random')
    expect(t.candidates).toEqual([
      {chain: SEP_WEB_0, to: '10.244.0.2:8080', probability: 0.5, ruleProbability: 0.5},
      {chain: SEP_WEB_1, to: '10.244.1.2:8080', probability: 0.5},
    ])
    // the pod's own address is kept: nothing marked it (KUBE-SVC's masquerade rule is for sources outside 10.244.0.0/16)
    expect(t.mark).toBe(0)
    expect(t.masquerade).toBeUndefined()
    const text = translationText(t).join('\n')
    expect(text).toContain(`nat PREROUTING → KUBE-SERVICES → ${SVC_WEB} → ${SEP_WEB_0} rule 2: DNAT to 10.244.0.2:8080`)
    expect(text).toContain('chosen at random')
    expect(text).toContain('10.244.0.2:8080 (--probability 0.5 → 50%), 10.244.1.2:8080 (the rest → 50%)')
  })

  it('follows the endpoint asked for; another port or address is not translated', () => {
    expect(destinationNat(snap('node-0', []), toWeb, 'cni0', '10.244.1.2')!.path.at(-1)).toBe(SEP_WEB_1)
    expect(destinationNat(snap('node-0', []), toWeb, 'cni0', SEP_WEB_1)!.packet.dst).toBe('10.244.1.2')
    expect(destinationNat(snap('node-0', []), {...toWeb, port: 81}, 'cni0')).toBeUndefined()
    expect(destinationNat(snap('node-0', []), {...toWeb, dst: '10.244.1.2', port: 8080}, 'cni0')).toBeUndefined()
    // a reply is conntrack's to translate back, not the rules'
    expect(destinationNat(snap('node-0', []), {...toWeb, established: true}, 'cni0')).toBeUndefined()
  })

  it('the node itself to a ClusterIP: nat OUTPUT, marked for masquerade (its address is outside the pod range)', () => {
    const t = destinationNat(snap('node-0', []), {...toWeb, src: '192.168.50.10'}, undefined)!
    expect(t.path[0]).toBe('OUTPUT')
    expect(t.mark).toBe(0x4000)
    expect(t.masquerade).toMatchObject({chain: SVC_WEB})
    expect(t.masquerade!.why).toContain('outside the cluster')
  })

  it('a node port with externalTrafficPolicy Cluster: KUBE-NODEPORTS → KUBE-EXT, always masqueraded', () => {
    const t = destinationNat(snap('node-1', []), {src: '203.0.113.10', dst: '192.168.50.11', proto: 'tcp', port: 30080}, 'eth0')!
    expect(t.path.slice(0, 4)).toEqual(['PREROUTING', 'KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-EXT-OHG5BTLVKGCWAOXS'])
    expect(t.path.at(-2)).toBe('KUBE-SVC-OHG5BTLVKGCWAOXS')
    expect(t.mark).toBe(0x4000)
    expect(t.masquerade!.chain).toBe('KUBE-EXT-OHG5BTLVKGCWAOXS')
    expect(t.masquerade!.why).toContain('externalTrafficPolicy Cluster')
  })

  it('externalTrafficPolicy Local: the node with the endpoint keeps the client address (KUBE-SVL); the other drops', () => {
    const np: Packet = {src: '203.0.113.10', dst: '192.168.50.11', proto: 'tcp', port: 30443}
    const t = destinationNat(snap('node-1', []), np, 'eth0')!
    expect(t.path).toEqual([
      'PREROUTING',
      'KUBE-SERVICES',
      'KUBE-NODEPORTS',
      'KUBE-EXT-BL4VTDSJDQ5TV32O',
      'KUBE-SVL-BL4VTDSJDQ5TV32O',
      SEP_API,
    ])
    expect(t.masquerade).toBeUndefined()
    // node-0 has no endpoint of api: no DNAT, the packet is for node-0 itself, and kube-proxy's filter rule drops it
    const at0 = {...np, dst: '192.168.50.10'}
    expect(destinationNat(snap('node-0', []), at0, 'eth0')).toBeUndefined()
    const d = decideHop({model, member: member('node-0'), snap: snap('node-0', []), packet: at0, iif: 'eth0'})
    expect(d.hop.problem?.kind).toBe('drop')
    expect(d.hop.problem!.reason).toMatch(/^dropped by kube-proxy: node-0's iptables INPUT → KUBE-EXTERNAL-SERVICES rule 1/)
    expect(d.hop.problem!.reason).toContain('externalTrafficPolicy Local and no endpoint on node-0')
  })

  it('ClientIP affinity: a client in the endpoint’s recent list goes there again (recent --rcheck)', () => {
    const toApi: Packet = {src: client, dst: '10.96.0.11', proto: 'tcp', port: 443}
    const recent = `/proc/net/xt_recent/${SEP_API}:src=${client} ttl: 64 last_seen: 4295 oldest_pkt: 1 4295\n`
    expect(parseRecent(recent).get(SEP_API)).toEqual(new Set([client]))
    const seen = destinationNat(snap('node-0', [], {recent}), toApi, 'cni0')!
    expect(seen.how).toBe('affinity')
    expect(seen.affinitySeconds).toBe(10800)
    expect(translationText(seen).join('\n')).toContain(`${client} is in ${SEP_API}'s recent list`)
    const fresh = destinationNat(snap('node-0', []), toApi, 'cni0')!
    expect(fresh.how).toBe('only')
    expect(fresh.path.at(-1)).toBe(SEP_API)
  })
})

describe('the hop that translates', () => {
  const routeTo = (dst: string, dev: string): RouteGet[] => [{dst, dev, prefsrc: dev === 'cni0' ? '10.244.0.1' : '192.168.50.10'}]

  it('is decided for the translated packet: routed to the endpoint, its source kept', () => {
    const t = destinationNat(snap('node-0', []), toWeb, 'cni0', SEP_WEB_1)!
    const route: RouteGet[] = [{dst: '10.244.1.2', gateway: '192.168.50.11', dev: 'eth0', prefsrc: '192.168.50.10'}]
    const d = decideHop({model, member: member('node-0'), snap: snap('node-0', route), packet: toWeb, iif: 'cni0', translation: t})
    expect(d.hop.problem).toBeUndefined()
    expect(d.hop.translation).toBe(t)
    expect(d.packet).toMatchObject({src: client, dst: '10.244.1.2', port: 8080})
    expect(d.next?.member.name).toBe('node-1')
  })

  it('hairpin: the endpoint is the client; kube-proxy masquerades it (no fault), and the bridge must hairpin', () => {
    const self: Packet = {src: pod('web-0').ip, dst: '10.96.0.10', proto: 'tcp', port: 80}
    const t = destinationNat(snap('node-0', []), self, 'cni0')!
    expect(t.masquerade!.chain).toBe(SEP_WEB_0)
    expect(t.masquerade!.why).toContain('hairpin')
    const d = decideHop({
      model,
      member: member('node-0'),
      snap: snap('node-0', routeTo('10.244.0.2', 'cni0')),
      packet: self,
      iif: 'cni0',
      translation: t,
    })
    expect(d.hop.problem).toBeUndefined()
    expect(d.packet).toMatchObject({src: '10.244.0.1', dst: '10.244.0.2'})
    expect(d.hop.text).toContain("source masqueraded to 10.244.0.1 (kube-proxy's: the endpoint sees 10.244.0.1)")
    expect(d.hop.firewall).toContain('nat POSTROUTING → KUBE-POSTROUTING rule 3')
    // the same with hairpin off on web-0's port: lost at the bridge
    const off = snap('node-0', routeTo('10.244.0.2', 'cni0'), {links: links('node-0', false)})
    const lost = decideHop({model, member: member('node-0'), snap: off, packet: self, iif: 'cni0', translation: t})
    expect(lost.hop.problem?.kind).toBe('hairpin')
    expect(lost.hop.problem!.reason).toContain('hairpin mode is off on veth-web-0')
  })

  it('a masquerade of pod traffic that kube-proxy did not ask for is still the fault it always was', () => {
    // no translation here: the same KUBE-POSTROUTING masquerade (the mark set by hand) spoils pod to pod
    const tables = parseSave(rules('node-0'))
    const p: Packet = {src: client, dst: '10.244.0.2', proto: 'tcp', port: 8080}
    expect(evaluate(tables, 'nat', 'POSTROUTING', p, {mark: 0x4000})).toMatchObject({
      verdict: 'masquerade',
      path: ['POSTROUTING', 'KUBE-POSTROUTING'],
    })
    expect(evaluate(tables, 'nat', 'POSTROUTING', p, {})).toMatchObject({verdict: 'accept'})
  })

  it('a Service without endpoints: kube-proxy’s filter rule rejects it, and says why', () => {
    const empty: Packet = {src: client, dst: '10.96.0.12', proto: 'tcp', port: 80}
    expect(destinationNat(snap('node-0', []), empty, 'cni0')).toBeUndefined()
    const route: RouteGet[] = [{dst: '10.96.0.12', dev: 'eth0', prefsrc: '192.168.50.10'}]
    const d = decideHop({model, member: member('node-0'), snap: snap('node-0', route), packet: empty, iif: 'cni0'})
    expect(d.hop.problem?.kind).toBe('drop')
    expect(d.hop.problem!.reason).toMatch(
      /^rejected by kube-proxy: node-0's iptables FORWARD → KUBE-SERVICES rule 1, "default\/empty has no endpoints": Service default\/empty has no endpoints/,
    )
    expect(d.hop.problem!.reason).toContain('connection refused')
  })

  it('renders the translation under its hop, and the reply', () => {
    const t = destinationNat(snap('node-0', []), toWeb, 'cni0')!
    const text = renderTrace({
      lab: 'svc',
      from: 'client',
      to: 'service web (10.96.0.10)',
      packet: t.packet,
      hops: [
        {member: 'client', kind: 'pod', src: client, text: 'sent out eth0'},
        {member: 'node-0', kind: 'node', in: 'cni0', src: client, text: 'forwarded out cni0', translation: t},
        {member: 'web-0', kind: 'pod', in: 'eth0', src: client, text: 'arrives'},
      ],
      delivered: true,
      reply: {text: 'the reply 10.244.0.2:8080 → 10.244.0.3 comes back web-0 → node-0', hops: ['web-0', 'node-0']},
      summary: 'client → service web (10.96.0.10): arrives (client → node-0 → web-0)',
    })
    expect(text).toContain(
      `2. node-0 (node), in by cni0\n   kube-proxy translates 10.96.0.10:80 → 10.244.0.2:8080 (Service default/web:http)`,
    )
    expect(text).toContain('\nthe reply 10.244.0.2:8080 → 10.244.0.3 comes back')
  })
})

describe('--confirm through a Service: the DNAT counters read around one real connection', () => {
  const t = destinationNat(snap('node-0', []), toWeb, 'cni0')!
  const counted = (sep: string, n: number) => rules('node-0').replace(new RegExp(`\\[0:0\\] (-A ${sep} .*-j DNAT)`), `[${n}:60] $1`)

  it('reads each endpoint’s DNAT rule count from iptables-save -c', () => {
    expect(dnatCounts(counted(SEP_WEB_1, 3), t)).toEqual(
      new Map([
        [SEP_WEB_0, 0],
        [SEP_WEB_1, 3],
      ]),
    )
  })

  it('names the endpoint the kernel chose, and says so when it is not the one traced', () => {
    const before = dnatCounts(rules('node-0'), t)
    expect(connectionSeen(t, before, dnatCounts(counted(SEP_WEB_0, 1), t))).toEqual({
      text: `a real connection went through ${SEP_WEB_0} (DNAT to 10.244.0.2:8080): its DNAT rule counted it`,
      followed: true,
    })
    const other = connectionSeen(t, before, dnatCounts(counted(SEP_WEB_1, 1), t))
    expect(other.followed).toBe(false)
    expect(other.text).toContain('--endpoint 10.244.1.2:8080 follows it')
    const none = connectionSeen(t, before, before)
    expect(none.unseen).toContain('was not translated by KUBE-SERVICES')
  })
})

describe('kube-proxy’s nftables mode, its table unreadable', () => {
  const nft = buildModel(loadTopologyFile(file('../fixtures/trace/services.yaml')))
  nft.services = {...nft.services!, proxy: 'nftables'}
  const none = {nft: ''}

  it('a packet it would translate stops the trace at the node, saying so', () => {
    const node0 = nft.members.find((m) => m.name === 'node-0')!
    expect(unreadTranslation(nft, node0, toWeb, none)).toContain('could not be read there')
    expect(unreadTranslation(nft, node0, {src: '203.0.113.10', dst: '192.168.50.10', proto: 'tcp', port: 30080}, none)).toContain(
      'nft list table ip kube-proxy',
    )
    // not a Service's: a pod's address, a port no node port has, a reply, a ping
    expect(unreadTranslation(nft, node0, {...toWeb, dst: '10.244.1.2'}, none)).toBeUndefined()
    expect(unreadTranslation(nft, node0, {src: '203.0.113.10', dst: '192.168.50.10', proto: 'tcp', port: 22}, none)).toBeUndefined()
    expect(unreadTranslation(nft, node0, {...toWeb, established: true}, none)).toBeUndefined()
    // the table is there: it is read (test/unit/trace-nftables.test.ts); the iptables mode: read from iptables-save
    const table = readFileSync(file('../fixtures/trace/services-node-0.nft.json'), 'utf8')
    expect(unreadTranslation(nft, node0, toWeb, {nft: table})).toBeUndefined()
    expect(unreadTranslation(model, member('node-0'), toWeb, none)).toBeUndefined()
  })
})

describe('the reply of a translated packet', () => {
  const t = destinationNat(snap('node-0', []), toWeb, 'cni0')!
  const there: TraceResult = {
    lab: 'svc',
    from: 'client',
    to: 'service web (10.96.0.10)',
    packet: t.packet,
    hops: [
      {member: 'client', kind: 'pod', src: client, text: ''},
      {member: 'node-0', kind: 'node', src: client, text: '', translation: t},
      {member: 'web-0', kind: 'pod', src: client, text: ''},
    ],
    delivered: true,
    summary: '',
  }
  const back = (hops: Hop[], delivered = true): TraceResult => ({
    ...there,
    from: 'web-0',
    to: 'client',
    hops,
    delivered,
    summary: 'web-0 → client: …',
  })
  const hop = (member: string, extra: Partial<Hop> = {}): Hop => ({member, kind: 'x', src: '10.244.0.2', text: '', ...extra})

  it('through the node that translated: conntrack undoes the DNAT there', () => {
    const v = replyVerdict(there, back([hop('web-0'), hop('node-0'), hop('client')]))
    expect(v.problem).toBeUndefined()
    expect(v.reply.text).toContain('at node-0 conntrack undoes the translation (its source becomes 10.96.0.10:80 again)')
  })

  it('another way, or across the node’s bridge unseen by its netfilter: the client drops the answer', () => {
    const around = replyVerdict(there, back([hop('web-0'), hop('node-9'), hop('client')]))
    expect(around.problem).toMatchObject({member: 'node-0', kind: 'reply'})
    expect(around.problem!.reason).toContain('not by node-0')
    const blind = replyVerdict(there, back([hop('web-0'), hop('node-0', {unfiltered: true}), hop('client')]))
    expect(blind.problem!.reason).toContain('crossing node-0 (where the DNAT was made) only as a frame its bridge forwards')
    expect(blind.problem!.reason).toContain('gets an answer from 10.244.0.2:8080, which it never asked')
  })
})
