// netlab trace through kube-proxy's nftables mode: its table read from `nft -j list table ip
// kube-proxy` (test/fixtures/trace/services-node-0.nft.json: node-0 of
// test/fixtures/trace/services.yaml, written by hand as kube-proxy's nftables proxier writes it,
// loaded into a scratch namespace and read back from the kernel), walked as the kernel does.
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {evaluateNft, nftCandidates, parseNft} from '../../src/trace/nft.js'
import type {Packet} from '../../src/trace/types.js'

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
