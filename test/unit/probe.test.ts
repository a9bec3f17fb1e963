// `netlab probe`, the pure parts: which probes run, what each must see, how the clients' output
// is read, and how the verdicts are printed. No root, no namespaces.
import {describe, expect, it} from 'vitest'
import {stringify} from 'yaml'
import {buildModel} from '../../src/model/build.js'
import {allPods, type LabModel, type PodModel} from '../../src/model/types.js'
import {loadTopologyFile, parseTopology} from '../../src/topology/parse.js'
import {expectHttp, expectPing, externalEndpoint, NO_ROUTE_BACK, nodeEndpoint, podEndpoint} from '../../src/probe/expect.js'
import {echoResponse, parseHubFds} from '../../src/probe/hub.js'
import {decodeResults, encodeJob} from '../../src/probe/jobs.js'
import {addressOwners, buildReport, failures, judge, judgeSelf, renderReport} from '../../src/probe/report.js'
import {groupTasks} from '../../src/probe/run.js'
import {
  ALL_PAIRS_MAX_PODS,
  coverageFor,
  egressSources,
  labAddresses,
  nodePodPairs,
  podNodePairs,
  podPairs,
  sectionsFor,
  selectProbes,
} from '../../src/probe/select.js'
import {
  ANSWERED,
  curlArgs,
  eth0Addresses,
  fpingArgs,
  parseAddrsLine,
  parseCurl,
  parseEth0,
  parseFping,
  probeUrl,
} from '../../src/probe/tools.js'
import type {Observation, Probe} from '../../src/probe/types.js'
import {smallTopology, THREE_NODE} from '../helpers/constants.js'

const three = buildModel(loadTopologyFile(THREE_NODE))

function grid(nodes: number, pods: number, opts: {ipMasq?: boolean; external?: boolean} = {}): LabModel {
  return buildModel(parseTopology(stringify(smallTopology('grid', {nodes, pods, ...opts})), 'grid.yaml'))
}

const count = (probes: Probe[], check: Probe['check']) => probes.filter((p) => p.check === check).length

/** Every pod is a source and a target across nodes, every pod with a neighbour pings one on its
 *  node, and every ordered pair of nodes with pods is crossed. */
function expectRepresentative(m: LabModel, pairs: [PodModel, PodModel][]): void {
  const withPods = m.nodes.filter((n) => n.pods.length > 0)
  const pods = withPods.flatMap((n) => n.pods)
  const across = pairs.filter(([s, d]) => s.node !== d.node)
  expect(new Set(across.map(([s]) => s.name)).size).toBe(pods.length)
  expect(new Set(across.map(([, d]) => d.name)).size).toBe(pods.length)
  const same = pairs.filter(([s, d]) => s.node === d.node)
  expect(new Set(same.map(([s]) => s.name)).size).toBe(withPods.filter((n) => n.pods.length > 1).reduce((k, n) => k + n.pods.length, 0))
  expect(new Set(across.map(([s, d]) => `${s.node}>${d.node}`)).size).toBe(withPods.length * (withPods.length - 1))
}

