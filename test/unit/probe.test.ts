// `netlab probe`, the pure parts: which probes run, what each must see, the engine's lines, and
// how the verdicts are printed. No root, no namespaces.
import {Writable} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {stringify} from 'yaml'
import {buildModel, modelWith} from '../../src/compile/model.js'
import {allPods, type LabModel, type PodModel} from '../../src/model/types.js'
import {loadTopologyFile, parseTopology} from '../../src/topology/parse.js'
import {expectHttp, expectPing, externalEndpoint, NO_ROUTE_BACK, nodeEndpoint, podEndpoint} from '../../src/probe/expect.js'
import {judge} from '../../src/probe/judge.js'
import {egressSources, nodePodPairs, nodePodSourcePairs, podNodePairs, podPairs} from '../../src/probe/pairs.js'
import {addressOwners, renderReport} from '../../src/probe/render.js'
import {
  echoServices,
  engineFiles,
  engineLayout,
  eth0Addresses,
  jobLine,
  parseAddrsLine,
  parseResult,
  shareSources,
  shareTargets,
  withUnbound,
  writeWaiting,
} from '../../src/probe/engine.js'
import {ALL_PAIRS_MAX_PODS, coverageFor, labAddresses, sectionsFor, selectProbes} from '../../src/probe/select.js'
import type {Observation, Only, Probe, SelfObservation, ServeTarget} from '../../src/probe/types.js'
import {THREE_NODE} from '../helpers/constants.js'
import {reportOf} from '../helpers/probe.js'
import {progressLine} from '../../src/probe/progress.js'
import {isLiveTerminal} from '../../src/core/terminal.js'
import {smallModel} from '../helpers/model.js'

const three = buildModel(loadTopologyFile(THREE_NODE))

