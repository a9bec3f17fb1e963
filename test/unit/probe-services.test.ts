// The probe's services section, pure: which probes each check plans for a lab's Services, what
// each must see (src/probe/services.ts, from the model alone), and how answers are judged — one
// by one (an endpoint answered, seeing the right source; refused at once) and across tries
// (spread, hairpin, affinity).
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import type {LabModel} from '../../src/model/types.js'
import {withUnbound} from '../../src/probe/engine.js'
import {judge} from '../../src/probe/judge.js'
import {renderReport} from '../../src/probe/render.js'
import {selectProbes} from '../../src/probe/select.js'
import {servicePorts, triesToHit, triesToSpread, triesToStick} from '../../src/probe/services.js'
import type {CheckId, Observation, Probe} from '../../src/probe/types.js'
import {reportOf} from '../helpers/probe.js'
import {model} from '../helpers/model.js'
import {SERVICES_LAB} from '../helpers/services.js'
import {toYaml, validTopology} from '../helpers/topologies.js'

const of = (probes: Probe[], id: CheckId) => probes.filter((p) => p.check === id)
const pod = (m: LabModel, name: string) => m.nodes.flatMap((n) => n.pods).find((p) => p.name === name)!
const node = (m: LabModel, name: string) => m.nodes.find((n) => n.name === name)!
const svc = (m: LabModel, name: string) => m.services!.list.find((s) => s.name === name)!

/** What the engine would report for a probe answered by `servedBy`, seeing `seen`. */
const answer = (seen: string, servedBy: string, ms = 1): Observation => ({reply: true, seen, servedBy, ms})

