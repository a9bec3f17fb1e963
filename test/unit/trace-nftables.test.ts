// netlab trace through kube-proxy's nftables mode: its table read from `nft -j list table ip
// kube-proxy` (test/fixtures/trace/services-node-0.nft.json: node-0 of
// test/fixtures/trace/services.yaml with cluster.proxy nftables, as the nftables mode's plan wrote
// it into a lab, read back from the kernel), walked as the kernel does.
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {buildModel} from '../../src/compile/model.js'
import {loadTopologyFile} from '../../src/topology/parse.js'
import {decideHop} from '../../src/trace/hop.js'
import {destinationNat, translationText} from '../../src/trace/nat.js'
import {evaluateNft, nftCandidates, parseNft} from '../../src/trace/nft.js'
import type {Packet, RouteGet, Snapshot} from '../../src/trace/types.js'

const file = (p: string) => fileURLToPath(new URL(p, import.meta.url))
const table = parseNft(readFileSync(file('../fixtures/trace/services-node-0.nft.json'), 'utf8'))!
const local = new Set(['127.0.0.1', '192.168.50.10', '10.244.0.1'])
const toWeb: Packet = {src: '10.244.0.3', dst: '10.96.0.10', proto: 'tcp', port: 80}

describe('nftables: kube-proxy’s table, walked', () => {
  it('a pod to a ClusterIP: services → service-… → endpoint-… dnat, no mark', () => {
    const v = evaluateNft(table, 'nat', 'prerouting', toWeb, {iif: 'cni0', local})!
    expect(v.verdict).toBe('dnat')
    expect(v.path[0]).toBe('nat-prerouting')
    expect(v.path.slice(1, 2)).toEqual(['services'])
    expect(v.path[2]).toMatch(/^service-[A-Z2-7]{8}-default\/web\/tcp\/http$/)
    expect(v.path[3]).toMatch(/^endpoint-[A-Z2-7]{8}-default\/web\/tcp\/http__10\.244\.0\.2\/8080$/)
    expect(v.toDestination).toEqual({ip: '10.244.0.2', port: 8080})
    expect(v.mark).toBe(0)
    expect(nftCandidates(table, v.path[2]).map((c) => [c.to, c.probability])).toEqual([
      ['10.244.0.2:8080', 0.5],
      ['10.244.1.2:8080', 0.5],
    ])
    const other = evaluateNft(table, 'nat', 'prerouting', toWeb, {iif: 'cni0', local, prefer: nftCandidates(table, v.path[2])[1].chain})!
    expect(other.toDestination).toEqual({ip: '10.244.1.2', port: 8080})
  })

  it('the node itself: marked for masquerade, and masqueraded after routing', () => {
    const v = evaluateNft(table, 'nat', 'output', {...toWeb, src: '192.168.50.10'}, {local})!
    expect(v.mark).toBe(0x4000)
    expect(v.marks[0].at(-2)!.chain).toMatch(/^service-/)
    const post = evaluateNft(table, 'nat', 'postrouting', toWeb, {local, mark: v.mark})!
    expect(post).toMatchObject({verdict: 'masquerade', path: ['nat-postrouting', 'masquerading']})
    expect(evaluateNft(table, 'nat', 'postrouting', toWeb, {local})?.verdict).not.toBe('masquerade')
  })

  it('a node port: service-nodeports → external-… (eTP Cluster: marked); eTP Local without an endpoint here: dropped in filter input', () => {
    const np: Packet = {src: '203.0.113.10', dst: '192.168.50.10', proto: 'tcp', port: 30080}
    const v = evaluateNft(table, 'nat', 'prerouting', np, {iif: 'eth0', local})!
    expect(v.path[2]).toMatch(/^external-/)
    expect(v.verdict).toBe('dnat')
    expect(v.mark).toBe(0x4000)
    const localNp = {...np, port: 30443}
    expect(evaluateNft(table, 'nat', 'prerouting', localNp, {iif: 'eth0', local})?.verdict).not.toBe('dnat')
    const drop = evaluateNft(table, 'filter', 'input', localNp, {iif: 'eth0', local})!
    expect(drop).toMatchObject({verdict: 'drop', path: ['filter-input', 'nodeport-endpoints-check']})
  })

  it('a Service without endpoints: rejected in filter forward (no-endpoint-services → reject-chain)', () => {
    const empty = {...toWeb, dst: '10.96.0.12'}
    expect(evaluateNft(table, 'nat', 'prerouting', empty, {iif: 'cni0', local})?.verdict).not.toBe('dnat')
    expect(evaluateNft(table, 'filter', 'forward', empty, {iif: 'cni0', local})).toMatchObject({
      verdict: 'drop',
      path: ['filter-forward', 'service-endpoints-check', 'reject-chain'],
    })
    // a ClusterIP's port it does not have: cluster-ips-check rejects it
    expect(evaluateNft(table, 'filter', 'forward', {...toWeb, port: 81}, {iif: 'cni0', local})!.comment).toBe(
      'Reject traffic to invalid ports of ClusterIPs',
    )
    // a pod's address: nothing to say
    expect(evaluateNft(table, 'filter', 'forward', {...toWeb, dst: '10.244.1.2', port: 8080}, {iif: 'cni0', local})).toBeUndefined()
  })
})