describe('which probes run', () => {
  it('three-node (5 pods): every ordered pod pair, every node to every pod, every pod to every node', () => {
    expect(coverageFor(three)).toBe('all-pairs')
    const probes = selectProbes(three)
    expect(count(probes, 'pod-pod-same-node')).toBe(4) // web-0⇄web-1, node-2-p0⇄node-2-p1
    expect(count(probes, 'pod-pod-other-node')).toBe(16)
    expect(count(probes, 'node-own-pod')).toBe(5)
    expect(count(probes, 'node-other-pod')).toBe(10)
    expect(count(probes, 'pod-node')).toBe(15)
    expect(count(probes, 'no-nat-pod-pod')).toBe(20)
    expect(count(probes, 'no-nat-node-pod')).toBe(15)
    expect(count(probes, 'egress-reach')).toBe(5)
    expect(count(probes, 'egress-source')).toBe(5)
    expect(new Set(probes.map((p) => p.id)).size).toBe(probes.length)
  })

  it('labs up to 100 pods get every ordered pair; above, a representative set', () => {
    expect(coverageFor(grid(10, 10))).toBe('all-pairs')
    expect(podPairs(grid(10, 10), 'all-pairs')).toHaveLength(100 * 99)
    expect(ALL_PAIRS_MAX_PODS).toBe(100)
    expect(coverageFor(grid(10, 11))).toBe('representative')
    expect(coverageFor(grid(10, 11), true)).toBe('all-pairs')
  })

  it('50 nodes × 10 pods, representative: the next pod on its node, every node pair crossed, every pod a source and a target', () => {
    const m = grid(50, 10)
    const pairs = podPairs(m, 'representative')
    expect(pairs).toHaveLength(500 + 50 * 49)
    const fromFirst = pairs.filter(([s]) => s.name === 'n0-p0')
    expect(fromFirst.filter(([, d]) => d.node === 'n0').map(([, d]) => d.name)).toEqual(['n0-p1'])
    expect(pairs.every(([s, d]) => s !== d)).toBe(true)
    expectRepresentative(m, pairs)
    // each node to each of its pods and one pod on every other node
    expect(nodePodPairs(m, 'representative')).toHaveLength(50 * (10 + 49))
    // each pod to its own node and the next one
    expect(podNodePairs(m, 'representative')).toHaveLength(500 * 2)
    const probes = selectProbes(m)
    expect(count(probes, 'no-nat-pod-pod')).toBe(2_950)
    expect(count(probes, 'no-nat-node-pod')).toBe(2_950)
    expect(count(probes, 'egress-source')).toBe(500)
  })

  it('the representative set covers every pod and node pair whatever the shape (few nodes with many pods, unequal nodes)', () => {
    expect(podPairs(grid(10, 100), 'representative')).toHaveLength(1000 + 10 * 100)
    expect(podPairs(grid(200, 5), 'representative')).toHaveLength(1000 + 200 * 199)
    for (const [nodes, pods] of [
      [10, 100],
      [200, 5],
      [2, 60],
      [11, 11],
    ])
      expectRepresentative(grid(nodes, pods), podPairs(grid(nodes, pods), 'representative'))
    // unequal nodes, one without pods
    const uneven = buildModel(
      parseTopology(
        stringify({
          name: 'uneven',
          cluster: {podCIDR: '10.244.0.0/16', nodeSubnetSize: 24, underlay: '192.168.50.0/24', routing: 'host-gw'},
          nodes: [
            {name: 'a', pods: 40},
            {name: 'b', pods: 1},
            {name: 'c', pods: 0},
            {name: 'd', pods: 70},
            {name: 'e', pods: 3},
          ],
        }),
        'uneven.yaml',
      ),
    )
    expectRepresentative(uneven, podPairs(uneven, 'representative'))
  })

  it('--full on 50 × 10 probes every pair', () => {
    const m = grid(50, 10)
    expect(podPairs(m, 'all-pairs')).toHaveLength(500 * 499)
    expect(nodePodPairs(m, 'all-pairs')).toHaveLength(50 * 500)
    expect(podNodePairs(m, 'all-pairs')).toHaveLength(500 * 50)
  })

  it('a node with one pod has no same-node pair; nodes without pods are skipped', () => {
    const m = grid(3, 1)
    expect(podPairs(m, 'representative')).toHaveLength(3 * 2)
    expect(podPairs(m, 'all-pairs')).toHaveLength(3 * 2)
  })

  it('--only picks sections; self-address comes with no-nat', () => {
    expect(sectionsFor()).toEqual(['pod-pod', 'node-pod', 'no-nat', 'self-address', 'vpc', 'egress', 'policy'])
    expect(sectionsFor(['pod-pod'])).toEqual(['pod-pod'])
    expect(sectionsFor(['egress', 'no-nat'])).toEqual(['no-nat', 'self-address', 'egress'])
    const pings = selectProbes(three, {only: ['pod-pod']})
    expect(pings.every((p) => p.tool === 'ping' && p.src.kind === 'pod' && p.dst.kind === 'pod')).toBe(true)
    expect(pings).toHaveLength(20)
    const nodePod = selectProbes(three, {only: ['node-pod']})
    expect(nodePod.every((p) => p.tool === 'ping')).toBe(true)
    expect(nodePod).toHaveLength(15 + 15)
    expect(selectProbes(three, {only: ['no-nat']}).every((p) => p.tool === 'http')).toBe(true)
    expect(selectProbes(three, {only: ['egress']}).every((p) => p.dst.kind === 'external')).toBe(true)
  })

  it('targets only addresses of the lab itself', () => {
    const own = labAddresses(three)
    for (const p of selectProbes(three, {full: true})) expect(own.has(p.dst.ip)).toBe(true)
    expect(own.has('8.8.8.8')).toBe(false)
  })

  it('egress: every pod with ipMasq; one pod per node when replies are not expected and pairs are sampled', () => {
    expect(egressSources(grid(50, 10), 'representative')).toHaveLength(500)
    expect(
      egressSources(grid(50, 10, {ipMasq: false}), 'representative')
        .map((p) => p.name)
        .slice(0, 2),
    ).toEqual(['n0-p0', 'n1-p0'])
    expect(egressSources(grid(50, 10, {ipMasq: false}), 'all-pairs')).toHaveLength(500)
    expect(selectProbes(grid(2, 2, {external: false})).some((p) => p.check.startsWith('egress'))).toBe(false)
  })

  it('groups probes into one client process per source namespace and tool', () => {
    const tasks = groupTasks(selectProbes(three))
    const web0 = tasks.filter((t) => t.netns === 'netlab-three-node.web-0')
    expect(web0.map((t) => t.tool).sort()).toEqual(['http', 'ping'])
    // web-0 pings 4 pods, 3 nodes and the external host in one fping
    expect(web0.find((t) => t.tool === 'ping')!.probes).toHaveLength(4 + 3 + 1)
    expect(
      tasks
        .filter((t) => t.netns === 'netlab-three-node.node-0')
        .map((t) => t.tool)
        .sort(),
    ).toEqual(['http', 'ping'])
    const silent = groupTasks(selectProbes(grid(2, 1, {ipMasq: false}))).filter((t) => t.silent)
    expect(silent.map((t) => t.tool).sort()).toEqual(['http', 'http', 'ping', 'ping'])
  })
})

