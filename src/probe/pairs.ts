// Which pairs the probes go between. Pure: the lab model and the coverage in, pairs out.
//
// Up to ALL_PAIRS_MAX_PODS pods (select.ts; or with --full): every ordered pod pair, every node to every pod,
// every pod to every node. Above that, a representative set that still proves every piece of
// wiring: each pod to the next pod on its own node; every ordered node pair crossed by a pod →
// pod check, with every pod a cross-node source and a cross-node target at least once; each node
// to each of its pods and one pod on every other node (no-NAT: its pods and one pod on the next
// node, see nodePodSourcePairs); each pod to its own node and the next node.
// A route, a bridge port, a veth, an address or a masquerade rule is used by one of them: the
// cross-node pairs are about max(nodes, pods per node) per node instead of pods × nodes.
// Where one route carries a node's traffic to every other node (crossNodeRoutes 'shared':
// routes mode's default route to the VPC router), crossing every ordered pair of nodes would
// use no route the nearer nodes do not: the pod → pod rounds are one per pod (at least one),
// and each node goes to one pod on the next node: 1000 × 10 is 20,000 cross-node checks, not
// two million.
import type {LabModel, NodeModel, PodModel} from '../model/types.js'
import type {Coverage} from './types.js'

export type Pair<S, D> = [S, D]

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
    const peers = perNodeRoutes(model) ? m - 1 : 1
    nodes.forEach((node, n) => {
      for (let k = 0; k < Math.max(peers, node.pods.length); k++) {
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

/** Does each node hold a route of its own per other node (see RoutingModeModule.crossNodeRoutes)? */
function perNodeRoutes(model: LabModel): boolean {
  return (model.mode.crossNodeRoutes ?? 'per-node') === 'per-node'
}

/** node → pod pairs: every pod, or own pods plus one pod on every other node (on the next node with pods, where routes are shared). */
export function nodePodPairs(model: LabModel, coverage: Coverage): Pair<NodeModel, PodModel>[] {
  if (coverage !== 'all-pairs' && !perNodeRoutes(model)) return nodePodSourcePairs(model, coverage)
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