describe('nftables: the hop that translates, and the hops kube-proxy stops', () => {
  const model = buildModel(loadTopologyFile(file('../fixtures/trace/services.yaml')))
  model.services = {...model.services!, proxy: 'nftables'}
  const member = (name: string) => model.members.find((m) => m.name === name)!
  const n = model.nodes[0]
  const snap = (route: RouteGet[]): Snapshot => ({
    links: [
      {ifname: 'eth0', addr_info: [{family: 'inet', local: n.ip, prefixlen: 24}]},
      {ifname: 'cni0', linkinfo: {info_kind: 'bridge'}, addr_info: [{family: 'inet', local: n.gateway, prefixlen: 24}]},
      ...n.pods.map((p) => ({ifname: p.hostVeth, master: 'cni0', linkinfo: {info_kind: 'veth', info_slave_data: {hairpin: true}}})),
    ],
    route,
    neigh: [],
    fdb: [],
    iptables: '',
    ipForward: '1',
    nft: readFileSync(file('../fixtures/trace/services-node-0.nft.json'), 'utf8'),
  })

  it('reads the DNAT from the table, and says how the endpoint is chosen', () => {
    const t = destinationNat(snap([]), toWeb, 'cni0')!
    expect(t.packet).toMatchObject({dst: '10.244.0.2', port: 8080})
    expect(t.service).toBe('default/web/tcp/http')
    expect(t.how).toBe('random')
    const text = translationText(t).join('\n')
    expect(text).toMatch(/table ip kube-proxy nat-prerouting → services → service-\S+ → endpoint-\S+ rule 2: dnat to 10\.244\.0\.2:8080/)
    expect(text).toContain('numgen random mod 2 vmap: 10.244.0.2:8080 (50%), 10.244.1.2:8080 (50%)')
    expect(destinationNat(snap([]), toWeb, 'cni0', '10.244.1.2')!.packet.dst).toBe('10.244.1.2')
  })

  it('hairpin: masqueraded by masquerading (kube-proxy’s own: no fault), the endpoint sees the node', () => {
    const self: Packet = {src: '10.244.0.2', dst: '10.96.0.10', proto: 'tcp', port: 80}
    const t = destinationNat(snap([]), self, 'cni0', '10.244.0.2')!
    expect(t.masquerade!.why).toContain('hairpin')
    const route: RouteGet[] = [{dst: '10.244.0.2', dev: 'cni0', prefsrc: '10.244.0.1'}]
    const d = decideHop({model, member: member('node-0'), snap: snap(route), packet: self, iif: 'cni0', translation: t})
    expect(d.hop.problem).toBeUndefined()
    expect(d.packet.src).toBe('10.244.0.1')
    expect(d.hop.firewall).toContain('nftables nat-postrouting → masquerading rule 3: masquerade fully-random')
  })

  it('a Service without endpoints: rejected by kube-proxy’s filter-forward, and why', () => {
    const empty = {...toWeb, dst: '10.96.0.12'}
    expect(destinationNat(snap([]), empty, 'cni0')).toBeUndefined()
    const d = decideHop({model, member: member('node-0'), snap: snap([{dst: '10.96.0.12', dev: 'eth0'}]), packet: empty, iif: 'cni0'})
    expect(d.hop.problem?.kind).toBe('drop')
    expect(d.hop.problem!.reason).toMatch(
      /^rejected by kube-proxy \(nftables mode\): node-0's table ip kube-proxy filter-forward → service-endpoints-check → reject-chain: 10\.96\.0\.12:80 is in no-endpoint-services/,
    )
  })

  it('a node port with externalTrafficPolicy Local on a node without an endpoint: dropped in filter-input', () => {
    const np: Packet = {src: '203.0.113.10', dst: '192.168.50.10', proto: 'tcp', port: 30443}
    const d = decideHop({model, member: member('node-0'), snap: snap([]), packet: np, iif: 'eth0'})
    expect(d.hop.problem!.reason).toContain('externalTrafficPolicy Local and no endpoint on node-0')
  })
})
