// The pure core on random valid topologies (see test/helpers/topologies.ts for what is drawn):
// validation accepts each; the model's addresses are unique, inside their subnets and never a
// network, broadcast or gateway address; fixed choices are kept; and the plan creates every
// namespace and interface exactly once, and configures only interfaces it created.
// Seeded: NETLAB_PROPERTY_SEED=<seed> replays a failure.
import {describe, expect, it} from 'vitest'
import {buildModel} from '../../src/compile/model.js'
import {allNetns, allPods, type LabModel} from '../../src/model/types.js'
import {compilePlan} from '../../src/compile/plan.js'
import type {Plan} from '../../src/core/actions.js'
import {parseTopology} from '../../src/topology/parse.js'
import {checkTopologies, propertySeed, range, toInt, toYaml, validTopology, type TopologyDoc} from '../helpers/topologies.js'

const RUNS = 600

function checkModel(t: TopologyDoc, m: LabModel): void {
  const [pcFirst, pcLast] = range(m.podCIDR)
  const segments = m.segments.map((x) => range(x.cidr))
  const inSegment = (ip: number, k: number) => ip > segments[k][0] && ip < segments[k][1]
  const seen = new Map<number, string>()
  const unique = (ip: string, what: string) => {
    const n = toInt(ip)
    expect(seen.get(n), `${what} ${ip} is also ${seen.get(n)}`).toBeUndefined()
    seen.set(n, what)
    return n
  }
  expect(m.nodes.map((n) => n.name)).toEqual(t.nodes.map((n) => n.name))
  const subnets: [number, number][] = []
  for (const [i, n] of m.nodes.entries()) {
    const spec = t.nodes[i]
    // the node's underlay address
    const ip = unique(n.ip, `node ${n.name}`)
    expect(n.segment).toBe(spec.segment ?? 0)
    expect(inSegment(ip, n.segment), `node ${n.name} ${n.ip} is a host address of its segment ${m.segments[n.segment].cidr}`).toBe(true)
    if (spec.ip) expect(n.ip).toBe(spec.ip)
    // its pod subnet: a /nodeSubnetSize inside the cluster range, overlapping no other
    expect(n.podCIDR.endsWith(`/${m.nodeSubnetSize}`), n.podCIDR).toBe(true)
    const [first, last] = range(n.podCIDR)
    expect(first >= pcFirst && last <= pcLast, `${n.podCIDR} inside ${m.podCIDR}`).toBe(true)
    for (const [a, b] of subnets) expect(last < a || first > b, `${n.podCIDR} overlaps another node's subnet`).toBe(true)
    subnets.push([first, last])
    if (spec.podCIDR) expect(n.podCIDR).toBe(spec.podCIDR)
    // a mode's podGateway (bgp: 169.254.1.1) is every node's, held by no interface
    if (m.mode.podGateway) expect(n.gateway).toBe(m.mode.podGateway)
    else expect(unique(n.gateway, `${n.name}'s gateway`), `${n.name}'s gateway is the first address of ${n.podCIDR}`).toBe(first + 1)
    // its pods
    const wanted = typeof spec.pods === 'number' ? spec.pods : (spec.pods?.length ?? 0)
    expect(n.pods).toHaveLength(wanted)
    for (const [k, p] of n.pods.entries()) {
      const pip = unique(p.ip, `pod ${p.name}`)
      expect(
        pip > first + 1 && pip < last,
        `pod ${p.name} ${p.ip} is neither network, gateway nor broadcast of ${n.podCIDR}, and inside it`,
      ).toBe(true)
      const ps = Array.isArray(spec.pods) ? spec.pods[k] : undefined
      if (ps && typeof ps === 'object' && ps.ip) expect(p.ip).toBe(ps.ip)
    }
  }
  for (const e of m.external) {
    const ip = unique(e.ip, `external ${e.name}`)
    expect(
      (ip >= pcFirst && ip <= pcLast) || segments.some(([a, b]) => ip >= a && ip <= b),
      `external ${e.name} ${e.ip} is outside the cluster`,
    ).toBe(false)
  }
  // the router (a mode's VPC router, or the one joining segments): a host address on every segment
  if (m.router) for (const leg of m.router.legs) expect(inSegment(unique(leg.ip, `${m.router.name} ${leg.dev}`), leg.segment)).toBe(true)
  expect(m.router !== undefined).toBe(m.segments.length > 1 || m.members.some((x) => x.kind === 'router'))
  expect(m.external.map((e) => e.name)).toEqual((t.external ?? []).map((e) => e.name))
  expect(new Set(allNetns(m)).size).toBe(1 + m.nodes.length + m.external.length + allPods(m).length + (m.router ? 1 : 0))
}

