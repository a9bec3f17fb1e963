// Neighbour (ARP) entries. Small labs learn them by ARP, as real networks do. Large labs would
// overflow the kernel's machine-wide neighbour table (the host shares it), so they get every
// entry the lab can use written up front as a permanent entry, which the table does not count
// against its limit. Every address's MAC is known in advance (see macFor), so this is exact.
// To keep that linear in pods, a large lab's pods are routed (see routedPods): a pod's only
// neighbour is its gateway, not every other pod of its bridge (which was pods² per node).
import {nodesViaRouter, type LabModel, type NeighbourShape} from '../model/types.js'
import type {PlanBuilder} from '../plan/builder.js'

/**
 * The kernel keeps one neighbour (ARP) table for the whole machine, host included, and by
 * default refuses new entries past 1024 (net.ipv4.neigh.default.gc_thresh3). A lab that would
 * need more than a modest share of that gets its neighbours written as permanent entries.
 */
export const DYNAMIC_NEIGHBOUR_LIMIT = 128

/** Who is on the same L2 segment as whom: the only neighbours a host has on the underlay. */
function underlayNeighbours(model: LabModel) {
  const hosts = [...model.nodes, ...model.external]
  const legs = model.router?.legs ?? []
  const nodes = new Set(model.nodes.map((n) => n.name))
  // nodes that send node-to-node traffic through the router do not resolve each other
  const peersViaRouter = nodesViaRouter(model) !== undefined
  const resolves = (h: {name: string}, x: {name: string}) => !(peersViaRouter && nodes.has(h.name) && nodes.has(x.name))
  return {
    /** for a node or external host: the other hosts of its segment it resolves, and the router's leg there */
    of: (h: {segment: number; name: string}) => ({
      hosts: hosts.filter((x) => x.segment === h.segment && x.name !== h.name && resolves(h, x)),
      leg: legs.find((l) => l.segment === h.segment),
    }),
    /** for each router leg: the hosts on its segment */
    legs: legs.map((leg) => ({leg, hosts: hosts.filter((x) => x.segment === leg.segment)})),
  }
}

/** Pods a host resolves on the underlay when the VPC delivers pod addresses: those of every other node on its segment. */
function remotePods(model: LabModel, host: {name: string; segment: number}) {
  return model.nodes
    .filter((n) => n.name !== host.name && n.segment === host.segment)
    .flatMap((n) => n.pods.map((p) => ({pod: p, node: n})))
}

/** How many neighbour entries full connectivity needs if they are all learned by ARP. */
export function neighbourEntries(model: LabModel, shape: NeighbourShape = {}): number {
  const u = underlayNeighbours(model)
  let n = u.legs.reduce((sum, l) => sum + l.hosts.length, 0)
  for (const e of model.external) n += model.nodes.filter((x) => x.segment === e.segment).length + (u.of(e).leg ? 1 : 0) // external host: the nodes of its segment, the router
  for (const node of model.nodes) {
    const pods = node.pods.length
    const mine = u.of(node)
    n += mine.hosts.length + (mine.leg ? 1 : 0) + pods // node: the hosts of its segment, the router, its pods
    if (!shape.ptp) n += pods * pods // each pod: its gateway and the other pods on its bridge
    if (shape.vpcPods) n += remotePods(model, node).length
  }
  if (shape.vpcPods) for (const e of model.external.filter((x) => x.vpc)) n += remotePods(model, e).length
  return n
}

/** Does this lab get its neighbours written (too big to learn them by ARP)? */
export function seedsNeighbours(model: LabModel, shape: NeighbourShape = {}): boolean {
  return neighbourEntries(model, shape) > DYNAMIC_NEIGHBOUR_LIMIT
}

/**
 * Are the pods of this lab's bridges routed by their node, each pod's only neighbour its gateway?
 * In labs whose neighbours are written: a pod on a bridge would otherwise need a written entry
 * for every other pod of its node (pods² per node). And in labs with Services: a pod's connection
 * to a ClusterIP that kube-proxy sends to a pod of the same node must have its reply come back
 * through the node (where conntrack undoes the DNAT), which a plain bridge only does while
 * br_netfilter hands bridged frames to iptables (see the services phase). A pod then holds its
 * address without the connected route of its subnet and sends everything to cni0, which routes a
 * packet for a pod of the same node back out cni0. Other small labs keep the bridge plugin's
 * plain L2 bridge.
 */
export function routedPods(model: LabModel, shape: NeighbourShape = {}): boolean {
  // with CNI the plugin configures the pods (a connected route on their subnet): not routed
  return !shape.ptp && !model.cni && (seedsNeighbours(model, shape) || model.services !== undefined)
}

