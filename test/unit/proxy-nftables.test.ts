// kube-proxy's nftables mode (src/proxy/nftables.ts) against kube-proxy's own test expectations
// (pkg/proxy/nftables/proxier_test.go, test/fixtures/kube-proxy/nftables-*): for the same
// Services and endpoints, the same table, compared as kube-proxy's sortNFTablesTransaction
// compares (blank and # lines dropped, statements as a set, each chain's rules in order).
// What a lab cannot have (listed below and in the fixture, each with why) is left out:
// LoadBalancer IPs, externalIPs, loadBalancerSourceRanges, health check node ports, IPv6, the
// apiserver's `kubernetes` Service.
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {frameParts, nftTable, portChains, type KubeProxyFacts} from '../../src/proxy/nftables.js'
import {kubeHash} from '../../src/proxy/hash.js'
import type {ServiceModel} from '../../src/model/types.js'

const DIR = new URL('../fixtures/kube-proxy/', import.meta.url)
const read = (f: string) => readFileSync(new URL(f, DIR), 'utf8')

interface Case {
  name: string
  expected: string
  services: ServiceModel[]
  notInLab?: {contains: string; why: string}[]
}
const vectors = JSON.parse(read('nftables-cases.json')) as {facts: KubeProxyFacts; baseRules: string; cases: Case[]}

/** What a lab cannot have, by kind: every exclusion in the fixture must be one of these. */
const NOT_IN_LAB = ['a LoadBalancer ingress IP', 'an externalIP', 'loadBalancerSourceRanges', 'externalIP']

/** kube-proxy's comparison: statements other than rules as a sorted list, rules grouped by chain in order. */
function canonical(lines: string[]): {statements: string[]; rules: Record<string, string[]>} {
  const statements: string[] = []
  const rules: Record<string, string[]> = {}
  for (const line of lines) {
    if (line.trim() === '' || line.startsWith('#')) continue
    const m = /^add rule ip kube-proxy (\S+) (.*)$/.exec(line)
    if (m) (rules[m[1]] ??= []).push(m[2])
    else statements.push(line)
  }
  return {statements: statements.sort(), rules}
}

describe("kube-proxy's nftables test vectors", () => {
  const base = read(vectors.baseRules)
  for (const c of vectors.cases)
    it(`${c.name}: the same table${c.notInLab ? ' but for what a lab has not' : ', exactly'}`, () => {
      const drop = c.notInLab ?? []
      for (const d of drop) expect(NOT_IN_LAB.some((k) => d.why.includes(k))).toBe(true)
      const expected = (base + read(c.expected)).split('\n').filter((l) => !drop.some((d) => l.includes(d.contains)))
      expect(canonical(nftTable(c.services, vectors.facts))).toEqual(canonical(expected))
    })

  it('leaves out only lines a lab cannot have, and few of them', () => {
    const overall = vectors.cases.find((c) => c.name === 'TestOverallNFTablesRules')!
    const lines = read(overall.expected)
      .split('\n')
      .filter((l) => l.startsWith('add '))
    const left = lines.filter((l) => overall.notInLab!.some((d) => l.includes(d.contains)))
    // svc2: 1.2.3.4 and 192.168.99.22 in service-ips and no-endpoint-services (4); svc4: 192.168.99.33 and its
    // external chain with 2 rules (4); svc5: 5.6.7.8 in service-ips and firewall-ips, its firewall chain and rule (4)
    expect(left.length).toBe(12)
    expect(lines.length - left.length).toBeGreaterThan(50)
  })
})

describe("kube-proxy's chain names", () => {
  // Test_servicePortChainNameBase and Test_servicePortEndpointChainNameBase (verbatim expectations)
  it('hashes the name it prefixes, 8 base32 characters of its sha256', () => {
    expect(`${kubeHash('testing/service/tcp/http', 8)}`).toBe('P4ZYZVCF')
    expect(`${kubeHash('testing/service/tcp/https', 8)}`).toBe('LZBRENCP')
    expect(`${kubeHash('testing/service/tcp/http__10.180.0.1/80', 8)}`).toBe('JO2XBXZR')
    expect(`${kubeHash('testing/service/tcp/http__10.180.0.2/80', 8)}`).toBe('5S6H3H22')
  })

  it('names an unnamed port with an empty last part, and orders endpoints by their "ip:port" strings', () => {
    const s: ServiceModel = {
      ...vectors.cases[0].services[0],
      ports: [
        {
          port: 80,
          protocol: 'UDP',
          targetPort: 80,
          endpoints: ['10.1.1.1', '10.1.1.11', '10.1.1.2'].map((ip) => ({pod: ip, node: 'n', ip, port: 11})),
        },
      ],
    }
    const c = portChains(s, s.ports[0])
    expect(c.cluster).toBe(`service-${kubeHash('ns1/svc1/udp/', 8)}-ns1/svc1/udp/`)
    // "10.1.1.11:11" < "10.1.1.1:11" ('1' < ':'), as in kube-proxy (not numeric order)
    expect(c.endpoints.map((e) => e.ep.ip)).toEqual(['10.1.1.11', '10.1.1.1', '10.1.1.2'])
  })
})

describe('the frame of the table', () => {
  it("is kube-proxy's baseRules for the node's facts", () => {
    const f: KubeProxyFacts = {clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', node: 'node-0', nodeIP: '172.18.0.10'}
    const lines = frameParts(f).flatMap((p) => p.lines)
    expect(lines).toContain('add element ip kube-proxy nodeport-ips { 172.18.0.10 }')
    expect(lines).toContain(
      'add rule ip kube-proxy cluster-ips-check ip daddr { 10.96.0.0/12 } drop comment "Drop traffic to unallocated ClusterIPs"',
    )
  })
})