/** `ip [-n NS0] link add name X [netns NS] ... [peer name Y netns NS2]`: the interfaces it creates, as "NS/X". */
function createdBy(args: string[], inside: string | null): string[] {
  if (args[0] !== 'link' || args[1] !== 'add') return []
  const peerAt = args.indexOf('peer')
  const own = peerAt >= 0 ? args.slice(0, peerAt) : args
  const name = own.includes('name') ? own[own.indexOf('name') + 1] : own[2]
  const made = [`${own.includes('netns') ? own[own.indexOf('netns') + 1] : inside}/${name}`]
  const peer = args.indexOf('peer')
  if (peer >= 0) {
    const rest = args.slice(peer)
    made.push(`${rest[rest.indexOf('netns') + 1]}/${rest[rest.indexOf('name') + 1]}`)
  }
  return made
}

/** The interface an action inside a namespace configures, if any. */
function configures(args: string[]): string | undefined {
  if (args[0] === 'link' && args[1] === 'set') return args[2]
  const dev = args.indexOf('dev')
  return dev >= 0 ? args[dev + 1] : undefined
}

function checkPlan(m: LabModel, plan: Plan): void {
  const namespaces = plan.actions.flatMap((a) => (a.creates ? [a.creates] : []))
  expect(new Set(namespaces).size, 'a namespace created twice').toBe(namespaces.length)
  expect([...namespaces].sort()).toEqual([...allNetns(m)].sort())
  const made = new Set<string>()
  for (const a of plan.actions) {
    for (const ifc of createdBy(a.args, a.netns)) {
      expect(made.has(ifc), `interface ${ifc} created twice`).toBe(false)
      made.add(ifc)
    }
    const dev = a.netns && a.tool === 'ip' ? configures(a.args) : undefined
    if (dev && dev !== 'lo')
      expect(
        made.has(`${a.netns}/${dev}`),
        `step ${a.id} configures ${dev} in ${a.netns}, which the plan never created (${a.args.join(' ')})`,
      ).toBe(true)
  }
  // a node without pods has no cni0 (nothing would ever give the bridge a carrier); pods cabled point to point (bgp) have none at all
  const bridged = !m.mode.neighbourShape?.ptp
  for (const n of m.nodes)
    expect(made.has(`${n.netns}/${n.bridge}`), `${n.name} (${n.pods.length} pods) has cni0`).toBe(bridged && n.pods.length > 0)
}

describe('random valid topologies: model and plan (pure)', () => {
  it(`${RUNS} topologies: validation accepts them; addresses unique and in their subnets; each namespace and interface created once`, async () => {
    let empty = 0
    let fixed = 0
    let pods = 0
    let fixedPods = 0
    let external = 0
    let masqOff = 0
    await checkTopologies(
      validTopology('prop'),
      (t) => {
        const m = buildModel(parseTopology(toYaml(t), 'generated.yaml')) // what `netlab validate` does: throws if invalid
        checkModel(t, m)
        checkPlan(m, compilePlan(m))
        empty += m.nodes.filter((n) => n.pods.length === 0).length
        fixed += t.nodes.filter((n) => n.ip || n.podCIDR).length
        pods += allPods(m).length
        fixedPods += t.nodes.flatMap((n) => (Array.isArray(n.pods) ? n.pods : [])).filter((p) => typeof p === 'object' && p.ip).length
        external += m.external.length
        masqOff += m.ipMasq ? 0 : 1
      },
      {seed: propertySeed(20261126), numRuns: RUNS},
    )
    // the generator covers what it promises (counted over every run, shrinks included)
    expect(empty).toBeGreaterThan(RUNS / 4)
    expect(fixed).toBeGreaterThan(RUNS / 4)
    expect(pods).toBeGreaterThan(RUNS * 2)
    expect(fixedPods).toBeGreaterThan(RUNS / 4)
    expect(external).toBeGreaterThan(RUNS / 2)
    expect(masqOff).toBeGreaterThan(RUNS / 5)
  })
})