describe('what each probe must see (from the model)', () => {
  const node = (name: string) => three.nodes.find((n) => n.name === name)!
  const pod = (name: string) => allPods(three).find((p) => p.name === name)!
  const internet = externalEndpoint(three.external[0])

  it("pod → pod: the source pod's own address, on the same node and across nodes", () => {
    expect(expectHttp(three, podEndpoint(pod('web-0')), podEndpoint(pod('web-1')))).toEqual({reply: true, seen: '10.244.0.2'})
    expect(expectHttp(three, podEndpoint(pod('web-0')), podEndpoint(pod('db')))).toEqual({reply: true, seen: '10.244.0.2'})
  })

  it("node → its own pod: its cni0 address; node → another node's pod: its underlay address", () => {
    expect(expectHttp(three, nodeEndpoint(node('node-1')), podEndpoint(pod('db')))).toEqual({reply: true, seen: '10.244.9.1'})
    expect(expectHttp(three, nodeEndpoint(node('node-1')), podEndpoint(pod('web-0')))).toEqual({reply: true, seen: '192.168.50.21'})
  })

  it("pod → external: the node's underlay address with ipMasq; no reply without", () => {
    expect(expectHttp(three, podEndpoint(pod('db')), internet)).toEqual({reply: true, seen: '192.168.50.21'})
    expect(expectPing(three, podEndpoint(pod('db')), internet)).toEqual({reply: true})
    const off = {...three, ipMasq: false}
    expect(expectHttp(off, podEndpoint(pod('db')), internet)).toEqual({reply: false, why: NO_ROUTE_BACK})
    expect(expectPing(off, podEndpoint(pod('db')), internet)).toEqual({reply: false, why: NO_ROUTE_BACK})
    expect(NO_ROUTE_BACK).toContain('no route back')
  })

  it('pings inside the cluster are always answered', () => {
    expect(expectPing(three, nodeEndpoint(node('node-0')), podEndpoint(pod('db')))).toEqual({reply: true})
    expect(expectPing(three, podEndpoint(pod('db')), nodeEndpoint(node('node-0')))).toEqual({reply: true})
  })
})

