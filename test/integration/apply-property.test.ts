// `netlab apply` makes what a fresh `up` makes. A random topology (test/helpers/topologies.ts,
// at most 4 nodes of at most 3 pods) is brought up, then changed by 2-3 applies, each of 1-2
// random changes (a pod added to or removed from a node, a node added with 0-3 pods or removed
// with its pods, an external host or a VPC host added or removed); after each apply the lab's kernel state,
// namespace by namespace (test/helpers/kernel-state.ts, the equivalence test's comparison), and
// its saved model must be those of a twin lab brought up fresh from the same topology, once the
// twin's name and the addresses it was given in another order are written as the lab's
// (twinRewrite: nodes, pods and hosts match by name). Then `netlab probe` must pass on the lab.
//
// One run per routing mode, each from its own fixed seed (NETLAB_PROPERTY_SEED=<seed> draws
// others, or replays a failure: the seed and the drawn topology and changes are printed). A run
// costs about 2 s an apply (apply, the twin's up and down, two snapshots, a probe): few runs, no
// shrinking (it would rebuild labs for minutes).
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import type {LabModel} from '../../src/model/types.js'
import {ROUTING_MODES, routingMode} from '../../src/modes/index.js'
import {snapshot, twinRewrite} from '../helpers/kernel-state.js'
import {destroyLab, isRoot, labNetns, labSandbox, netlab, uniqueLab, writeTopology} from '../helpers/lab.js'
import {checkTopologies, propertySeed, validTopology, type TopologyDoc} from '../helpers/topologies.js'

const MAX_NODES = 4
const MAX_PODS = 3
const MAX_EXTERNAL = 3
const KINDS = ['add-pod', 'remove-pod', 'add-node', 'remove-node', 'add-external', 'remove-external'] as const

const change = fc.record({
  kind: fc.constantFrom(...KINDS),
  /** which node, pod or host (modulo how many there are) */
  pick: fc.nat(),
  /** a new node's pods */
  pods: fc.integer({min: 0, max: MAX_PODS}),
  /** a new node or host on the second underlay segment, when there is one */
  second: fc.boolean(),
  /** a new host a VM of the VPC (vpc: true, an underlay address; the first brings the VPC router), where the underlay has room */
  vpc: fc.boolean(),
})
type Change = typeof change extends fc.Arbitrary<infer T> ? T : never
const applies = fc.array(fc.array(change, {minLength: 1, maxLength: 2}), {minLength: 2, maxLength: 3})

type NodeDoc = TopologyDoc['nodes'][number]
type PodList = Exclude<NodeDoc['pods'], number | undefined>

/** A drawn topology made small: at most MAX_NODES nodes of at most MAX_PODS pods. */
function small(t: TopologyDoc): TopologyDoc {
  const nodes = t.nodes.slice(0, MAX_NODES).map((n) => ({
    ...n,
    ...(n.pods === undefined ? {} : {pods: typeof n.pods === 'number' ? Math.min(n.pods, MAX_PODS) : n.pods.slice(0, MAX_PODS)}),
  }))
  return {...t, nodes}
}

/**
 * A host-gw topology as an aws-vpc one (the generator draws only modes whose pods take their
 * node's subnet): no pod ranges, pods and nodes from the underlay, widened to the /24 around it.
 */
function asAwsVpc(t: TopologyDoc): TopologyDoc {
  const {podCIDR: _r, nodeSubnetSize: _s, ...cluster} = t.cluster
  const first = String(t.cluster.underlay).split('.').slice(0, 3).join('.')
  return {
    ...t,
    cluster: {...cluster, routing: 'aws-vpc', underlay: `${first}.0/24`} as TopologyDoc['cluster'],
    nodes: t.nodes.map(({podCIDR: _p, ...n}) => ({
      ...n,
      ...(Array.isArray(n.pods) ? {pods: n.pods.map((p) => (typeof p === 'string' ? p : p.name))} : {}),
    })),
  }
}

/** Random topologies of one routing mode. */
function topologies(mode: string): fc.Arbitrary<TopologyDoc> {
  const drawn = routingMode(mode).podsInUnderlay ? 'host-gw' : mode
  const arb = validTopology('apply').filter((t) => t.cluster.routing === drawn)
  return arb.map((t) => (drawn === mode ? small(t) : asAwsVpc(small(t))))
}

