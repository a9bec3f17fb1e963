// kube-proxy's own expectations (pkg/proxy/iptables/proxier_test.go) as test vectors for netlab's
// iptables proxy mode: for the same Services, endpoints and kube-proxy configuration, the
// generator (src/proxy/iptables-rules.ts) must write what kube-proxy writes, line for line.
// The cases are in test/fixtures/kube-proxy (cases.json: inputs; *.iptables: expected, verbatim).
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {
  endpointChain,
  kubeProxyRestore,
  probability,
  serviceChain,
  type KpConfig,
  type KpServicePort,
} from '../../src/proxy/iptables-rules.js'

const DIR = join(__dirname, '../fixtures/kube-proxy')

interface Case {
  name: string
  file: 'newer' | 'older'
  expected: string
  config: Partial<KpConfig> & {clusterCIDR?: string | null}
  services: KpServicePort[]
}

/**
 * NewFakeProxier's configuration. What a lab cannot have is still part of these inputs (load
 * balancers, externalIPs, health-check node ports, nfacct counters, localhost NodePorts): the
 * generator takes them so that kube-proxy's dumps match whole; a lab never sets them (see
 * docs/services.md#where-a-lab-differs-from-kube-proxy). Not covered at all: IPv6, partial syncs
 * (-X of stale chains), topology hints, the `kubernetes` Service, large-cluster mode (> 1000 endpoints).
 */
function fakeProxier(c: Case['config']): KpConfig {
  const {clusterCIDR, ...rest} = c
  return {
    nodeName: 'test-node',
    nodeIP: '192.168.0.2',
    masqueradeAll: false,
    masqueradeMark: '0x4000',
    localhostNodePorts: true,
    randomFully: false,
    nfacct: false,
    ...rest,
    ...(clusterCIDR === null ? {} : {clusterCIDR: clusterCIDR ?? '10.0.0.0/8'}),
  }
}

/** The service name of a rule's comment: up to its first space or colon (orderByCommentServiceName). */
function commentService(rule: string): string | undefined {
  const m = /--comment (?:"([^"]*)"|(\S+))/.exec(rule)
  if (!m) return undefined
  const text = m[1] ?? m[2]
  const i = text.search(/[ :]/)
  return i === -1 ? text : text.slice(0, i)
}

/** A port of the test file's sortIPTablesRules: tables by name, chains (NODEPORTS, SERVICES, then KUBE-* by name), rules grouped by chain. */
function sortIPTablesRules(data: string): string {
  const tables: {name: string; chains: string[]; rules: string[]}[] = []
  for (const line of data.trim().split('\n')) {
    if (line.startsWith('*')) tables.push({name: line.slice(1), chains: [], rules: []})
    else if (line.startsWith(':')) tables.at(-1)!.chains.push(line.slice(1).split(' ')[0])
    else if (line.startsWith('-A ')) tables.at(-1)!.rules.push(line)
  }
  const rank = (c: string) => (c === 'KUBE-NODEPORTS' ? 0 : c === 'KUBE-SERVICES' ? 1 : c.startsWith('KUBE-') ? 2 : 3)
  const byChain = (a: string, b: string) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0)
  const byService = (a: string, b: string) => {
    const [x, y] = [commentService(a), commentService(b)]
    return x === undefined || y === undefined ? 0 : x < y ? -1 : x > y ? 1 : 0
  }
  const last = (r: string) => r.includes('must be the last rule')
  const out: string[] = []
  for (const t of tables.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    out.push(`*${t.name}`)
    const chains = [...t.chains].sort(byChain)
    out.push(...chains.map((c) => `:${c} - [0:0]`))
    for (const c of chains) {
      const rules = t.rules.filter((r) => r.split(' ')[1] === c)
      if (c === 'KUBE-NODEPORTS') rules.sort(byService)
      if (c === 'KUBE-SERVICES') rules.sort((a, b) => (last(a) ? 1 : last(b) ? -1 : byService(a, b)))
      out.push(...rules)
    }
    out.push('COMMIT')
  }
  return out.join('\n') + '\n'
}

const {cases} = JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8')) as {cases: Case[]}

describe("kube-proxy's proxier_test.go expectations, reproduced", () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const expected = readFileSync(join(DIR, c.expected), 'utf8')
    expect(sortIPTablesRules(kubeProxyRestore(c.services, fakeProxier(c.config)))).toBe(expected)
  })

  it('every case is here: one expected dump per case, each used once', () => {
    expect(cases.map((c) => c.expected).sort()).toEqual(
      expect.arrayContaining(['TestOverallIPTablesRules.iptables', 'TestOnlyLocalNodePortsNoClusterCIDR.iptables']),
    )
    expect(new Set(cases.map((c) => c.expected)).size).toBe(cases.length)
  })
})

describe("kube-proxy's chain names and probabilities", () => {
  const port = (over: Partial<KpServicePort> = {}): KpServicePort => ({
    namespace: 'ns1',
    name: 'svc1',
    portName: 'p80',
    protocol: 'TCP',
    clusterIP: '172.30.0.41',
    port: 80,
    endpoints: [],
    ...over,
  })
  it('hashes "ns/name:port" + lowercased protocol (+ ip:port for an endpoint), base32 of sha256, 16 characters', () => {
    expect(serviceChain('SVC', port())).toBe('KUBE-SVC-XPGD46QRK7WJZT7O')
    expect(serviceChain('EXT', port({namespace: 'ns2', name: 'svc2'}))).toBe('KUBE-EXT-GNZBNJ2PO5MGZ6GT')
    expect(serviceChain('SVC', port({portName: undefined}))).toBe('KUBE-SVC-AQI2S6QIMU7PVVRP')
    expect(endpointChain(port(), {ip: '10.180.0.1', port: 80})).toBe('KUBE-SEP-SXIVWICOYRO3J4NJ')
    expect(endpointChain(port({namespace: 'ns2', name: 'svc2', portName: 'p8080'}), {ip: '10.0.2.1', port: 8080})).toBe(
      'KUBE-SEP-UHEGFW77JX3KXTOV',
    )
  })
  it('formats 1/n with ten decimals, rounded as Go rounds', () => {
    expect([2, 3, 4, 6, 100001].map(probability)).toEqual(['0.5000000000', '0.3333333333', '0.2500000000', '0.1666666667', '0.0000099999'])
  })
})
