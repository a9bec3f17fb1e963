// The probe in a lab with policies, the pure parts: which probes run and what the policies make
// each expect, the UDP client and echo framing, and a report that sorts every probe into allowed
// and reachable, denied and blocked, and violations both ways naming the deciding policy.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {parse, stringify} from 'yaml'
import {buildModel} from '../../src/compile/model.js'
import {allPods, type LabModel} from '../../src/model/types.js'
import {echoPort, jobLine, parseResult} from '../../src/probe/engine.js'
import {servedPorts} from '../../src/probe/policy.js'
import {renderReport} from '../../src/probe/render.js'
import {sectionsFor, selectProbes} from '../../src/probe/select.js'
import type {Observation, Probe} from '../../src/probe/types.js'
import {loadTopologyFile, parseTopology} from '../../src/topology/parse.js'
import {THREE_NODE, TOPOLOGIES} from '../helpers/constants.js'
import {reportOf} from '../helpers/probe.js'

const THREE_TIER = join(TOPOLOGIES, 'policy-three-tier.yaml')
const tier = buildModel(loadTopologyFile(THREE_TIER))

/** The three-tier lab in another routing mode (and ipMasq). */
function tierIn(routing: string, ipMasq = true): LabModel {
  const topo = parse(readFileSync(THREE_TIER, 'utf8')) as Record<string, Record<string, unknown>>
  Object.assign(topo.cluster, {routing, ipMasq})
  return buildModel(parseTopology(stringify(topo), 'tier.yaml'))
}

const find = (probes: Probe[], check: Probe['check'], src: string, dst: string, port?: number) => {
  const p = probes.find((x) => x.check === check && x.src.name === src && x.dst.name === dst && x.port === port)
  if (!p) throw new Error(`no ${check} probe ${src} → ${dst}${port ? `:${port}` : ''}`)
  return p
}

/** What a healthy lab answers: whatever each probe expects. */
function asExpected(probes: Probe[]): Map<number, Observation> {
  return new Map(
    probes.map((p): [number, Observation] => [
      p.id,
      p.expect.reply
        ? {reply: true, seen: p.expect.seen, servedBy: p.dst.netns, ms: 1}
        : {reply: false, detail: "no reply: Couldn't connect to server", ms: 2},
    ]),
  )
}