function grid(nodes: number, pods: number, opts: {ipMasq?: boolean; external?: boolean} = {}): LabModel {
  return smallModel('grid', {nodes, pods, ...opts})
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
    // the node's own address toward its pods and toward one pod on the next node: its two ways out
    expect(count(probes, 'no-nat-node-pod')).toBe(50 * (10 + 1))
    expect(
      nodePodSourcePairs(m, 'representative')
        .filter(([n]) => n.name === 'n49')
        .map(([, p]) => p.name),
    ).toContain('n0-p9')
    expect(nodePodSourcePairs(m, 'all-pairs')).toHaveLength(50 * 500)
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

  it('where one route carries a node to every other (routes mode), the cross-node checks grow with pods, not nodes²', () => {
    const m = smallModel('shared', {nodes: 60, pods: 3, routing: 'routes'})
    expect(m.mode.crossNodeRoutes).toBe('shared')
    const pairs = podPairs(m, 'representative')
    const across = pairs.filter(([s, d]) => s.node !== d.node)
    expect(across).toHaveLength(60 * 3) // a round per pod
    // every pod a source and a target across the router; every node a source and a target
    expect(new Set(across.map(([s]) => s.name)).size).toBe(180)
    expect(new Set(across.map(([, d]) => d.name)).size).toBe(180)
    expect(new Set(across.map(([s]) => s.node)).size).toBe(60)
    expect(new Set(across.map(([, d]) => d.node)).size).toBe(60)
    // each node: its own pods and one pod on the next node (the router's route to that node)
    const nodePods = nodePodPairs(m, 'representative')
    expect(nodePods).toHaveLength(60 * (3 + 1))
    expect(new Set(nodePods.filter(([n, p]) => p.node !== n.name).map(([, p]) => p.node)).size).toBe(60)
    // host-gw's per-node routes: every ordered pair still crossed
    const perNode = smallModel('per-node', {nodes: 60, pods: 3})
    expect(perNode.mode.crossNodeRoutes).toBeUndefined()
    expectRepresentative(perNode, podPairs(perNode, 'representative'))
    expect(nodePodPairs(perNode, 'representative')).toHaveLength(60 * (3 + 59))
    // --full is every pair whatever the mode
    expect(podPairs(m, 'all-pairs')).toHaveLength(180 * 179)
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
    expect(sectionsFor()).toEqual(['pod-pod', 'node-pod', 'no-nat', 'self-address', 'vpc', 'egress', 'policy', 'services'])
    expect(sectionsFor(['pod-pod'])).toEqual(['pod-pod'])
    expect(sectionsFor(['egress', 'no-nat'])).toEqual(['no-nat', 'self-address', 'egress'])
    const pings = selectProbes(three, {only: ['pod-pod']})
    expect(pings.every((p) => p.tool === 'ping' && p.src.kind === 'pod' && p.dst.kind === 'pod')).toBe(true)
    // 20 ordered pairs of 5 pods, and each pod to its own address
    expect(pings).toHaveLength(20 + 5)
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

  it('splits the sources among the engines: a source stays whole, the loads even', () => {
    const probes = selectProbes(three)
    const shares = shareSources(probes, 2)
    expect(shares).toHaveLength(2)
    expect(
      shares
        .flat()
        .map((p) => p.id)
        .sort((x, y) => x - y),
    ).toEqual(probes.map((p) => p.id))
    const sources = shares.map((s) => new Set(s.map((p) => p.src.netns)))
    for (const ns of sources[0]) expect(sources[1].has(ns)).toBe(false)
    // greedy, largest source first: the two differ by at most one source's probes
    const largest = Math.max(...[...new Set(probes.map((p) => p.src.netns))].map((ns) => probes.filter((p) => p.src.netns === ns).length))
    expect(Math.abs(shares[0].length - shares[1].length)).toBeLessThanOrEqual(largest)
    const big = shareSources(selectProbes(grid(50, 10)), 2)
    expect(Math.abs(big[0].length - big[1].length) / big[0].length).toBeLessThan(0.02)
    expect(shareSources([], 2)).toEqual([])
    expect(shareSources(probes, 1)).toHaveLength(1)
  })

  it('--udp: the no-NAT checks plan a datagram each to the echo port, which the targets then serve over UDP too', () => {
    const tcp = selectProbes(three, {full: true})
    const udp = selectProbes(three, {full: true, udp: true})
    expect(udp).toHaveLength(tcp.length)
    for (const id of ['no-nat-pod-pod', 'no-nat-node-pod'] as const) {
      expect(udp.filter((p) => p.check === id).every((p) => p.tool === 'udp' && p.port === undefined)).toBe(true)
      expect(tcp.filter((p) => p.check === id).every((p) => p.tool === 'http')).toBe(true)
    }
    // the rest is as it was: pings, and the egress checks' HTTP
    expect(udp.filter((p) => !p.check.startsWith('no-nat')).map((p) => p.tool)).toEqual(
      tcp.filter((p) => !p.check.startsWith('no-nat')).map((p) => p.tool),
    )
    const served = [...echoServices(udp, 20000, undefined).values()]
    const pod = three.nodes[0].pods[0]
    expect(served.filter((s) => s.netns === pod.netns).map((s) => s.proto)).toEqual(['tcp', 'udp'])
    expect([...echoServices(tcp, 20000, undefined).values()].some((s) => s.proto === 'udp')).toBe(false)
  })

  it('deals the echo sockets out by target namespace, and takes more engines where a share would not fit the open-files limit', () => {
    const services = echoServices(selectProbes(three), 20000, {tcp: [80], udp: [53]})
    const shares = shareTargets(services, 2)
    expect(shares.flat().sort()).toEqual([...services.keys()].sort())
    const engineOf = (netns: string) => shares.findIndex((keys) => keys.some((k) => k.startsWith(`${netns}\t`)))
    for (const [key, s] of services) expect(shares[engineOf(s.netns)]).toContain(key)
    expect(Math.abs(shares[0].length - shares[1].length)).toBeLessThanOrEqual(3) // a namespace's three sockets
    // a 10,000-pod lab: 10,100 sockets; under a hard limit of 20,000 two engines would each need
    // 5,050 sockets + their connections, which fits; under 6,000 it takes more engines
    const big = new Map(
      Array.from({length: 10100}, (_, i): [string, ServeTarget] => [`p${i}`, {netns: `p${i}`, ip: '10.0.0.1', proto: 'tcp', port: 20000}]),
    )
    expect(engineLayout(big, 2, 20000)).toBe(2)
    const more = engineLayout(big, 2, 6000)!
    expect(more).toBeGreaterThan(2)
    expect(engineFiles(Math.ceil(10100 / more), more)).toBeLessThanOrEqual(6000)
    expect(engineFiles(Math.ceil(10100 / (more - 1)), more - 1)).toBeGreaterThan(6000)
    expect(engineLayout(big, 2, 500)).toBeUndefined()
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
    const off = modelWith(three, {ipMasq: false})
    expect(expectHttp(off, podEndpoint(pod('db')), internet)).toEqual({reply: false, why: NO_ROUTE_BACK})
    expect(expectPing(off, podEndpoint(pod('db')), internet)).toEqual({reply: false, why: NO_ROUTE_BACK})
    expect(NO_ROUTE_BACK).toContain('no route back')
  })

  it('pings inside the cluster are always answered', () => {
    expect(expectPing(three, nodeEndpoint(node('node-0')), podEndpoint(pod('db')))).toEqual({reply: true})
    expect(expectPing(three, podEndpoint(pod('db')), nodeEndpoint(node('node-0')))).toEqual({reply: true})
  })
})

describe('the engine lines (assets/netlab-probe.pl)', () => {
  const probes = selectProbes(three)
  const find = (tool: Probe['tool'], src: string, dst: string) =>
    probes.find((p) => p.tool === tool && p.src.name === src && p.dst.name === dst)!

  it('a probe as a job line: tool, id, source namespace, target, port, patience', () => {
    const ping = find('ping', 'web-0', 'db')
    expect(jobLine(ping, 24242)).toBe(`ping\t${ping.id}\tnetlab-three-node.web-0\t10.244.9.10\ta`)
    const http = find('http', 'web-0', 'db')
    expect(jobLine(http, 24242)).toBe(`tcp\t${http.id}\tnetlab-three-node.web-0\t10.244.9.10\t24242\ta`)
    // a probe that must go unanswered is sent with the short timeouts
    const off = selectProbes(grid(2, 1, {ipMasq: false})).find((p) => !p.expect.reply && p.tool === 'ping')!
    expect(jobLine(off, 24242)).toMatch(/\ts$/)
    const udp: Probe = {...http, tool: 'udp', port: 5353}
    expect(jobLine(udp, 24242)).toBe(`udp\t${http.id}\tnetlab-three-node.web-0\t10.244.9.10\t5353\ta`)
  })

  it('results: a ping with its round trip and reply TTL, an echo with what the server saw, failures with why', () => {
    expect(parseResult('ok\t7\t0.06\t62')).toEqual({id: 7, observation: {reply: true, ttl: 62, ms: 0.06}})
    expect(parseResult('ok\t8\t1.20\t10.244.0.2\tnetlab-x.web-1\t10.244.0.2')).toEqual({
      id: 8,
      observation: {reply: true, seen: '10.244.0.2', servedBy: 'netlab-x.web-1', local: '10.244.0.2', ms: 1.2},
    })
    expect(parseResult('fail\t9\t0.31\t-\tICMP Network Unreachable from 10.244.0.1')).toEqual({
      id: 9,
      observation: {reply: false, detail: 'ICMP Network Unreachable from 10.244.0.1', ms: 0.31},
    })
    expect(parseResult('fail\t10\t2001.00\t10.244.0.2\tno reply (timeout)')).toEqual({
      id: 10,
      observation: {reply: false, local: '10.244.0.2', detail: 'no reply (timeout)', ms: 2001},
    })
    expect(parseResult('done')).toBeUndefined()
    expect(parseResult('ready')).toBeUndefined()
  })

  it('a failed echo to a target where the echo service could not listen says so; pings and replies are left alone', () => {
    const http = find('http', 'web-0', 'db')
    const unbound = new Map([['netlab-three-node.db', 'cannot listen on 10.244.9.10:tcp/24242 there: Cannot assign requested address']])
    expect(withUnbound(http, {reply: false, detail: 'no reply (timeout)'}, unbound).detail).toBe(
      'no echo service in db: cannot listen on 10.244.9.10:tcp/24242 there: Cannot assign requested address',
    )
    expect(withUnbound(http, {reply: true, seen: '10.244.0.2'}, unbound)).toEqual({reply: true, seen: '10.244.0.2'})
    expect(withUnbound(find('ping', 'web-0', 'db'), {reply: false, detail: 'x'}, unbound).detail).toBe('x')
    expect(withUnbound(http, {reply: false, detail: 'x'}, new Map()).detail).toBe('x')
  })

  it("the engine's address report: eth0 and its labelled aliases, nothing else", () => {
    const line = parseAddrsLine('addrs netlab-x.web-0 eth0=10.244.0.2 eth0=10.244.0.99 eth0:x=10.244.0.98 cni0=10.244.0.1')!
    expect(line.netns).toBe('netlab-x.web-0')
    expect(eth0Addresses(line.addrs)).toEqual(['10.244.0.2', '10.244.0.99', '10.244.0.98'])
    expect(parseAddrsLine('addrs netlab-x.db')).toEqual({netns: 'netlab-x.db', addrs: []})
    expect(parseAddrsLine('ready')).toBeUndefined()
  })
})

describe("writing to an engine's input", () => {
  it('waits while the stream is full, and leaves no listener behind per wait (a --full run waits thousands of times)', async () => {
    // a slow reader: every write fills it, so every write waits for it to drain
    const slow = new Writable({highWaterMark: 1024, write: (_chunk, _enc, done) => setTimeout(done, 1)})
    let drains = 0
    slow.on('drain', () => drains++)
    const before = ['close', 'error', 'drain'].map((e) => slow.listenerCount(e))
    for (let i = 0; i < 50; i++) await writeWaiting(slow, 'x'.repeat(2048), new Promise(() => {}))
    expect(drains).toBe(50)
    expect(['close', 'error', 'drain'].map((e) => slow.listenerCount(e))).toEqual(before)
  })

  it('a wait ends when the stream is destroyed, fails, or the engine is gone, and leaves no listener either', async () => {
    const stuck = () => new Writable({highWaterMark: 16, write: () => {}}) // takes nothing: every wait is for ever
    const ends: [string, (w: Writable, gone: () => void) => void][] = [
      ['destroyed', (w) => w.destroy()],
      ['failed', (w) => w.destroy(new Error('EPIPE'))],
      ['gone', (_w, gone) => gone()],
    ]
    for (const [why, end] of ends) {
      const w = stuck()
      w.on('error', () => {}) // the engine's stdin has one too
      let gone = () => {}
      const exited = new Promise<void>((resolve) => (gone = resolve))
      const before = ['close', 'error', 'drain'].map((e) => w.listenerCount(e))
      const wrote = writeWaiting(w, 'x'.repeat(64), exited)
      setTimeout(() => end(w, gone), 10)
      await expect(wrote, why).resolves.toBeUndefined()
      expect(
        ['close', 'error', 'drain'].map((e) => w.listenerCount(e)),
        why,
      ).toEqual(before)
    }
  })
})

describe('progress on a terminal (issue 22, 21)', () => {
  it('one line: done of all, failures so far, whole seconds; drawn only on a terminal with room for it', () => {
    expect(progressLine('big', 1234, 5678, 0, 4999)).toBe('probe of lab big: 1,234 of 5,678 probes done (4 s)')
    expect(progressLine('big', 10, 20, 3, 12_000)).toBe('probe of lab big: 10 of 20 probes done, 3 failed so far (12 s)')
    expect(isLiveTerminal({isTTY: true, columns: 80})).toBe(true)
    expect(isLiveTerminal({isTTY: true, columns: 0})).toBe(false) // a pseudo-terminal nobody sized
    expect(isLiveTerminal({isTTY: true})).toBe(false)
    expect(isLiveTerminal({isTTY: false, columns: 80})).toBe(false)
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

  it('a check with nothing to check is "not applicable", and a run where none applies says nothing was checked (issue 22, 17)', () => {
    const run = (m: LabModel, only: Only[], picked = true) => {
      const ps = selectProbes(m, {only})
      const obs = new Map(ps.map((p): [number, Observation] => [p.id, {reply: true}]))
      return reportOf(m, 'all-pairs', sectionsFor(only), {probes: ps, observations: obs, self: new Map()}, 0, {picked})
    }
    const lone = grid(1, 1, {external: false}) // no policies, one pod: no pair
    const policy = run(lone, ['policy'])
    expect(policy.checks.map((c) => [c.id, c.notApplicable])).toEqual([
      ['policy-ports', 'lab grid has no network policies (netlab policy apply adds them)'],
    ])
    expect(policy.notApplicable).toBe('no check of this run applies to lab grid: nothing was checked')
    const text = renderReport(policy)
    expect(text).toContain('  – the ports the policies name and the pods serve, TCP and UDP (HTTP and UDP echo): not applicable\n')
    expect(text.trimEnd().split('\n').at(-1)).toBe(
      '0 passed, 0 failed — no check of this run applies to lab grid: nothing was checked (not a failure: exit 0)',
    )
    // a check that planned no probe: not applicable, with its note as the reason where it has one
    const pods = run(lone, ['pod-pod', 'egress'])
    // a lone pod still has its own address to reach; every pair check has no pair
    expect(pods.checks.filter((c) => !c.notApplicable).map((c) => c.id)).toEqual(['pod-own-address'])
    expect(pods.checks.find((c) => c.id === 'egress-reach')!.notApplicable).toBe('the topology has no external hosts')
    expect(renderReport(pods)).not.toContain('nothing to probe')
    // a run of every section leaves the policy section out of a lab without policies, as before
    expect(run(lone, [], false).sections).not.toContain('policy')
    // where something applies, the report is not "nothing checked"
    expect(run(grid(2, 2, {external: false}), ['pod-pod']).notApplicable).toBeUndefined()
  })

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
    const off = modelWith(three, {ipMasq: false})
    const [ping, http] = selectProbes(off, {only: ['egress']})
    expect(judge(ping, {reply: false})).toMatchObject({ok: true, expected: 'no reply', seen: 'no reply'})
    expect(judge(http, {reply: true, seen: '10.244.0.2'})).toMatchObject({ok: false, expected: 'no reply', seen: '10.244.0.2'})
    const report = reportOf(
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
    // the self-address check alone: what its pods' eth0 held, and what their peers saw (no-nat-pod-pod)
    const judgeSelf = (self: Map<string, SelfObservation>) =>
      reportOf(three, 'all-pairs', ['self-address'], {probes, observations: obs, self}, 1).checks[0].results
    const ok = judgeSelf(selfOk())
    expect(ok).toHaveLength(5)
    expect(ok.every((r) => r.ok)).toBe(true)
    const badEth0 = judgeSelf(new Map([['web-0', {eth0: ['10.244.0.99']}]]))
    expect(badEth0).toMatchObject([{ok: false, detail: 'eth0 has 10.244.0.99, status says 10.244.0.2'}])
    const p = byCheck('no-nat-pod-pod', 'web-0', 'db')
    obs.set(p.id, {reply: true, seen: '192.168.50.10', local: '10.244.0.2'})
    const nat = judgeSelf(selfOk()).find((r) => r.src.name === 'web-0')!
    expect(nat.ok).toBe(false)
    expect(nat.detail).toContain('peers saw 192.168.50.10 (1 of 4)')
  })

  it('renders every check with ✓/✗, failures with source, destination, expected and seen, and the summary last', () => {
    const obs = allGood()
    const p = byCheck('no-nat-pod-pod', 'web-0', 'db')
    obs.set(p.id, {reply: true, seen: '192.168.50.10', local: '10.244.0.2', servedBy: p.dst.netns})
    const report = reportOf(three, 'all-pairs', sectionsFor(), {probes, observations: obs, self: selfOk()}, 42)
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
    const text = renderReport(reportOf(m, 'representative', ['pod-pod'], {probes: ps, observations: obs, self: new Map()}, 1))
    expect(text.split('\n').length).toBeLessThan(12)
    expect(text).toContain('✗ pod → pod on other nodes (ping): 2449/2450 passed')
    expect(text).toContain('✗ n0-p0 (10.244.0.2) → n1-p0 (10.244.1.2): expected reply, seen no reply — no reply (timeout)')
    // 2450 + 500 pairs, and the 500 pods each to its own address
    expect(text.split('\n').at(-1)).toBe('3449 passed, 1 failed')
  })

  it('big checks keep their failures and count their passes (--all-checks keeps every result); small ones keep all', () => {
    const m = grid(50, 10)
    const ps = selectProbes(m, {only: ['pod-pod']})
    const obs = new Map<number, Observation>(ps.map((p) => [p.id, {reply: true}]))
    const bad = ps.find((p) => p.check === 'pod-pod-other-node' && p.src.name === 'n3-p4')!
    obs.set(bad.id, {reply: false, detail: 'no reply (timeout)'})
    const ev = {probes: ps, observations: obs, self: new Map()}
    const lean = reportOf(m, 'representative', ['pod-pod'], ev, 1)
    const other = lean.checks.find((c) => c.id === 'pod-pod-other-node')!
    expect([other.passed, other.failed, other.failuresOnly]).toEqual([2449, 1, true])
    expect(other.results.map((r) => [r.src.name, r.dst.name, r.ok])).toEqual([['n3-p4', bad.dst.name, false]])
    expect(lean.checks.flatMap((c) => c.results.filter((r) => !r.ok).map((r) => [c.id, r.src.name]))).toEqual([
      ['pod-pod-other-node', 'n3-p4'],
    ])
    const all = reportOf(m, 'representative', ['pod-pod'], ev, 1, {allChecks: true}).checks.find((c) => c.id === 'pod-pod-other-node')!
    expect([all.results.length, all.failuresOnly]).toEqual([2450, undefined])
    // the same totals either way; a check of at most LIST_SOURCES sources keeps its passes (the text lists them)
    expect(all.passed).toBe(other.passed)
    const small = reportOf(
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
    const text = renderReport(reportOf(m, 'representative', ['pod-pod'], {probes: ps, observations: obs, self: new Map()}, 1), {
      maxFailures: 5,
    })
    expect(text).toContain('... and 93 more failures (--json lists them all)') // 49 from n7 and 49 to it, 5 shown
    expect(text).toContain('every failure involves node n7 (its pods, or the node itself)')
  })
})