describe('the services section: what it probes and what each probe must see', () => {
  const m = model(SERVICES_LAB)
  const probes = selectProbes(m)
  const web = svc(m, 'web')

  it('pod → ClusterIP: every pod to every port that has endpoints, answered by an endpoint that sees the pod itself', () => {
    const mine = of(probes, 'service-cluster-ip')
    // 5 pods × (web:80, web:53/udp, api:8000, db:5432, sticky:81)
    expect(mine).toHaveLength(5 * 5)
    const p = mine.find((x) => x.src.name === 'client' && x.dst.ip === web.clusterIP && x.port === 80)!
    expect(p.tool).toBe('http')
    expect(p.dst).toMatchObject({kind: 'service', name: 'web:80'})
    expect(p.expect).toEqual({
      reply: true,
      by: Object.fromEntries(['web-0', 'web-1', 'web-2'].map((n) => [pod(m, n).netns, pod(m, 'client').ip])),
    })
    // the UDP port is probed with UDP, and its endpoints' echo sockets are the probe's (no pod declares 5353)
    const udp = mine.find((x) => x.src.name === 'client' && x.port === 53)!
    expect(udp.tool).toBe('udp')
    expect(udp.serves).toEqual(
      ['web-0', 'web-1', 'web-2'].map((n) => ({netns: pod(m, n).netns, ip: pod(m, n).ip, proto: 'udp', port: 5353})),
    )
  })

  it("an endpoint that lands on itself must see its node's address toward it (cni0's): hairpin masquerade", () => {
    const p = of(probes, 'service-cluster-ip').find((x) => x.src.name === 'web-1' && x.port === 80)!
    const by = (p.expect as {by: Record<string, string>}).by
    expect(by[pod(m, 'web-1').netns]).toBe(node(m, 'node-1').gateway)
    expect(by[pod(m, 'web-0').netns]).toBe(pod(m, 'web-1').ip)
  })

  it("node → ClusterIP: masqueraded to the node's address toward the endpoint (cni0 for its own pods, the underlay for others)", () => {
    const p = of(probes, 'service-node-cluster-ip').find((x) => x.src.name === 'node-1' && x.port === 80)!
    const by = (p.expect as {by: Record<string, string>}).by
    expect(by[pod(m, 'web-1').netns]).toBe(node(m, 'node-1').gateway)
    expect(by[pod(m, 'web-0').netns]).toBe(node(m, 'node-1').ip)
    expect(of(probes, 'service-node-cluster-ip')).toHaveLength(3 * 5)
  })

  it('NodePort Cluster: from the external host and every node to every node, seen as the node that took it', () => {
    const mine = of(probes, 'service-node-port-cluster')
    const api = svc(m, 'api').ports[0]
    expect(mine).toHaveLength((1 + 3) * 3)
    expect(mine.every((p) => p.port === api.nodePort && p.dst.kind === 'node')).toBe(true)
    const p = mine.find((x) => x.src.name === 'internet' && x.dst.name === 'node-2')!
    // node-2 has no endpoint: every endpoint is on another node, reached over the underlay
    expect(new Set(Object.values((p.expect as {by: Record<string, string>}).by))).toEqual(new Set([node(m, 'node-2').ip]))
  })

  it("NodePort Local: only a node's own endpoints, seeing the client; a node without one does not answer; a node to itself goes cluster-wide", () => {
    const mine = of(probes, 'service-node-port-local')
    const toNode0 = mine.find((x) => x.src.name === 'internet' && x.dst.name === 'node-0')!
    expect(toNode0.expect).toEqual({reply: true, by: {[pod(m, 'db-0').netns]: m.external[0].ip}})
    const toNode1 = mine.find((x) => x.src.name === 'internet' && x.dst.name === 'node-1')!
    expect(toNode1.expect.reply).toBe(false)
    expect(toNode1.expect.reply === false && toNode1.expect.why).toMatch(/externalTrafficPolicy Local: node-1 has no endpoint/)
    const fromNode1 = mine.find((x) => x.src.name === 'node-1' && x.dst.name === 'node-1')!
    expect(fromNode1.expect).toEqual({reply: true, by: {[pod(m, 'db-0').netns]: node(m, 'node-1').ip}})
    const node0To0 = mine.find((x) => x.src.name === 'node-0' && x.dst.name === 'node-0')!
    expect(node0To0.expect).toEqual({reply: true, by: {[pod(m, 'db-0').netns]: node(m, 'node-0').gateway}})
  })

  it('spread, hairpin and affinity try enough times; a Service without endpoints is expected refused from every pod and node', () => {
    expect(of(probes, 'service-spread').filter((p) => p.port === 80 && p.tool === 'http')).toHaveLength(triesToSpread(3))
    // api (3 endpoints) too; db has one endpoint, sticky has affinity: no spread for them
    expect(new Set(of(probes, 'service-spread').map((p) => p.dst.name))).toEqual(new Set(['web:80', 'web:53/udp', 'api:8000']))
    expect(of(probes, 'service-spread').every((p) => p.src.name === 'db-0')).toBe(true) // the first pod that is no endpoint
    // every endpoint of web:80 tries itself; sticky's (affinity, 3 endpoints) are left out; db's one endpoint once
    const hairpin = of(probes, 'service-hairpin')
    expect(hairpin.filter((p) => p.port === 80 && p.src.name === 'web-2')).toHaveLength(triesToHit(3))
    expect(hairpin.some((p) => p.dst.name === 'sticky:81')).toBe(false)
    expect(hairpin.filter((p) => p.dst.name === 'db:5432')).toHaveLength(1)
    expect(of(probes, 'service-affinity')).toHaveLength(triesToStick(3))
    const refused = of(probes, 'service-no-endpoints')
    expect(refused.map((p) => p.src.name).sort()).toEqual(
      [...m.nodes.flatMap((n) => n.pods.map((p) => p.name)), 'node-0', 'node-1', 'node-2'].sort(),
    )
    expect(refused.every((p) => p.expect.reply === false && p.expect.refused && p.serves?.length === 0)).toBe(true)
  })

  it('the tries: a working lab fails a check by chance less than once in a million', () => {
    for (const n of [2, 3, 5, 10]) {
      expect(n * (1 - 1 / n) ** triesToSpread(n)).toBeLessThanOrEqual(1e-6 * (1 + 1e-12))
      expect((1 - 1 / n) ** triesToHit(n)).toBeLessThanOrEqual(1e-6 * (1 + 1e-12))
      expect(n * (1 / n) ** triesToStick(n)).toBeLessThanOrEqual(1e-6 * (1 + 1e-12))
    }
    expect([triesToSpread(2), triesToHit(2), triesToStick(2)]).toEqual([21, 20, 21])
  })

  it('a representative run (above 100 pods) sends each port from one pod a node, a different one for each port', () => {
    const rep = selectProbes(m, {full: false, only: ['services']}).length
    expect(rep).toBe(selectProbes(m, {only: ['services']}).length) // 5 pods: every pair
    const big = model(SERVICES_LAB.replace('pods: [{name: client}]', 'pods: 100'))
    const clusterIp = of(selectProbes(big, {only: ['services']}), 'service-cluster-ip')
    for (const port of [80, 53, 8000, 5432, 81])
      expect(clusterIp.filter((p) => p.port === port).map((p) => p.src.node)).toEqual(['node-0', 'node-1', 'node-2'])
    expect(new Set(clusterIp.filter((p) => p.src.node === 'node-2').map((p) => p.src.name)).size).toBe(5)
  })

  it('--only services picks the section; other sections plan none of it', () => {
    expect(new Set(selectProbes(m, {only: ['services']}).map((p) => p.check.startsWith('service-')))).toEqual(new Set([true]))
    expect(selectProbes(m, {only: ['pod-pod']}).some((p) => p.check.startsWith('service-'))).toBe(false)
  })
})

