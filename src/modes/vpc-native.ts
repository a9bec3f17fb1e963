// vpc-native: GKE's VPC-native clusters (alias IP ranges). cluster.podCIDR is a secondary range
// of the VPC subnet, and each node's pod subnet is an alias IP range of its network card, carved
// from it. Inside a node nothing differs from host-gw (cni0, pods from the node's range). The
// difference is the VPC: the secondary range is one of the subnet's own ranges, so every VM of
// the VPC — nodes and VPC hosts alike — has it as a connected route (GCP's subnet routes), and
// the VPC delivers an address of an alias range to the VM that holds the range. No custom route
// per node anywhere. The lab's VPC is an L2 segment, so "delivers to the owner" is each node
// answering ARP on eth0 for its alias range (proxy_arp). Pods keep their own address inside the
// VPC (ip-masq-agent leaves the VPC's ranges alone) and are masqueraded only when they leave it.
import {graphIds} from '../model/graph-ids.js'
import type {GraphContribution} from '../model/graph.js'
import {parseCidr} from '../core/ipv4.js'
import type {LabModel, NodeModel, Endpoint, PlanContext, RoutingModeModule} from '../model/types.js'
import {TopologyError} from '../topology/errors.js'
import type {Topology} from '../topology/types.js'
import {forwardPodRange} from './bridge.js'

const SHAPE = {vpcPods: true}

function validate(topo: Topology): void {
  const c = topo.cluster
  if (c.underlay.length > 1) {
    throw new TopologyError(
      c.underlay[1].pos,
      'routing vpc-native models one VPC subnet with its secondary range for pods: ' + 'cluster.underlay must be one CIDR',
    )
  }
  const primary = parseCidr(c.underlay[0].value)
  const secondary = parseCidr(c.podCIDR.value)
  if (typeof primary !== 'string' && typeof secondary !== 'string' && primary.overlaps(secondary)) {
    throw new TopologyError(
      c.podCIDR.pos,
      `cluster.podCIDR ${secondary}, the subnet's secondary range for pods, overlaps its primary ` +
        `range cluster.underlay ${primary}: a subnet's ranges must not overlap`,
    )
  }
}

/** The secondary range is the subnet's own: connected on every VM of the VPC. */
function vpcRoutes({model, b}: PlanContext, host: {name: string; netns: string}): void {
  b.inNetns(
    host.netns,
    'ip',
    ['route', 'add', model.podCIDR, 'dev', 'eth0'],
    `the subnet's secondary range ${model.podCIDR} is on ${host.name}'s wire too (GCP's subnet ` +
      `route): ${host.name} asks for a pod's address by ARP, and the node whose alias range ` +
      `holds it answers`,
  )
}

function deliver(ctx: PlanContext): void {
  const {model, b} = ctx
  for (const n of model.nodes) {
    vpcRoutes(ctx, n)
    b.inNetns(
      n.netns,
      'sysctl',
      ['net.ipv4.conf.eth0.proxy_arp=1'],
      `${n.name} answers ARP on eth0 for every address it routes out of another interface: its ` + `alias range ${n.podCIDR}, on cni0`,
    )
    b.inNetns(
      n.netns,
      'sysctl',
      ['net.ipv4.neigh.eth0.proxy_delay=0'],
      'and at once: by default the kernel waits up to 0.8 s before a proxy answer',
    )
  }
}

function firewall(ctx: PlanContext, n: NodeModel): void {
  const {model, b} = ctx
  forwardPodRange(ctx, n)
  if (model.ipMasq) {
    b.inNetns(
      n.netns,
      'iptables',
      ['-t', 'nat', '-A', 'POSTROUTING', '-s', n.podCIDR, '-d', model.underlay, '-j', 'RETURN'],
      `pods of ${n.name} talking to the VPC's primary range (${model.underlay}) keep their ` +
        `address (ip-masq-agent's nonMasqueradeCIDRs)`,
    )
    b.inNetns(
      n.netns,
      'iptables',
      ['-t', 'nat', '-A', 'POSTROUTING', '-s', n.podCIDR, '!', '-d', model.podCIDR, '-j', 'MASQUERADE'],
      `pods of ${n.name} leaving the VPC (not to ${model.podCIDR} either) take the node's address`,
    )
  }
}

/** A pod reaching a VM of the VPC keeps its own address. */
function expectedSource(_model: LabModel, src: Endpoint, dst: Endpoint): string | undefined {
  if (src.kind === 'pod' && dst.kind === 'external' && dst.vpc) return src.ip
  return undefined
}

/** What netlab graph draws: the VPC delivering each node's alias range to its eth0 (proxy ARP). */
function graph(model: LabModel): GraphContribution {
  return {
    edges: model.nodes
      .filter((n) => n.pods.length > 0)
      .map((n) => ({
        from: graphIds.segment(n.segment),
        to: graphIds.device(n.name, 'eth0'),
        kind: 'delivery',
        label: `delivers ${n.podCIDR} (proxy ARP)`,
        directed: true,
      })),
    notes: [
      `every VM of the VPC, nodes and VPC hosts, has the secondary range ${model.podCIDR} on ` +
        `eth0 (connected); the VPC delivers each alias range to its node, which answers ARP for ` +
        `it; no route per node anywhere`,
      ...(model.ipMasq
        ? [`each node masquerades its pods' traffic only when it leaves the VPC (neither ` + `${model.underlay} nor ${model.podCIDR})`]
        : []),
    ],
  }
}

export const vpcNative: RoutingModeModule = {
  id: 'vpc-native',
  summary:
    "GKE VPC-native: pods from the subnet's secondary range, each node's range an alias IP range the VPC delivers to it; no per-node routes anywhere",
  validate,
  // the VPC delivers pod addresses by ARP: the nodes, and the VMs that reach pods, share one wire
  oneSegment: true,
  podsRoutableFromVpc: true,
  vpcRoutes,
  neighbourShape: SHAPE,
  firewall,
  expectedSource,
  graph,
  terms: {podCIDR: "the subnet's secondary range", nodeSubnet: 'alias IP range'},
  phases: {
    firewall: {
      why: "Like a node running Docker, forwarding is denied unless allowed, so the node accepts forwarding for the secondary range only. Masquerade hides pods behind the node address only when they leave the VPC: the subnet's primary range and the secondary range are the VPC's own, and a pod talking to them keeps its address (GKE's ip-masq-agent). Pod-to-pod traffic is never NATed.",
    },
  },
  routes: {
    title: 'The VPC delivers alias ranges to their node (vpc-native)',
    why: "No node has a route to another node's pods, and no route table holds one per node (routes-based mode's custom static routes): the secondary range is one of the subnet's own ranges, so every VM of the VPC, nodes and VPC hosts alike, has it as a connected route, and the VPC delivers each address of an alias range to the VM that holds the range. Here the VPC is an L2 segment: every node asks for a pod address by ARP on eth0, and the node whose alias range holds it answers. Why proxy_arp on eth0, not one proxy entry per address: an alias range is a whole range, pods or not, and proxy_arp answers for exactly what the node routes out of another interface — its range on cni0 (its own connected route is more specific than the secondary range on eth0).",
    build: deliver,
  },
}