/** Where two snapshots differ, one line per namespace and field (the property's failure prints them: fast-check keeps only the message). */
function differences(mine: unknown[], fresh: unknown[]): string[] {
  const out: string[] = []
  const byNs = (list: unknown[]) => new Map(list.map((d) => [(d as {ns: string}).ns, d as Record<string, unknown>]))
  const [a, b] = [byNs(mine), byNs(fresh)]
  for (const ns of new Set([...a.keys(), ...b.keys()])) {
    const [x, y] = [a.get(ns), b.get(ns)]
    if (!x || !y) out.push(`${ns}: only in the ${x ? 'lab' : 'fresh one'}`)
    else
      for (const k of Object.keys(x)) {
        const [u, v] = [JSON.stringify(x[k]), JSON.stringify(y[k])]
        if (u !== v) out.push(`${ns}.${k}: ${u} | ${v}`)
      }
  }
  return out
}

const readModel = (stateDir: string, lab: string) =>
  (JSON.parse(readFileSync(join(stateDir, lab, 'state.json'), 'utf8')) as {model: LabModel}).model

/** An underlay of /27 or wider: room for 4 nodes, their pods where they hold underlay addresses, the router and 3 VPC hosts. */
const roomForVpc = (t: TopologyDoc) => [t.cluster.underlay].flat().every((u) => Number(u.split('/')[1]) <= 27)

/**
 * Make `c` on `t` (in place), or the first of the next kinds that can be made (a lab keeps one
 * node; a node takes at most MAX_PODS pods): what it did, in words. `model`: the lab's, to name
 * the pods of a node whose pods are a count.
 */
function make(t: TopologyDoc, c: Change, model: LabModel, seq: string): string {
  const pods = (n: NodeDoc): PodList => {
    if (Array.isArray(n.pods)) return n.pods
    n.pods = (model.nodes.find((m) => m.name === n.name)?.pods ?? []).map((p) => p.name)
    return n.pods
  }
  const podName = (p: PodList[number]) => (typeof p === 'string' ? p : p.name)
  const twoSegments = Array.isArray(t.cluster.underlay) && t.cluster.underlay.length > 1
  const segment = twoSegments && c.second ? {segment: 1} : {}
  const external = (t.external ??= [])
  for (let k = 0; k < KINDS.length; k++) {
    const kind = KINDS[(KINDS.indexOf(c.kind) + k) % KINDS.length]
    const roomy = t.nodes.filter((n) => pods(n).length < MAX_PODS)
    const all = t.nodes.flatMap((n) => pods(n).map((p) => [n, p] as const))
    if (kind === 'add-pod' && roomy.length > 0) {
      const n = roomy[c.pick % roomy.length]
      pods(n).push(`${seq}-pod`)
      return `+ pod ${seq}-pod on ${n.name}`
    }
    if (kind === 'remove-pod' && all.length > 0) {
      const [n, p] = all[c.pick % all.length]
      n.pods = pods(n).filter((q) => q !== p) as PodList
      return `- pod ${podName(p)} of ${n.name}`
    }
    if (kind === 'add-node' && t.nodes.length < MAX_NODES) {
      t.nodes.push({name: seq, ...segment, pods: Array.from({length: c.pods}, (_, i) => `${seq}-p${i}`)})
      return `+ node ${seq} (${c.pods} pods)`
    }
    if (kind === 'remove-node' && t.nodes.length > 1) {
      const [n] = t.nodes.splice(c.pick % t.nodes.length, 1)
      return `- node ${n.name}`
    }
    if (kind === 'add-external' && external.length < MAX_EXTERNAL) {
      const vpc = c.vpc && roomForVpc(t) ? {vpc: true} : {}
      external.push({name: seq, ...segment, ...vpc})
      return `+ ${'vpc' in vpc ? 'VPC host' : 'external'} ${seq}`
    }
    if (kind === 'remove-external' && external.length > 0) {
      const [e] = external.splice(c.pick % external.length, 1)
      return `- external ${e.name}`
    }
  }
  throw new Error(`no change can be made to ${JSON.stringify(t)}`)
}