export function seedNeighbours(model: LabModel, b: PlanBuilder, shape: NeighbourShape = {}): void {
  const router = nodesViaRouter(model)
  b.phase({
    id: 'neighbours',
    title: 'Write the neighbour (ARP) tables',
    why:
      `This lab would need about ${neighbourEntries(model, shape)} neighbour entries. The kernel ` +
      `keeps one neighbour table for the whole machine and by default refuses entries past 1024, ` +
      `so instead of learning them by ARP each namespace gets them written as permanent entries ` +
      `(like a cloud network that answers ARP itself). Smaller labs learn them by ARP.` +
      (shape.ptp || model.cni
        ? ''
        : ` Writing every pod an entry for every other pod of its bridge would take pods² entries ` +
          `per node, so here a pod has exactly one neighbour, its gateway: its address came without ` +
          `the subnet's connected route (noprefixroute), so it sends everything, to a pod of its own ` +
          `node too, to cni0, and the node routes it back out cni0 (like Calico's routed pods; a ` +
          `same-node reply arrives with TTL 63). Each node holds one entry per pod of its own and ` +
          (router
            ? `one for the ${router.name} (nodes reach each other through it, so no node is ` +
              `another's neighbour), which is linear in nodes and pods. `
            : `one per host of its segment; that last part is nodes² over the lab (every node can ` +
              `talk to every other node), and linear in pods. `) +
          `With ICMP redirects off, the node never tells a pod to go direct.`),
    scope: 'netns',
  })
  const neigh = (ip: string, mac: string, dev: string) => ['neigh', 'add', ip, 'lladdr', mac, 'dev', dev, 'nud', 'permanent']
  const u = underlayNeighbours(model)
  const nodeNames = new Set(model.nodes.map((n) => n.name))
  const isNode = (x: {name: string}) => nodeNames.has(x.name)
  // a VPC resolves pod addresses itself: a host of the segment learns each other node's pod at that node's MAC
  const vpcPodEntries = (host: {name: string; segment: number; netns: string}) => {
    for (const {pod, node: owner} of remotePods(model, host))
      b.inNetns(
        host.netns,
        'ip',
        neigh(pod.ip, owner.mac, 'eth0'),
        `pod ${pod.name} (${pod.ip}) is delivered to ${owner.name} (${owner.mac})`,
      )
  }
  for (const node of model.nodes) {
    const {hosts, leg} = u.of(node)
    for (const peer of hosts.filter(isNode))
      b.inNetns(node.netns, 'ip', neigh(peer.ip, peer.mac, 'eth0'), `${peer.name} is at ${peer.mac} on the underlay`)
    for (const e of hosts.filter((x) => !isNode(x))) b.inNetns(node.netns, 'ip', neigh(e.ip, e.mac, 'eth0'), `${e.name} is at ${e.mac}`)
    if (leg) b.inNetns(node.netns, 'ip', neigh(leg.ip, leg.mac, 'eth0'), `the ${model.router!.name} is at ${leg.mac}`)
    if (model.cni) {
      // The plugin picks cni0's MAC: pods learn their gateway by ARP. A pod's own MAC is the
      // model's only when the chain takes it (the mac capability); otherwise ARP for them too.
      if (model.cni.podMacs) {
        for (const p of node.pods) b.inNetns(node.netns, 'ip', neigh(p.ip, p.mac, node.bridge), `pod ${p.name} is at ${p.mac} on cni0`)
        for (const p of node.pods)
          for (const q of node.pods)
            if (q !== p) b.inNetns(p.netns, 'ip', neigh(q.ip, q.mac, 'eth0'), `pod ${q.name} is at ${q.mac} on the same bridge`)
      }
    } else if (shape.ptp) {
      for (const p of node.pods)
        b.inNetns(node.netns, 'ip', neigh(p.ip, p.mac, p.hostVeth), `pod ${p.name} is at ${p.mac} at the other end of ${p.hostVeth}`)
    } else if (node.pods.length > 0) {
      for (const p of node.pods) b.inNetns(node.netns, 'ip', neigh(p.ip, p.mac, node.bridge), `pod ${p.name} is at ${p.mac} on cni0`)
      for (const p of node.pods)
        b.inNetns(
          p.netns,
          'ip',
          neigh(node.gateway, node.gatewayMac, 'eth0'),
          `the gateway ${node.gateway} is at ${node.gatewayMac}: the pod's one neighbour, every pod included`,
        )
      noRedirects(b, node)
    }
    if (shape.vpcPods) vpcPodEntries(node)
  }
  for (const e of model.external) {
    const {hosts, leg} = u.of(e)
    for (const node of hosts.filter(isNode)) b.inNetns(e.netns, 'ip', neigh(node.ip, node.mac, 'eth0'), `${node.name} is at ${node.mac}`)
    if (leg) b.inNetns(e.netns, 'ip', neigh(leg.ip, leg.mac, 'eth0'), `the ${model.router!.name} is at ${leg.mac}`)
    if (shape.vpcPods && e.vpc) vpcPodEntries(e)
  }
  for (const {leg, hosts} of u.legs) {
    for (const h of hosts)
      b.inNetns(model.router!.netns, 'ip', neigh(h.ip, h.mac, leg.dev), `${h.name} is at ${h.mac} on segment ${leg.segment}`)
  }
}

/**
 * A node routing a packet back out the interface it came in on tells the sender to go direct
 * (an ICMP redirect); a routed pod must not, so the node sends none. The kernel sends one if
 * `all` or the interface says so, so both say no.
 */
export function noRedirects(b: PlanBuilder, node: {netns: string; bridge: string}): void {
  b.inNetns(
    node.netns,
    'sysctl',
    ['net.ipv4.conf.all.send_redirects=0'],
    'a packet routed back out the interface it came in on makes the kernel send an ICMP ' +
      'redirect ("go direct"), which a pod must not follow; it sends one if all or the ' +
      'interface says so, so both say no',
  )
  b.inNetns(node.netns, 'sysctl', [`net.ipv4.conf.${node.bridge}.send_redirects=0`], 'no ICMP redirects on cni0 either')
}
