// The default way pods are wired, which every routing mode uses unless it says otherwise: a
// bridge per node holding the pods' gateway (the bridge CNI plugin with isGateway), an address
// per pod from its node's subnet, a firewall that forwards the pod range and masquerades only
// what leaves the cluster.
import type {NodeModel, PodModel, NeighbourShape, PlanContext} from '../model/types.js'
import {noRedirects, seedNeighbours, seedsNeighbours} from './neighbours.js'

export function bridgeNodeLinks({b}: PlanContext, n: NodeModel): void {
  if (n.pods.length === 0) return
  b.intoNetns(
    n.netns,
    ['link', 'add', 'name', n.bridge, 'netns', n.netns, 'address', n.gatewayMac, 'type', 'bridge'],
    `${n.name}'s cni0 bridge: the L2 segment of its pods (the bridge CNI plugin creates it on ` + `first use)`,
  )
}

/** How a pod's cable is plugged into cni0: the command's arguments and why (a mode may add to it, e.g. an MTU). */
export type Plug = (p: PodModel, n: NodeModel) => {args: string[]; why: string}

const plugIntoBridge: Plug = (p, n) => ({
  args: ['link', 'set', p.hostVeth, 'master', n.bridge, 'up'],
  why: `attach pod ${p.name}'s cable to cni0`,
})

export function bridgeAttachPods({model, b}: PlanContext, n: NodeModel, plug: Plug = plugIntoBridge): void {
  if (n.pods.length === 0) return // no cni0 yet (see the links phase)
  b.inNetns(
    n.netns,
    'ip',
    ['addr', 'add', `${n.gateway}/${model.nodeSubnetSize}`, 'dev', n.bridge],
    `the pods' gateway: cni0 holds the first address of ${n.podCIDR} (the bridge plugin's isGateway)`,
  )
  b.inNetns(n.netns, 'ip', ['link', 'set', n.bridge, 'up'], 'bring the pod bridge up')
  for (const p of n.pods) {
    const {args, why} = plug(p, n)
    b.inNetns(n.netns, 'ip', args, why)
  }
}

/** A pod on cni0: its address and default route (mtu: the overlay's, for an overlay mode). */
export function bridgeConfigurePod(
  {model, b, routedPods}: PlanContext,
  p: PodModel,
  n: NodeModel,
  mtu?: {value: string; why: string},
): void {
  const addr = `${p.ip}/${model.nodeSubnetSize}`
  if (routedPods)
    b.inNetns(
      p.netns,
      'ip',
      ['addr', 'add', addr, 'dev', 'eth0', 'noprefixroute'],
      `the pod's own address, from ${n.name}'s subnet ${n.podCIDR}, without the subnet's ` +
        `connected route: ` +
        (model.services
          ? `the pod reaches even its node's other pods through the node, so a reply from a pod that kube-proxy chose on the same node comes back through the node's conntrack (see the services phase)`
          : `in a lab this big the pod reaches even its node's other pods through the node (see the neighbours phase)`),
    )
  else b.inNetns(p.netns, 'ip', ['addr', 'add', addr, 'dev', 'eth0'], `the pod's own address, from ${n.name}'s subnet ${n.podCIDR}`)
  if (mtu) b.inNetns(p.netns, 'ip', ['link', 'set', 'eth0', 'mtu', mtu.value, 'up'], mtu.why)
  else b.inNetns(p.netns, 'ip', ['link', 'set', 'eth0', 'up'], "bring the pod's eth0 up")
  if (routedPods)
    b.inNetns(
      p.netns,
      'ip',
      ['route', 'add', 'default', 'via', n.gateway, 'dev', 'eth0', 'onlink'],
      `everything goes to the node (${n.gateway} on cni0), pods of ${n.name} included; onlink: ` +
        `no connected route covers the gateway, take it as on the link anyway`,
    )
  else
    b.inNetns(
      p.netns,
      'ip',
      ['route', 'add', 'default', 'via', n.gateway, 'dev', 'eth0'],
      `everything not on the pod subnet goes to the node (${n.gateway} on cni0)`,
    )
}

