// Which probes to run. Pure: the lab model and the options in, the list of probes out.
//
// Up to ALL_PAIRS_MAX_PODS pods (or with --full): every ordered pod pair, every node to every pod,
// every pod to every node. Above that, a representative set that still proves every piece of
// wiring: each pod to the next pod on its own node; every ordered node pair crossed by a pod →
// pod check, with every pod a cross-node source and a cross-node target at least once; each node
// to each of its pods and one pod on every other node (no-NAT: its pods and one pod on the next
// node, see nodePodSourcePairs); each pod to its own node and the next node.
// A route, a bridge port, a veth, an address or a masquerade rule is used by one of them: the
// cross-node pairs are about max(nodes, pods per node) per node instead of pods × nodes.
import type {LabModel, NodeModel, PodModel, Endpoint} from '../model/types.js'
import {expectHttp, expectPing, externalEndpoint, nodeEndpoint, podEndpoint} from './expect.js'
import {namedPorts, withPolicy} from './policy.js'
import {SECTIONS, type CheckId, type Coverage, type Only, type Probe, type Section} from './types.js'

export const ALL_PAIRS_MAX_PODS = 100

export interface SelectOptions {
  full?: boolean
  only?: Only[]
}

export function coverageFor(model: LabModel, full = false): Coverage {
  const pods = model.nodes.reduce((n, node) => n + node.pods.length, 0)
  return full || pods <= ALL_PAIRS_MAX_PODS ? 'all-pairs' : 'representative'
}

/** The report sections a run covers: everything, or what --only picked (self-address comes with no-nat). */
export function sectionsFor(only?: Only[]): Section[] {
  if (!only || only.length === 0) return [...SECTIONS]
  const picked = new Set<Section>(only)
  if (picked.has('no-nat')) picked.add('self-address')
  return SECTIONS.filter((s) => picked.has(s))
}

/** Which section each check belongs to. */
export const SECTION_OF: Record<CheckId, Section> = {
  'pod-pod-same-node': 'pod-pod',
  'pod-pod-other-node': 'pod-pod',
  'node-own-pod': 'node-pod',
  'node-other-pod': 'node-pod',
  'pod-node': 'node-pod',
  'no-nat-pod-pod': 'no-nat',
  'no-nat-node-pod': 'no-nat',
  'self-address': 'self-address',
  'vpc-pod-reach': 'vpc',
  'vpc-pod-source': 'vpc',
  'pod-vpc-reach': 'vpc',
  'pod-vpc-source': 'vpc',
  'pod-in-vpc-subnet': 'vpc',
  'egress-reach': 'egress',
  'egress-source': 'egress',
  'policy-ports': 'policy',
  'policy-external': 'policy',
}

type Pair<S, D> = [S, D]

/** pod → pod pairs: all ordered pairs, or the representative set (see the top of this file). */
export function podPairs(model: LabModel, coverage: Coverage): Pair<PodModel, PodModel>[] {
  const nodes = model.nodes.filter((n) => n.pods.length > 0)
  if (coverage === 'all-pairs') {
    const all = nodes.flatMap((n) => n.pods)
    return all.flatMap((src) => all.filter((dst) => dst !== src).map((dst): Pair<PodModel, PodModel> => [src, dst]))
  }
  // each source's targets, kept in the lab's order of sources: the report lists them that way
  const targetsOf = new Map(nodes.flatMap((n) => n.pods).map((p): [PodModel, PodModel[]] => [p, []]))
  const add = (src: PodModel, dst: PodModel) => targetsOf.get(src)!.push(dst)
  // the same node: each pod to the next one (the bridge, both pods' cables)
  for (const node of nodes) if (node.pods.length > 1) node.pods.forEach((src, i) => add(src, node.pods[(i + 1) % node.pods.length]))
  // other nodes: round k of node n goes to the (k mod (M-1))+1-th next node, from its pod k and to
  // that node's pod k (both modulo their pod counts). Rounds 0..M-2 cross every ordered node pair;
  // rounds up to the node's pod count make every pod a source; and since the nodes sending round k
  // go to distinct nodes, every index below the pod counts is a target too.
  const m = nodes.length
  if (m > 1) {
    const reached = new Set<PodModel>()
    nodes.forEach((node, n) => {
      for (let k = 0; k < Math.max(m - 1, node.pods.length); k++) {
        const other = nodes[(n + 1 + (k % (m - 1))) % m]
        const dst = other.pods[k % other.pods.length]
        add(node.pods[k % node.pods.length], dst)
        reached.add(dst)
      }
    })
    // nodes of unequal sizes: a pod no round reached, from the node before its own
    nodes.forEach((node, n) => {
      const before = nodes[(n + m - 1) % m]
      node.pods.forEach((dst, i) => reached.has(dst) || add(before.pods[i % before.pods.length], dst))
    })
  }
  return [...targetsOf].flatMap(([src, dsts]) => dsts.map((dst): Pair<PodModel, PodModel> => [src, dst]))
}