describe('which probes run in a lab with policies, and what they must see', () => {
  const probes = selectProbes(tier)

  it('the echo service listens on every TCP and UDP port a policy names, and its own port is none of them', () => {
    expect(servedPorts(tier)).toEqual({tcp: [443, 5432, 8080], udp: [53]})
    expect(servedPorts(buildModel(loadTopologyFile(THREE_NODE)))).toEqual({tcp: [], udp: []})
    // a pid whose first choice is 20000 + (pid % 10000): that port is skipped when a policy names it
    expect(echoPort(8080, 0, [28080])).not.toBe(28080)
    expect(echoPort(8080, 0, [])).toBe(28080)
  })

  it("every probe that involves a pod carries the policies' verdict; a denied one must go unanswered", () => {
    for (const p of probes)
      expect(p.policy !== undefined, `${p.check} ${p.src.name} → ${p.dst.name}`).toBe(p.src.kind === 'pod' || p.dst.kind === 'pod')
    const frontToDb = find(probes, 'no-nat-pod-pod', 'frontend-0', 'db')
    // both ends deny it: both policies decide
    expect(frontToDb.expect).toEqual({
      reply: false,
      why: 'tcp (a port no policy names) denied: frontend-0 is isolated for egress by frontend-egress, and db is isolated for ingress by db-from-api, and no rule of theirs allows this',
    })
    expect(frontToDb.policy).toMatchObject({verdict: 'denied', policies: ['frontend-egress', 'db-from-api']})
    expect(find(probes, 'no-nat-pod-pod', 'batch', 'db').policy!.why).toBe(
      'denied: db is isolated for ingress by db-from-api, and no rule of it allows this',
    )
    const apiToDb = find(probes, 'policy-ports', 'api-0', 'db', 5432)
    expect(apiToDb).toMatchObject({
      tool: 'http',
      expect: {reply: true, seen: '10.244.0.3'},
      policy: {verdict: 'allowed', service: 'tcp/5432', policies: ['api-egress', 'db-from-api']},
    })
    expect(find(probes, 'policy-ports', 'api-1', 'dns', 53)).toMatchObject({
      tool: 'udp',
      expect: {reply: true, seen: tier.nodes[1].pods[1].ip},
      policy: {verdict: 'allowed'},
    })
    expect(find(probes, 'policy-ports', 'frontend-1', 'dns', 53).expect.reply).toBe(false)
    // egress to the internet on https only; masqueraded, so the internet sees node-0
    expect(find(probes, 'policy-ports', 'frontend-0', 'internet', 443).expect).toEqual({reply: true, seen: tier.nodes[0].ip})
    expect(find(probes, 'egress-reach', 'frontend-0', 'internet').expect.reply).toBe(false)
    // a node always reaches its own pods; another node's pings reach db (the ipBlock rule), not api
    expect(find(probes, 'node-own-pod', 'node-0', 'api-0').expect.reply).toBe(true)
    expect(find(probes, 'node-other-pod', 'node-0', 'db').expect.reply).toBe(true)
    expect(find(probes, 'node-other-pod', 'node-0', 'api-1').expect.reply).toBe(false)
    // unselected pods stay open
    expect(find(probes, 'pod-pod-other-node', 'batch', 'dns')).toMatchObject({
      expect: {reply: true},
      policy: {verdict: 'allowed', policies: []},
    })
  })

  it('denied probes get the short timeouts of probes that must go unanswered; each on the port a policy names', () => {
    for (const p of probes) expect(jobLine(p, 24242).endsWith(p.expect.reply ? '\ta' : '\ts')).toBe(true)
    expect(new Set(probes.map((p) => p.tool))).toEqual(new Set(['ping', 'http', 'udp']))
    const udp = probes.find((p) => p.tool === 'udp')!
    expect(jobLine(udp, 24242).split('\t').slice(0, 1).concat(jobLine(udp, 24242).split('\t').slice(4, 5))).toEqual([
      'udp',
      String(udp.port),
    ])
  })

  it("a pod's ping to its own address is allowed whatever isolates the pod: it never leaves the pod (its lo)", () => {
    const own = probes.filter((p) => p.check === 'pod-own-address')
    expect(own.map((p) => p.src.name)).toEqual(allPods(tier).map((p) => p.name))
    for (const p of own) {
      expect(p.dst).toBe(p.src)
      expect(p.expect.reply, p.src.name).toBe(true)
      expect(p.policy?.verdict, p.src.name).toBe('allowed')
    }
    // the pods that are isolated for ingress and deny pings from other pods are among them
    const deniedPings = probes.filter((p) => p.tool === 'ping' && p.dst.kind === 'pod' && p.policy?.verdict === 'denied')
    expect(deniedPings.length).toBeGreaterThan(0)
    expect(own.some((p) => deniedPings.some((d) => d.dst.name === p.src.name))).toBe(true)
  })

  it('external hosts → pods only where the underlay routes pod subnets; a vxlan node is seen as its flannel.1 address', () => {
    expect(probes.some((p) => p.check === 'policy-external')).toBe(false)
    const routes = selectProbes(tierIn('routes', false))
    const ext = find(routes, 'policy-external', 'internet', 'db')
    expect(ext.tool).toBe('ping')
    expect(ext.expect.reply).toBe(false) // db lets in pings from the nodes' network, and api on 5432
    expect(
      routes.find((p) => p.check === 'policy-external' && p.src.name === 'internet' && p.dst.name === 'batch' && p.tool === 'http')!.expect,
    ).toEqual({reply: true, seen: '203.0.113.10'})
    // vxlan: node-0 reaches db's node from 10.244.0.0, outside the 192.168.50.0/24 that db lets ping it
    const vx = selectProbes(tierIn('vxlan'))
    expect(find(vx, 'node-other-pod', 'node-0', 'db').expect.reply).toBe(false)
  })

  it('--only policy: the ports the policies name', () => {
    expect(sectionsFor(['policy'])).toEqual(['policy'])
    const only = selectProbes(tier, {only: ['policy']})
    expect(only.every((p) => p.check === 'policy-ports')).toBe(true)
    expect(only.length).toBeGreaterThan(0)
  })
})