describe('the services section: judging the answers', () => {
  const m = model(SERVICES_LAB)
  const probes = selectProbes(m, {only: ['services']})
  const clientTo80 = probes.find((p) => p.check === 'service-cluster-ip' && p.src.name === 'client' && p.port === 80)!
  const clientIp = pod(m, 'client').ip

  it('passes an endpoint that saw the pod; fails an answer from elsewhere, or a rewritten source', () => {
    expect(judge(clientTo80, answer(clientIp, pod(m, 'web-1').netns)).ok).toBe(true)
    const stranger = judge(clientTo80, answer(clientIp, pod(m, 'db-0').netns))
    expect(stranger).toMatchObject({ok: false, detail: expect.stringMatching(/no endpoint of the Service/)})
    const snat = judge(clientTo80, {...answer(node(m, 'node-2').ip, pod(m, 'web-0').netns), local: clientIp})
    expect(snat).toMatchObject({ok: false, expected: clientIp, detail: expect.stringMatching(/NAT/)})
    expect(judge(clientTo80, {reply: false, detail: 'no reply (timeout)'}).ok).toBe(false)
  })

  it("a failure names the endpoints where the probe could not serve the Service's target port", () => {
    const udp = probes.find((p) => p.check === 'service-cluster-ip' && p.src.name === 'client' && p.port === 53)!
    const unbound = new Map([[`${pod(m, 'web-1').netns} udp/5353`, 'cannot listen on 10.244.1.2:udp/5353 there: Address already in use']])
    expect(withUnbound(udp, {reply: false, detail: 'no reply (timeout)'}, unbound).detail).toBe(
      'no reply (timeout); no echo service in 1 of its endpoints: cannot listen on 10.244.1.2:udp/5353 there: Address already in use',
    )
    expect(withUnbound(clientTo80, {reply: false, detail: 'no reply (timeout)'}, unbound).detail).toBe('no reply (timeout)')
  })

  it('a Service without endpoints must be refused: a timeout or an answer fail, a slow refusal is still one', () => {
    const p = probes.find((x) => x.check === 'service-no-endpoints')!
    expect(judge(p, {reply: false, detail: 'no reply: Connection refused', ms: 0.4}).ok).toBe(true)
    expect(judge(p, {reply: false, detail: 'no reply (timeout)', ms: 500}).ok).toBe(false)
    expect(judge(p, {reply: false, detail: 'no reply: Connection refused', ms: 1500})).toMatchObject({
      ok: true,
      seen: 'refused after 1500 ms',
    })
    expect(judge(p, answer(clientIp, pod(m, 'web-0').netns)).ok).toBe(false)
    // a node's own datagram stopped by the REJECT in its OUTPUT chain fails to send (EPERM); from a pod, that is no kube-proxy rule
    const udp = (src: string) => probes.find((x) => x.check === 'service-no-endpoints' && x.src.name === src)!
    const eperm: Observation = {reply: false, detail: 'no reply: Operation not permitted', ms: 0.1}
    expect(judge(udp('node-0'), eperm)).toMatchObject({ok: true, seen: 'rejected by its own rule after 0.1 ms'})
    expect(judge(udp('client'), eperm).ok).toBe(false)
  })

  /** The report when every probe is answered by `pick(probe, i)`, seeing what the probe expects of it. */
  function reportWith(pick: (p: Probe, i: number) => string | undefined) {
    const observations = new Map<number, Observation>()
    probes.forEach((p, i) => {
      if (!p.expect.reply) {
        observations.set(p.id, {reply: false, detail: p.expect.refused ? 'no reply: Connection refused' : 'no reply (timeout)', ms: 1})
        return
      }
      const by = p.expect.by!
      const ns = pick(p, i) ?? Object.keys(by)[i % Object.keys(by).length]
      observations.set(p.id, answer(by[ns], ns))
    })
    return reportOf(m, 'all-pairs', ['services'], {probes, observations, self: new Map()}, 1)
  }
  const count = (r: ReturnType<typeof reportWith>, id: CheckId) => r.checks.find((c) => c.id === id)!

  it('a lab whose every endpoint answers in turn passes every check', () => {
    // affinity's tries all from one endpoint; the rest round-robin
    const r = reportWith((p) => (p.check === 'service-affinity' ? pod(m, 'web-2').netns : undefined))
    expect(r.failed).toBe(0)
    expect(r.checks.map((c) => c.id)).toEqual([
      'service-cluster-ip',
      'service-spread',
      'service-hairpin',
      'service-node-cluster-ip',
      'service-node-port-cluster',
      'service-node-port-local',
      'service-affinity',
      'service-no-endpoints',
    ])
    expect(count(r, 'service-spread')).toMatchObject({passed: 3, failed: 0})
    const text = renderReport(r)
    expect(text).toMatch(/db-0 → web:80: web-0 ×\d+, web-1 ×\d+, web-2 ×\d+/)
    expect(text).toContain(`web:80 ${triesToSpread(3)} tries for 3 endpoints`)
  })

  it('spread fails when an endpoint never answers; affinity when a client is sent to two; hairpin when an endpoint never reaches itself', () => {
    const web0 = pod(m, 'web-0').netns
    const r = reportWith((p, i) => {
      const endpoints = Object.keys((p.expect as {by: Record<string, string>}).by)
      const others = (ns: string) => endpoints.filter((x) => x !== ns)
      // spread: every endpoint but web-0; hairpin: every endpoint but the client; affinity: two in turn
      if (p.check === 'service-spread') return others(web0)[i % 2]
      if (p.check === 'service-hairpin') return others(p.src.netns)[0]
      return p.check === 'service-affinity' ? endpoints[i % 2] : undefined
    })
    expect(count(r, 'service-spread')).toMatchObject({failed: 3})
    expect(count(r, 'service-spread').results[0].detail).toBe('never answered: web-0')
    expect(count(r, 'service-affinity')).toMatchObject({passed: 0, failed: 1})
    expect(count(r, 'service-hairpin').failed).toBeGreaterThan(0)
    expect(count(r, 'service-cluster-ip').failed).toBe(0)
    expect(renderReport(r)).toMatch(/see why: netlab trace --lab lab db-0 10\.96\.\d+\.\d+ --proto tcp --port 80/)
  })
})