/** node → pod pairs: every pod, or own pods plus one pod on every other node. */
export function nodePodPairs(model: LabModel, coverage: Coverage): Pair<NodeModel, PodModel>[] {
  const pairs: Pair<NodeModel, PodModel>[] = []
  model.nodes.forEach((node, n) => {
    for (const other of model.nodes) {
      if (other === node || coverage === 'all-pairs') for (const pod of other.pods) pairs.push([node, pod])
      else if (other.pods.length > 0) pairs.push([node, other.pods[n % other.pods.length]])
    }
  })
  return pairs
}

/**
 * node → pod pairs for the no-NAT check: what the pod sees is the node's address on the route's
 * device, and a node has one way out toward all other nodes (its underlay, or flannel.1). So
 * the representative set is its own pods (cni0) and one pod on the next node with pods (that
 * device), where the ping check (nodePodPairs) goes to every other node.
 */
export function nodePodSourcePairs(model: LabModel, coverage: Coverage): Pair<NodeModel, PodModel>[] {
  if (coverage === 'all-pairs') return nodePodPairs(model, coverage)
  const count = model.nodes.length
  return model.nodes.flatMap((node, n) => {
    const pairs = node.pods.map((pod): Pair<NodeModel, PodModel> => [node, pod])
    for (let k = 1; k < count; k++) {
      const next = model.nodes[(n + k) % count]
      if (next.pods.length === 0) continue
      pairs.push([node, next.pods[n % next.pods.length]])
      break
    }
    return pairs
  })
}

/** pod → node pairs: every node, or its own node and the next one. */
export function podNodePairs(model: LabModel, coverage: Coverage): Pair<PodModel, NodeModel>[] {
  const pairs: Pair<PodModel, NodeModel>[] = []
  const count = model.nodes.length
  model.nodes.forEach((node, n) => {
    for (const pod of node.pods) {
      if (coverage === 'all-pairs') for (const target of model.nodes) pairs.push([pod, target])
      else {
        pairs.push([pod, node])
        if (count > 1) pairs.push([pod, model.nodes[(n + 1) % count]])
      }
    }
  })
  return pairs
}

/** Pods that probe the external hosts: all of them, except that a representative run whose probes
 *  are expected to go unanswered (ipMasq off) sends them from one pod per node only. */
export function egressSources(model: LabModel, coverage: Coverage): PodModel[] {
  if (model.ipMasq || coverage === 'all-pairs') return model.nodes.flatMap((n) => n.pods)
  return model.nodes.filter((n) => n.pods.length > 0).map((n) => n.pods[0])
}

export function selectProbes(model: LabModel, opts: SelectOptions = {}): Probe[] {
  const coverage = coverageFor(model, opts.full)
  const sections = new Set(sectionsFor(opts.only))
  const probes: Probe[] = []
  // one endpoint object per pod, node and host, shared by all its probes (--full: 500k probes)
  const endpoints = new Map<object, Endpoint>()
  const ep = <T extends object>(x: T, make: (x: T) => Endpoint): Endpoint => {
    let e = endpoints.get(x)
    if (!e) endpoints.set(x, (e = make(x)))
    return e
  }
  const pod = (p: PodModel) => ep(p, podEndpoint)
  const node = (n: NodeModel) => ep(n, nodeEndpoint)
  // and one expectation object per distinct expectation: a --full run has a handful of them
  const expectations = new Map<string, Probe['expect']>()
  const add = (check: CheckId, tool: Probe['tool'], src: Endpoint, dst: Endpoint, port?: number) => {
    const base = tool === 'ping' ? expectPing(model, src, dst) : expectHttp(model, src, dst)
    const {expect, policy} = withPolicy(model, tool, src, dst, port, base)
    const key = expect.reply ? `+${expect.seen ?? ''}` : `-${expect.why}`
    const shared = expectations.get(key) ?? expectations.set(key, expect).get(key)!
    // port and policy only where they apply: most probes keep the small shape of the literal
    const probe: Probe = {id: probes.length, check, tool, src, dst, expect: shared}
    if (port !== undefined) probe.port = port
    if (policy) probe.policy = policy
    probes.push(probe)
  }

  const pods = sections.has('pod-pod') || sections.has('no-nat') ? podPairs(model, coverage) : []
  const nodePods = sections.has('node-pod') || sections.has('no-nat') ? nodePodPairs(model, coverage) : []
  if (sections.has('pod-pod')) {
    for (const [s, d] of pods) add(s.node === d.node ? 'pod-pod-same-node' : 'pod-pod-other-node', 'ping', pod(s), pod(d))
  }
  if (sections.has('node-pod')) {
    for (const [n, p] of nodePods) add(p.node === n.name ? 'node-own-pod' : 'node-other-pod', 'ping', node(n), pod(p))
    for (const [p, n] of podNodePairs(model, coverage)) add('pod-node', 'ping', pod(p), node(n))
  }
  if (sections.has('no-nat')) {
    for (const [s, d] of pods) add('no-nat-pod-pod', 'http', pod(s), pod(d))
    for (const [n, p] of nodePodSourcePairs(model, coverage)) add('no-nat-node-pod', 'http', node(n), pod(p))
  }
  if (sections.has('vpc')) {
    // VPC hosts are few: every pod, both ways, whatever the coverage
    for (const e of model.external.filter((x) => x.vpc)) {
      const host = externalEndpoint(e)
      const fromVpc = vpcReachesPods(model)
      for (const p of allPodsOf(model)) {
        if (fromVpc) {
          add('vpc-pod-reach', 'ping', host, pod(p))
          add('vpc-pod-source', 'http', host, pod(p))
        }
        add('pod-vpc-reach', 'ping', pod(p), host)
        add('pod-vpc-source', 'http', pod(p), host)
      }
    }
  }
  if (sections.has('egress')) {
    // the internet; a VPC host is inside the VPC (the vpc section)
    for (const e of model.external.filter((x) => !x.vpc)) {
      const host = externalEndpoint(e)
      for (const p of egressSources(model, coverage)) {
        add('egress-reach', 'ping', pod(p), host)
        add('egress-source', 'http', pod(p), host)
      }
    }
  }
  if (sections.has('policy') && model.policies) policyProbes(model, coverage, {pod, node, external: (e) => ep(e, externalEndpoint)}, add)
  return probes
}