export function learnedOrSeededNeighbours(ctx: PlanContext, shape?: NeighbourShape): void {
  if (seedsNeighbours(ctx.model, shape)) seedNeighbours(ctx.model, ctx.b, shape)
}

/** Forwarding is denied unless it is pod traffic: the first rules of every node's firewall. */
export function forwardPodRange({model, b}: PlanContext, n: NodeModel): void {
  b.inNetns(n.netns, 'iptables', ['-P', 'FORWARD', 'DROP'], 'deny forwarding by default, as a node with Docker does')
  b.inNetns(n.netns, 'iptables', ['-A', 'FORWARD', '-s', model.podCIDR, '-j', 'ACCEPT'], `forward traffic from pods (${model.podCIDR})`)
  b.inNetns(n.netns, 'iptables', ['-A', 'FORWARD', '-d', model.podCIDR, '-j', 'ACCEPT'], `forward traffic to pods (${model.podCIDR})`)
}

export function podRangeFirewall(ctx: PlanContext, n: NodeModel): void {
  const {model, b} = ctx
  forwardPodRange(ctx, n)
  if (model.ipMasq) {
    b.inNetns(
      n.netns,
      'iptables',
      ['-t', 'nat', '-A', 'POSTROUTING', '-s', n.podCIDR, '!', '-d', model.podCIDR, '-j', 'MASQUERADE'],
      `pods of ${n.name} leaving the cluster (not to ${model.podCIDR}) take the node's address`,
    )
  }
}

/**
 * With policies, the node must see every packet of its pods. Two pods on one bridge exchange
 * frames that never reach the node's IP layer (iptables), so the pods' ports are isolated and
 * cni0 answers their ARP requests for each other: same-node traffic is routed by the node.
 */
function routeBridgedPods({model, b, routedPods}: PlanContext, n: NodeModel): void {
  // With Services the pods are routed already (their gateway their only neighbour), and isolated
  // ports would stop what br_netfilter does with kube-proxy's DNAT to a pod of the same bridge:
  // it bridges the frame from one pod's port to the other's (see the services phase).
  if (model.services) return
  for (const p of n.pods) {
    b.inNetns(
      n.netns,
      'bridge',
      ['link', 'set', 'dev', p.hostVeth, 'isolated', 'on'],
      `isolate pod ${p.name}'s port: its frames reach cni0 (the node) but no other isolated ` +
        `port, so nothing it sends to a pod bypasses the node`,
    )
  }
  b.inNetns(
    n.netns,
    'sysctl',
    [`net.ipv4.conf.${n.bridge}.proxy_arp_pvlan=1`],
    `cni0 answers a pod's ARP request for another pod of ${n.name} with its own MAC ` +
      `(private-VLAN proxy ARP): the pod hands the packet to the node, which routes it back out cni0`,
  )
  b.inNetns(
    n.netns,
    'sysctl',
    [`net.ipv4.neigh.${n.bridge}.proxy_delay=0`],
    'and answers at once: by default a proxy ARP reply waits up to 0.8 s',
  )
  if (!routedPods) noRedirects(b, n) // a routed lab's neighbours phase turned them off
}

/** How a bridge's pods come to cross their node's FORWARD chain (RoutingModeModule.policyWiring's default). */
export const bridgePolicyWiring = {
  why: "Two pods on one node talk across its cni0 bridge, frame to frame, and the node's IP layer, where iptables works, never sees those frames — unless the br_netfilter module hands bridged frames to iptables (net.bridge.bridge-nf-call-iptables, per network namespace since Linux 5.3, 1 by default in a new namespace once the module is loaded; kubeadm demands it). netlab does not rely on a module the host may not have loaded, never loads one, and leaves that setting alone: instead each node routes its own pods' traffic. Their ports of cni0 are isolated, and cni0 answers their ARP requests for each other with its own MAC, so a packet between two pods of one node goes pod → cni0 → routed → cni0 → pod and crosses FORWARD exactly once, with or without br_netfilter (like Calico's routed pods; same-node replies now arrive with TTL 63).",
  build: routeBridgedPods,
}