describe.skipIf(!isRoot)('netlab apply makes what a fresh up of the new topology makes', () => {
  const {stateDir, env, track} = labSandbox()

  /** The lab against a twin brought up fresh from `t`: kernel state and saved model, the twin's written in the lab's words. */
  function sameAsFresh(lab: string, t: TopologyDoc, what: string): void {
    const twin = track(uniqueLab('twin'))
    try {
      const up = netlab(['up', writeTopology(stateDir, {...t, name: twin}), '-q'], env)
      expect(up.code, `${what}: the twin's up: ${up.stderr}`).toBe(0)
      const [mine, fresh] = [readModel(stateDir, lab), readModel(stateDir, twin)]
      const rewrite = twinRewrite(fresh, mine)
      expect(labNetns(lab).length, `${what}: namespaces`).toBe(labNetns(twin).length)
      const diffs = differences(snapshot(lab), snapshot(twin, rewrite))
      if (diffs.length > 0) throw new Error(`${what}: the kernel state is not a fresh up's (lab | fresh):\n${diffs.join('\n')}`)
      expect(mine, `${what}: saved model`).toEqual(JSON.parse(rewrite(JSON.stringify(fresh))))
    } finally {
      destroyLab(twin, stateDir)
    }
  }

  /** Bring `topology` up, make each apply of `applies` and check the lab against a fresh one after each. */
  function changed(topology: TopologyDoc, applies: Change[][]): void {
    const lab = track(uniqueLab('apply'))
    const t: TopologyDoc = structuredClone({...topology, name: lab})
    try {
      const up = netlab(['up', writeTopology(stateDir, {...t}), '-q'], env)
      expect(up.code, `up: ${up.stderr}`).toBe(0)
      for (const [k, changes] of applies.entries()) {
        const model = readModel(stateDir, lab)
        const did = changes.map((c, j) => make(t, c, model, `a${k}${j}`))
        const what = `apply ${k + 1} (${did.join(', ')})`
        const r = netlab(['apply', writeTopology(stateDir, {...t})], env)
        expect(r.code, `${what}: ${r.stderr}`).toBe(0)
        sameAsFresh(lab, t, what)
        const probe = netlab(['probe', lab], env)
        expect(probe.code, `${what}: probe:\n${probe.stdout}${probe.stderr}`).toBe(0)
        console.log(`apply property: ${t.cluster.routing}, ${t.nodes.length} nodes: ${what}: as a fresh up; probe passed`)
      }
    } finally {
      destroyLab(lab, stateDir)
    }
  }

  for (const [i, mode] of ROUTING_MODES.entries()) {
    it(`${mode}: a random topology, changed by 2-3 random applies, is after each one what a fresh up makes, and passes probe`, async () => {
      let runs = 0
      await checkTopologies(
        fc.record({topology: topologies(mode), applies}),
        ({topology, applies}) => {
          runs++
          changed(topology, applies)
        },
        {seed: propertySeed(40 + i), numRuns: 1, endOnFailure: true},
      )
      expect(runs).toBe(1)
    }, 120_000)
  }

  // What the random runs found once, kept: they may not draw it again.
  const change = (kind: Change['kind'], pick = 0): Change => ({kind, pick, pods: 1, second: false, vpc: false})
  const cluster = (routing: string) => ({podCIDR: '10.244.0.0/16', nodeSubnetSize: 24, underlay: '192.168.50.0/24', routing})
  it("vxlan: a node that leaves takes its VTEP's forwarding entry off every other node (the fdb entry's undo once kept the old plan's phase, and never ran)", () => {
    const nodes = ['n0', 'n1', 'n2'].map((name) => ({name, pods: [`${name}-q0`]}))
    changed({name: 'apply', cluster: cluster('vxlan'), nodes}, [[change('remove-node', 1)], [change('add-node')]])
  }, 60_000)
  it('host-gw: the first VPC host brings the VPC router (and every node its route), the last takes it away', () => {
    const nodes = ['n0', 'n1'].map((name) => ({name, pods: [`${name}-q0`]}))
    const vpcHost = {...change('add-external'), vpc: true}
    changed({name: 'apply', cluster: cluster('host-gw'), nodes}, [[vpcHost], [change('remove-external')]])
  }, 60_000)
  it("vpc-native: a node's bridge goes with its last pod and comes back with its first (it could not be taken back in place)", () => {
    const nodes = [
      {name: 'n0', pods: ['n0-q0']},
      {name: 'n1', pods: ['n1-q0']},
    ]
    changed({name: 'apply', cluster: cluster('vpc-native'), nodes}, [[change('remove-pod', 0)], [change('add-pod', 0)]])
  }, 60_000)
})