/**
 * The policy section: every pair of the other sections on each TCP and UDP port a policy names
 * (the echo service listens on them), and, where the underlay routes pod subnets, internet hosts
 * → pods (VPC hosts → pods are the vpc section's). Pairs the outside cannot answer whatever the
 * policies say are left out.
 */
function policyProbes(
  model: LabModel,
  coverage: Coverage,
  ep: {pod: (p: PodModel) => Endpoint; node: (n: NodeModel) => Endpoint; external: (e: LabModel['external'][number]) => Endpoint},
  add: (check: CheckId, tool: Probe['tool'], src: Endpoint, dst: Endpoint, port?: number) => void,
): void {
  const {tcp, udp} = namedPorts(model)
  const routable = model.mode.podsRoutableFromUnderlay === true
  const internet = model.external.filter((e) => !e.vpc)
  const vpcHosts = model.external.filter((e) => e.vpc)
  const both = (hosts: typeof model.external, pods: PodModel[]) =>
    hosts.flatMap((e) => pods.map((p): [Endpoint, Endpoint] => [ep.pod(p), ep.external(e)]))
  const into = (hosts: typeof model.external) =>
    hosts.flatMap((e) => allPodsOf(model).map((p): [Endpoint, Endpoint] => [ep.external(e), ep.pod(p)]))
  const pairs: [Endpoint, Endpoint][] = [
    ...podPairs(model, coverage).map(([s, d]): [Endpoint, Endpoint] => [ep.pod(s), ep.pod(d)]),
    ...nodePodPairs(model, coverage).map(([n, p]): [Endpoint, Endpoint] => [ep.node(n), ep.pod(p)]),
    // the pairs of the egress and vpc sections
    ...both(internet, egressSources(model, coverage)),
    ...both(vpcHosts, allPodsOf(model)),
    ...(routable ? into(internet) : []),
    ...(vpcReachesPods(model) ? into(vpcHosts) : []),
  ].filter(([s, d]) => expectHttp(model, s, d).reply)
  const services: [Probe['tool'], number][] = [
    ...tcp.map((p): [Probe['tool'], number] => ['http', p]),
    ...udp.map((p): [Probe['tool'], number] => ['udp', p]),
  ]
  for (const [tool, port] of services) for (const [s, d] of pairs) add('policy-ports', tool, s, d, port)
  if (!routable) return
  for (const e of internet) {
    for (const p of allPodsOf(model)) {
      add('policy-external', 'ping', ep.external(e), ep.pod(p))
      add('policy-external', 'http', ep.external(e), ep.pod(p))
    }
  }
}

const allPodsOf = (model: LabModel) => model.nodes.flatMap((n) => n.pods)

/** Does a VPC host reach pods directly in this lab's mode (the VPC knows pod addresses)? */
export function vpcReachesPods(model: LabModel): boolean {
  const m = model.mode
  return m.podsRoutableFromVpc ?? m.podsRoutableFromUnderlay ?? false
}

/** Every address that belongs to the lab's own namespaces: the only addresses a probe may target. */
export function labAddresses(model: LabModel): Set<string> {
  return new Set(model.members.flatMap((m) => m.ips))
}
