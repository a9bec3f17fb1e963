// The default way pods are wired, which every routing mode uses unless it says otherwise: a
// bridge per node holding the pods' gateway (the bridge CNI plugin with isGateway), an address
// per pod from its node's subnet, a firewall that forwards the pod range and masquerades only
// what leaves the cluster.
import type {NodeModel, PodModel} from '../model/types.js'
import {DYNAMIC_NEIGHBOUR_LIMIT, neighbourEntries, seedNeighbours} from './neighbours.js'
import type {PlanContext} from './routing/types.js'

export function bridgeNodeLinks({b}: PlanContext, n: NodeModel): void {
  if (n.pods.length === 0) return
  b.intoNetns(n.netns, ['link', 'add', 'name', n.bridge, 'netns', n.netns, 'address', n.gatewayMac, 'type', 'bridge'], `${n.name}'s cni0 bridge: the L2 segment of its pods (the bridge CNI plugin creates it on first use)`)
}

export function bridgeAttachPods({model, b}: PlanContext, n: NodeModel): void {
  if (n.pods.length === 0) return // no cni0 yet (see the links phase)
  b.inNetns(n.netns, 'ip', ['addr', 'add', `${n.gateway}/${model.nodeSubnetSize}`, 'dev', n.bridge], `the pods' gateway: cni0 holds the first address of ${n.podCIDR} (the bridge plugin's isGateway)`)
  b.inNetns(n.netns, 'ip', ['link', 'set', n.bridge, 'up'], 'bring the pod bridge up')
  for (const p of n.pods) {
    b.inNetns(n.netns, 'ip', ['link', 'set', p.hostVeth, 'master', n.bridge, 'up'], `attach pod ${p.name}'s cable to cni0`)
  }
}

export function bridgeConfigurePod({model, b}: PlanContext, p: PodModel, n: NodeModel): void {
  b.inNetns(p.netns, 'ip', ['addr', 'add', `${p.ip}/${model.nodeSubnetSize}`, 'dev', 'eth0'], `the pod's own address, from ${n.name}'s subnet ${n.podCIDR}`)
  b.inNetns(p.netns, 'ip', ['link', 'set', 'eth0', 'up'], 'bring the pod\'s eth0 up')
  b.inNetns(p.netns, 'ip', ['route', 'add', 'default', 'via', n.gateway, 'dev', 'eth0'], `everything not on the pod subnet goes to the node (${n.gateway} on cni0)`)
}

export function learnedOrSeededNeighbours(ctx: PlanContext): void {
  if (neighbourEntries(ctx.model) > DYNAMIC_NEIGHBOUR_LIMIT) seedNeighbours(ctx.model, ctx.b)
}

export function podRangeFirewall({model, b}: PlanContext, n: NodeModel): void {
  b.inNetns(n.netns, 'iptables', ['-P', 'FORWARD', 'DROP'], 'deny forwarding by default, as a node with Docker does')
  b.inNetns(n.netns, 'iptables', ['-A', 'FORWARD', '-s', model.podCIDR, '-j', 'ACCEPT'], `forward traffic from pods (${model.podCIDR})`)
  b.inNetns(n.netns, 'iptables', ['-A', 'FORWARD', '-d', model.podCIDR, '-j', 'ACCEPT'], `forward traffic to pods (${model.podCIDR})`)
  if (model.ipMasq) {
    b.inNetns(n.netns, 'iptables', ['-t', 'nat', '-A', 'POSTROUTING', '-s', n.podCIDR, '!', '-d', model.podCIDR, '-j', 'MASQUERADE'], `pods of ${n.name} leaving the cluster (not to ${model.podCIDR}) take the node's address`)
  }
}