describe('UDP results', () => {
  it("an answer names the address the server saw and who answered; a refusal (a policy's REJECT) is quick and says why", () => {
    expect(parseResult('ok\t3\t1.00\t10.244.0.3\tnetlab-x.dns\t10.244.0.3')!.observation).toEqual({
      reply: true,
      seen: '10.244.0.3',
      servedBy: 'netlab-x.dns',
      local: '10.244.0.3',
      ms: 1,
    })
    expect(parseResult('fail\t4\t0.21\t10.244.0.3\tno reply: No route to host')!.observation).toEqual({
      reply: false,
      local: '10.244.0.3',
      ms: 0.21,
      detail: 'no reply: No route to host',
    })
  })
})

describe('the report of a lab with policies', () => {
  const probes = selectProbes(tier)
  const report = (obs: Map<number, Observation>) =>
    reportOf(tier, 'all-pairs', sectionsFor(), {probes, observations: obs, self: new Map()}, 1000)

  it('a healthy lab: every probe allowed and reachable or denied and blocked; no violation; refusals timed', () => {
    const r = report(asExpected(probes))
    expect(r.failed).toBe(0)
    expect(r.sections.at(-1)).toBe('policy')
    const withVerdict = probes.filter((p) => p.policy)
    expect(r.policy).toMatchObject({policies: 4, isolated: {ingress: 3, egress: 4}, violations: []})
    expect(r.policy!.allowedReachable + r.policy!.deniedBlocked).toBe(withVerdict.length)
    expect(r.policy!.deniedBlocked).toBe(withVerdict.filter((p) => p.policy!.verdict === 'denied').length)
    expect(r.policy!.deniedMs).toEqual({count: expect.any(Number), median: 2, max: 2})
    const text = renderReport(r)
    expect(text).toContain('Policies: who may talk to whom')
    expect(text).toContain('✓ violations: none')
    expect(text).toMatch(/frontend-0 → internet:tcp\/443 api-0:tcp\/8080 api-1:tcp\/8080; \d+ blocked by policy/)
    // a lab without policies has no policy section
    const three = buildModel(loadTopologyFile(THREE_NODE))
    const plain = selectProbes(three)
    expect(plain.some((p) => p.policy)).toBe(false)
    expect(
      reportOf(three, 'all-pairs', sectionsFor(), {probes: plain, observations: asExpected(plain), self: new Map()}, 1).sections,
    ).not.toContain('policy')
  })

  it('violations both ways: a denied pair that answered and an allowed one that did not, each naming the deciding policy', () => {
    const obs = asExpected(probes)
    const leak = find(probes, 'policy-ports', 'batch', 'db', 5432) // denied: db lets in api only
    const cut = find(probes, 'policy-ports', 'api-0', 'db', 5432) // allowed by api-egress and db-from-api
    obs.set(leak.id, {reply: true, seen: leak.src.ip, servedBy: leak.dst.netns})
    obs.set(cut.id, {reply: false, detail: 'no reply: Timeout was reached', ms: 2000})
    const r = report(obs)
    expect(r.failed).toBe(2)
    expect(r.policy!.violations).toHaveLength(2)
    expect(r.policy!.violations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'denied-but-reachable',
          src: expect.objectContaining({name: 'batch'}),
          dst: expect.objectContaining({name: 'db'}),
          service: 'tcp/5432',
          policies: ['db-from-api'],
        }),
        expect.objectContaining({
          kind: 'allowed-but-blocked',
          src: expect.objectContaining({name: 'api-0'}),
          service: 'tcp/5432',
          policies: ['api-egress', 'db-from-api'],
        }),
      ]),
    )
    const text = renderReport(r)
    expect(text).toContain('✗ violations: 2 (1 denied but reachable, 1 allowed but blocked)')
    expect(text).toContain(
      `✗ denied but reachable: batch (${leak.src.ip}) → db (${leak.dst.ip}) tcp/5432 — db is isolated for ingress by db-from-api, and no rule of it allows this; it answered, seeing ${leak.src.ip}`,
    )
    expect(text).toContain(
      `✗ allowed but blocked: api-0 (${cut.src.ip}) → db (${cut.dst.ip}) tcp/5432 — allowed by api-egress (egress rule 1) and db-from-api (ingress rule 1); no reply (Timeout was reached)`,
    )
    expect(text.trimEnd().split('\n').at(-1)).toMatch(/^\d+ passed, 2 failed$/)
  })
})