// Real output, captured in a three-node lab with node-0's route to node-1's pods deleted.
const FPING_FROM_POD = {
  stdout: '10.244.0.3 is alive (0.061 ms)\n10.244.2.2 is alive (0.055 ms)\n192.168.50.21 is alive (0.038 ms)\n10.244.9.10 is unreachable\n',
  stderr:
    'ICMP Network Unreachable from 10.244.0.1 for ICMP Echo sent to 10.244.9.10\nICMP Network Unreachable from 10.244.0.1 for ICMP Echo sent to 10.244.9.10\n',
}
const FPING_FROM_NODE = {
  stdout: '10.244.0.2 is alive (0.268 ms)\n10.244.2.2 is alive (0.132 ms)\n10.244.9.10 is unreachable\n',
  stderr: '10.244.9.10: error while sending ping: Network is unreachable\n',
}
const FPING_TIMEOUT = {stdout: '10.244.2.2 is alive (0.039 ms)\n10.244.0.2 is unreachable\n', stderr: ''}
// Real curl 7.88 --write-out lines (CURL_FORMAT): pod → pod, pod → external (masqueraded), refused, timeout.
const CURL_OUT = [
  'http://10.244.0.3:24242/probe/1\t200\t10.244.0.2\t10.244.0.2\tnetlab-three-node.web-1\t0\t',
  'http://203.0.113.10:24242/probe/4\t200\t10.244.0.2\t192.168.50.10\tnetlab-three-node.internet\t0\t',
  "http://10.244.7.7:24242/probe/5\t000\t\t\t\t7\tFailed to connect to 10.244.7.7 port 24242 after 0 ms: Couldn't connect to server",
  'http://10.244.9.10:24242/probe/2\t000\t\t\t\t28\tFailed to connect to 10.244.9.10 port 24242 after 2001 ms: Timeout was reached',
].join('\n')

describe("reading the clients' output", () => {
  it('fping: alive, unreachable with the ICMP error, local send errors, silent timeouts', () => {
    const a = parseFping(FPING_FROM_POD.stdout, FPING_FROM_POD.stderr)
    expect(a.get('10.244.0.3')).toEqual({reply: true, detail: '0.061 ms'})
    expect(a.get('10.244.9.10')).toEqual({reply: false, detail: 'ICMP Network Unreachable from 10.244.0.1'})
    expect(a.size).toBe(4)
    expect(parseFping(FPING_FROM_NODE.stdout, FPING_FROM_NODE.stderr).get('10.244.9.10')).toEqual({
      reply: false,
      detail: 'cannot send: Network is unreachable',
    })
    expect(parseFping(FPING_TIMEOUT.stdout, FPING_TIMEOUT.stderr).get('10.244.0.2')).toEqual({reply: false, detail: 'no reply (timeout)'})
  })

  it('curl: the echoed address, who answered, and why nothing came back', () => {
    const c = parseCurl(CURL_OUT)
    expect(c.get(1)).toEqual({reply: true, seen: '10.244.0.2', local: '10.244.0.2', servedBy: 'netlab-three-node.web-1'})
    expect(c.get(4)).toMatchObject({reply: true, seen: '192.168.50.10', local: '10.244.0.2'})
    expect(c.get(5)).toEqual({reply: false, detail: "no reply: Couldn't connect to server"})
    expect(c.get(2)).toEqual({reply: false, detail: 'no reply: Timeout was reached'})
    expect(c.size).toBe(4)
  })

  it('ip -j addr: the IPv4 addresses of eth0', () => {
    const json =
      '[{"ifindex":2,"link_index":4,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","operstate":"UP","group":"default","txqlen":1000,"link_type":"ether","address":"0a:58:0a:f4:00:02","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":0,"addr_info":[{"family":"inet","local":"10.244.0.2","prefixlen":24,"scope":"global","label":"eth0","valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"fe80::858:aff:fef4:2","prefixlen":64,"scope":"link"}]}]'
    expect(parseEth0(json)).toEqual(['10.244.0.2'])
    expect(parseEth0('[]')).toEqual([])
  })

  it("the hub launcher's address report: eth0 and its labelled aliases, nothing else", () => {
    const line = parseAddrsLine('addrs netlab-x.web-0 eth0=10.244.0.2 eth0=10.244.0.99 eth0:x=10.244.0.98 cni0=10.244.0.1')!
    expect(line.netns).toBe('netlab-x.web-0')
    expect(eth0Addresses(line.addrs)).toEqual(['10.244.0.2', '10.244.0.99', '10.244.0.98'])
    expect(parseAddrsLine('addrs netlab-x.db')).toEqual({netns: 'netlab-x.db', addrs: []})
    expect(parseAddrsLine('ready 5')).toBeUndefined()
  })

  it('client arguments: short timeouts, no proxy, one output per URL, ids in the URL path', () => {
    const f = fpingArgs(['10.244.0.3', '10.244.9.10'], ANSWERED)
    expect(f.slice(-2)).toEqual(['10.244.0.3', '10.244.9.10'])
    expect(f).toEqual(expect.arrayContaining(['-r', '1', '-t', '500']))
    const url = probeUrl('10.244.0.3', 24242, 7)
    expect(url).toBe('http://10.244.0.3:24242/probe/7')
    const c = curlArgs([url, probeUrl('10.244.9.10', 24242, 8)], ANSWERED)
    expect(c.filter((a) => a === '/dev/null')).toHaveLength(2)
    expect(c).toEqual(expect.arrayContaining(['--noproxy', '*', '--parallel', '--connect-timeout', '2']))
    expect(c.join(' ')).toContain('%header{x-netlab-seen}')
  })
})