describe('the services section: not applicable', () => {
  it('with cluster.proxy none, each check says why; a lab without Services leaves the section out unless asked', () => {
    const none = model(SERVICES_LAB.replace('serviceCIDR: 10.96.0.0/16', 'serviceCIDR: 10.96.0.0/16, proxy: none'))
    expect(selectProbes(none, {only: ['services']})).toEqual([])
    const r = reportOf(none, 'all-pairs', ['services'], {probes: [], observations: new Map(), self: new Map()}, 1)
    expect(r.checks.every((c) => /cluster\.proxy is none/.test(c.notApplicable ?? ''))).toBe(true)
    const plain = model(SERVICES_LAB.replace(/\nservices:[\s\S]*$/, '\n'))
    expect(
      reportOf(plain, 'all-pairs', ['pod-pod', 'services'], {probes: [], observations: new Map(), self: new Map()}, 1).sections,
    ).toEqual(['pod-pod'])
    const asked = reportOf(plain, 'all-pairs', ['services'], {probes: [], observations: new Map(), self: new Map()}, 1, {picked: true})
    expect(asked.checks.every((c) => /has no Services/.test(c.notApplicable ?? ''))).toBe(true)
  })
})

describe("the property test's topologies with Services", () => {
  it('each is valid, and the section probes every port of every Service (through its ClusterIP)', () => {
    const drawn = fc.sample(validTopology('prop', {services: true}), {seed: 8, numRuns: 60}).filter((t) => t.services)
    expect(drawn.length).toBeGreaterThan(15)
    for (const t of drawn) {
      const m = model(toYaml(t))
      const probes = selectProbes(m, {only: ['services']})
      for (const {svc, port} of servicePorts(m))
        expect(
          probes.some((p) => p.dst.ip === svc.clusterIP && p.port === port.port),
          `${svc.name}:${port.port} in\n${toYaml(t)}`,
        ).toBe(true)
    }
  })
})