describe('echo hub and job runner framing', () => {
  it('the hub answers with the address it saw, in a header and the body', () => {
    const r = echoResponse('10.244.0.2', 'netlab-x.web-1')
    expect(r).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(r).toContain('X-Netlab-Seen: 10.244.0.2\r\n')
    expect(r).toContain('X-Netlab-Served-By: netlab-x.web-1\r\n')
    expect(r.endsWith('\r\n\r\n10.244.0.2\n')).toBe(true)
    expect(r).toContain(`Content-Length: ${'10.244.0.2\n'.length}\r\n`)
  })

  it('the hub reads the sockets the launcher left it', () => {
    expect(parseHubFds('3=netlab-x.web-0=10.244.0.2,4=netlab-x.internet=203.0.113.10')).toEqual([
      {fd: 3, netns: 'netlab-x.web-0', ip: '10.244.0.2'},
      {fd: 4, netns: 'netlab-x.internet', ip: '203.0.113.10'},
    ])
    expect(() => parseHubFds('x=ns=ip')).toThrow(/bad NETLAB_HUB_FDS/)
  })

  it('jobs go out as a header and NUL-terminated strings, namespace first', () => {
    expect(encodeJob(3, 'netlab-x.web-0', ['fping', '-e', '10.244.0.3'], 500).toString('latin1')).toBe(
      '3 500 35\nnetlab-x.web-0\0fping\0-e\x0010.244.0.3\0',
    )
    expect(() => encodeJob(1, '../etc', ['true'], 1)).toThrow(/namespace/)
    expect(() => encodeJob(1, 'ns', [], 1)).toThrow(/empty/)
    expect(() => encodeJob(1, 'ns', ['a\0b'], 1)).toThrow(/NUL/)
  })

  it('results come back framed by length, also when split across reads', () => {
    const frame = Buffer.from('7 1 0 0 6 3\nalive\nerr8 -1 15 1 0 0\n')
    const all = decodeResults(frame)
    expect(all.results).toEqual([
      {id: 7, code: 1, signal: 0, timedOut: false, stdout: 'alive\n', stderr: 'err'},
      {id: 8, code: -1, signal: 15, timedOut: true, stdout: '', stderr: ''},
    ])
    expect(all.rest.length).toBe(0)
    const part = decodeResults(frame.subarray(0, 15))
    expect(part.results).toEqual([])
    expect(part.rest.length).toBe(15)
    expect(() => decodeResults(Buffer.from('garbage\n'))).toThrow(/bad result header/)
  })
})

describe('verdicts and the report', () => {
  const probes = selectProbes(three)
  const byCheck = (check: Probe['check'], src: string, dst: string) =>
    probes.find((p) => p.check === check && p.src.name === src && p.dst.name === dst)!
  const allGood = (): Map<number, Observation> => {
    const obs = new Map<number, Observation>()
    for (const p of probes)
      obs.set(
        p.id,
        p.tool === 'ping'
          ? {reply: true}
          : {
              reply: true,
              seen: p.expect.reply ? p.expect.seen : undefined,
              local: p.expect.reply ? p.expect.seen : undefined,
              servedBy: p.dst.netns,
            },
      )
    return obs
  }
  const selfOk = () => new Map(allPods(three).map((p) => [p.name, {eth0: [p.ip]}]))

  it('a masqueraded pod-to-pod connection fails no-NAT with both addresses, while its ping passes', () => {
    const p = byCheck('no-nat-pod-pod', 'web-0', 'db')
    const r = judge(p, {reply: true, seen: '192.168.50.10', local: '10.244.0.2', servedBy: p.dst.netns})
    expect(r).toMatchObject({
      ok: false,
      expected: '10.244.0.2',
      seen: '192.168.50.10',
      src: {name: 'web-0', ip: '10.244.0.2'},
      dst: {name: 'db', ip: '10.244.9.10'},
    })
    expect(r.detail).toContain('NAT')
    expect(judge(byCheck('pod-pod-other-node', 'web-0', 'db'), {reply: true}).ok).toBe(true)
  })

  it('no reply fails an answered check; an answer from the wrong namespace fails too', () => {
    const p = byCheck('pod-pod-other-node', 'web-0', 'db')
    expect(judge(p, {reply: false, detail: 'no reply (timeout)'})).toMatchObject({
      ok: false,
      expected: 'reply',
      seen: 'no reply',
      detail: 'no reply (timeout)',
    })
    expect(judge(p, undefined)).toMatchObject({ok: false, seen: 'not probed'})
    const h = byCheck('no-nat-pod-pod', 'web-0', 'db')
    expect(judge(h, {reply: true, seen: '10.244.0.2', servedBy: 'netlab-three-node.web-1'})).toMatchObject({
      ok: false,
      detail: expect.stringContaining('answered by netlab-three-node.web-1'),
    })
  })

  it('with ipMasq off, silence from outside passes and an answer fails', () => {
    const off = {...three, ipMasq: false}
    const [ping, http] = selectProbes(off, {only: ['egress']})
    expect(judge(ping, {reply: false})).toMatchObject({ok: true, expected: 'no reply', seen: 'no reply'})
    expect(judge(http, {reply: true, seen: '10.244.0.2'})).toMatchObject({ok: false, expected: 'no reply', seen: '10.244.0.2'})
    const report = buildReport(
      off,
      'all-pairs',
      ['egress'],
      {
        probes: [ping, http],
        observations: new Map([
          [ping.id, {reply: false}],
          [http.id, {reply: false}],
        ]),
        self: new Map(),
      },
      1,
    )
    expect(report.checks.map((c) => c.note)).toEqual([NO_ROUTE_BACK, NO_ROUTE_BACK])
    expect(report.failed).toBe(0)
  })

  it('self-address: eth0, status and what peers saw must agree', () => {
    const obs = allGood()
    const ok = judgeSelf(three, probes, obs, selfOk())
    expect(ok).toHaveLength(5)
    expect(ok.every((r) => r.ok)).toBe(true)
    const badEth0 = judgeSelf(three, probes, obs, new Map([['web-0', {eth0: ['10.244.0.99']}]]))
    expect(badEth0).toMatchObject([{ok: false, detail: 'eth0 has 10.244.0.99, status says 10.244.0.2'}])
    const p = byCheck('no-nat-pod-pod', 'web-0', 'db')
    obs.set(p.id, {reply: true, seen: '192.168.50.10', local: '10.244.0.2'})
    const nat = judgeSelf(three, probes, obs, selfOk()).find((r) => r.src.name === 'web-0')!
    expect(nat.ok).toBe(false)
    expect(nat.detail).toContain('peers saw 192.168.50.10 (1 of 4)')
  })

  it('renders every check with ✓/✗, failures with source, destination, expected and seen, and the summary last', () => {
    const obs = allGood()
    const p = byCheck('no-nat-pod-pod', 'web-0', 'db')
    obs.set(p.id, {reply: true, seen: '192.168.50.10', local: '10.244.0.2', servedBy: p.dst.netns})
    const report = buildReport(three, 'all-pairs', sectionsFor(), {probes, observations: obs, self: selfOk()}, 42)
    expect(report.failed).toBe(2) // the pair, and web-0's self-address
    expect(report.passed + report.failed).toBe(probes.length + 5)
    const text = renderReport(report, {owners: addressOwners(three)})
    const lines = text.split('\n')
    expect(lines.at(-1)).toBe(`${report.passed} passed, 2 failed`)
    expect(text).toContain('✓ pod → pod on other nodes (ping): 16/16 passed')
    expect(text).toContain("✗ pod → pod: the receiver sees the source pod's own address (HTTP echo): 19/20 passed")
    expect(text).toContain(
      "✗ web-0 (10.244.0.2) → db (10.244.9.10): expected 10.244.0.2 (pod web-0), seen 192.168.50.10 (node-0's underlay address)",
    )
    expect(JSON.parse(JSON.stringify(report))).toMatchObject({lab: 'three-node', coverage: 'all-pairs', failed: 2, ms: 42})
  })

  it('big labs: counts and failures only, not thousands of ✓ lines', () => {
    const m = grid(50, 10)
    const ps = selectProbes(m, {only: ['pod-pod']})
    const obs = new Map<number, Observation>(ps.map((p) => [p.id, {reply: true}]))
    obs.set(ps[1].id, {reply: false, detail: 'no reply (timeout)'})
    const text = renderReport(buildReport(m, 'representative', ['pod-pod'], {probes: ps, observations: obs, self: new Map()}, 1))
    expect(text.split('\n').length).toBeLessThan(12)
    expect(text).toContain('✗ pod → pod on other nodes (ping): 2449/2450 passed')
    expect(text).toContain('✗ n0-p0 (10.244.0.2) → n1-p0 (10.244.1.2): expected reply, seen no reply — no reply (timeout)')
    expect(text.split('\n').at(-1)).toBe('2949 passed, 1 failed')
  })

  it('big checks keep their failures and count their passes (--all-checks keeps every result); small ones keep all', () => {
    const m = grid(50, 10)
    const ps = selectProbes(m, {only: ['pod-pod']})
    const obs = new Map<number, Observation>(ps.map((p) => [p.id, {reply: true}]))
    const bad = ps.find((p) => p.check === 'pod-pod-other-node' && p.src.name === 'n3-p4')!
    obs.set(bad.id, {reply: false, detail: 'no reply (timeout)'})
    const ev = {probes: ps, observations: obs, self: new Map()}
    const lean = buildReport(m, 'representative', ['pod-pod'], ev, 1)
    const other = lean.checks.find((c) => c.id === 'pod-pod-other-node')!
    expect([other.passed, other.failed, other.failuresOnly]).toEqual([2449, 1, true])
    expect(other.results.map((r) => [r.src.name, r.dst.name, r.ok])).toEqual([['n3-p4', bad.dst.name, false]])
    expect(failures(lean).map((f) => [f.check.id, f.result.src.name])).toEqual([['pod-pod-other-node', 'n3-p4']])
    const all = buildReport(m, 'representative', ['pod-pod'], ev, 1, {allChecks: true}).checks.find((c) => c.id === 'pod-pod-other-node')!
    expect([all.results.length, all.failuresOnly]).toEqual([2450, undefined])
    // the same totals either way; a check of at most LIST_SOURCES sources keeps its passes (the text lists them)
    expect(all.passed).toBe(other.passed)
    const small = buildReport(
      three,
      'all-pairs',
      ['pod-pod'],
      {probes: selectProbes(three, {only: ['pod-pod']}), observations: new Map(), self: new Map()},
      1,
    )
    for (const c of small.checks) expect(c.results.length).toBe(c.passed + c.failed)
  })

  it('a long list of failures is cut, with the node they have in common', () => {
    const m = grid(50, 10)
    const ps = selectProbes(m, {only: ['pod-pod']})
    const obs = new Map<number, Observation>(ps.map((p) => [p.id, {reply: p.src.node !== 'n7' && p.dst.node !== 'n7'}]))
    const text = renderReport(buildReport(m, 'representative', ['pod-pod'], {probes: ps, observations: obs, self: new Map()}, 1), {
      maxFailures: 5,
    })
    expect(text).toContain('... and 93 more failure(s) (--json lists them all)') // 49 from n7 and 49 to it, 5 shown
    expect(text).toContain('every failure involves node n7 (its pods, or the node itself)')
  })
})
