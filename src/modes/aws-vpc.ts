// aws-vpc: the AWS VPC CNI. Each pod holds an address of the VPC subnet itself (a secondary IP
// of its node's network card, its ENI), so the VPC knows every pod address and delivers it to the
// node that holds it: no route per node anywhere, no overlay, and a VM of the VPC reaches a pod
// directly. Inside the pod the address is a /32 and the gateway is 169.254.1.1, an address no
// interface holds: the pod is written its MAC (the node end of its cable) and never asks for it.
// On the node there is no bridge, only one /32 route per pod to its cable. The lab's VPC is an L2
// segment, so "the VPC delivers the address to its node" is the node answering ARP on eth0 for
// each of its pods' addresses. Traffic leaving the VPC CIDR is SNATed to the node's address.
// (aws/amazon-vpc-cni-k8s, docs/cni-proposal.md; one ENI per node, so no policy routing per ENI.)
import {graphIds} from '../model/graph-ids.js'
import type {GraphContribution} from '../model/graph.js'
import {macFor} from '../core/names.js'
import type {LabModel, NodeModel, Endpoint, PlanContext, RoutingModeModule} from '../model/types.js'
import {POD_GATEWAY, ptpAttachPods, ptpConfigurePod, ptpExpectedSource, ptpGatewayEdges} from './ptp.js'
import {TopologyError} from '../topology/errors.js'
import type {Topology} from '../topology/types.js'

const SHAPE = {ptp: true, vpcPods: true}

function validate(topo: Topology): void {
  const c = topo.cluster
  if (c.underlay.length > 1) {
    throw new TopologyError(
      c.underlay[1].pos,
      'routing aws-vpc models one VPC subnet, whose addresses the pods hold: cluster.underlay ' + 'must be one CIDR',
    )
  }
  for (const key of ['podCIDR', 'nodeSubnetSize'] as const) {
    if (c.given?.includes(key)) {
      throw new TopologyError(
        c[key].pos,
        `cluster.${key} does not apply to routing aws-vpc: pods hold addresses of the VPC subnet ` +
          `(cluster.underlay), one /32 each, and no node has a pod subnet; remove it`,
      )
    }
  }
  for (const n of topo.nodes) {
    if (n.podCIDR)
      throw new TopologyError(
        n.podCIDR.pos,
        `node ${n.name.value} podCIDR does not apply to routing aws-vpc: its pods hold addresses ` +
          `of the VPC subnet (cluster.underlay); remove it`,
      )
  }
}

function deliver({model, b}: PlanContext): void {
  for (const n of model.nodes) {
    if (n.pods.length === 0) continue
    b.inNetns(
      n.netns,
      'sysctl',
      ['net.ipv4.neigh.eth0.proxy_delay=0'],
      'answer ARP for a pod at once: by default the kernel waits up to 0.8 s before a proxy answer',
    )
    for (const p of n.pods) {
      b.inNetns(
        n.netns,
        'ip',
        ['neigh', 'add', 'proxy', p.ip, 'dev', 'eth0'],
        `${n.name} answers "who has ${p.ip}?" on eth0 with its own MAC: the VPC delivers pod ` + `${p.name}'s address to ${n.name}`,
      )
    }
  }
}

function firewall({model, b}: PlanContext, n: NodeModel): void {
  const vpc = model.underlay
  b.inNetns(n.netns, 'iptables', ['-P', 'FORWARD', 'DROP'], 'deny forwarding by default, as a node with Docker does')
  b.inNetns(
    n.netns,
    'iptables',
    ['-A', 'FORWARD', '-s', vpc, '-j', 'ACCEPT'],
    `forward traffic from the VPC (${vpc}), where the pods' addresses are`,
  )
  b.inNetns(n.netns, 'iptables', ['-A', 'FORWARD', '-d', vpc, '-j', 'ACCEPT'], `forward traffic to the VPC (${vpc})`)
  if (model.ipMasq) {
    b.inNetns(
      n.netns,
      'iptables',
      ['-t', 'nat', '-A', 'POSTROUTING', '!', '-d', vpc, '-m', 'addrtype', '!', '--dst-type', 'LOCAL', '-j', 'SNAT', '--to-source', n.ip],
      `what leaves the VPC (not to ${vpc}) takes ${n.name}'s primary address ${n.ip}; inside the ` +
        `VPC nothing is translated (the plugin's AWS-SNAT-CHAIN)`,
    )
  }
}

/**
 * A node has no address on a pod's cable, so it reaches any pod from eth0's address; a pod
 * reaching a VM of the VPC keeps its own address (only what leaves the VPC CIDR is SNATed).
 */
function expectedSource(model: LabModel, src: Endpoint, dst: Endpoint): string | undefined {
  const ptp = ptpExpectedSource(model, src, dst)
  if (ptp) return ptp
  if (src.kind === 'pod' && dst.kind === 'external' && dst.vpc) return src.ip
  return undefined
}

/**
 * What netlab graph draws: each pod's default route to 169.254.1.1, which its cable's node end
 * answers for; the VPC delivering each node's pod addresses to its eth0 (its proxy entries).
 */
function graph(model: LabModel): GraphContribution {
  const withPods = model.nodes.filter((n) => n.pods.length > 0)
  return {
    edges: [
      ...ptpGatewayEdges(withPods),
      ...withPods.map((n) => ({
        from: graphIds.segment(n.segment),
        to: graphIds.device(n.name, 'eth0'),
        kind: 'delivery',
        label: `delivers ${n.pods.map((p) => p.ip).join(', ')} (proxy ARP)`,
        directed: true,
      })),
    ],
    notes: [
      "the VPC delivers a pod's address to its node: the node answers ARP on eth0 for each of its pods (one proxy neighbour entry each); no node has a route to another node's pods",
      ...(model.ipMasq
        ? [
            `SNAT to the node's primary address only for destinations outside the VPC ` +
              `(${model.underlay}); pods, nodes and VMs of the VPC see pods' own addresses`,
          ]
        : []),
    ],
  }
}

export const awsVpc: RoutingModeModule = {
  id: 'aws-vpc',
  summary:
    'the AWS VPC CNI: pods hold addresses of the VPC subnet (/32, gateway 169.254.1.1, no ' +
    'bridge); each node answers ARP for its pods; SNAT only leaving the VPC',
  validate,
  // the VPC delivers pod addresses by ARP: the nodes, and the VMs that reach pods, share one wire
  oneSegment: true,
  podsInUnderlay: true,
  podGateway: POD_GATEWAY,
  podsRoutableFromVpc: true,
  nodeLinks: () => undefined, // no bridge: each pod's cable ends on the node itself
  policyWiring: {
    why: "There is no bridge: each pod's cable ends on its node, which routes every packet of its pods, between two pods of one node too, so each one crosses FORWARD once and nothing needs wiring.",
  },
  attachPods: ptpAttachPods,
  configurePod: ptpConfigurePod(
    (n) =>
      `the pod's own address, a secondary IP of ${n.name}'s network card in the VPC subnet; a ` +
      `/32, so the pod has no neighbours but its gateway`,
  ),
  neighbourShape: SHAPE,
  firewall,
  expectedSource,
  graph,
  terms: {podCIDR: 'the VPC subnet', nodeSubnet: 'the VPC subnet', podAddress: 'VPC address'},
  phases: {
    links: {
      why: "A veth pair is a cable with one end in each namespace. Each end is created directly inside its namespace, so nothing ever appears in the host's own namespace. Every interface that will hold an address gets the MAC 0a:58:<its IPv4 address in hex>, so you can read the address back out of any MAC you see. The AWS VPC CNI makes no bridge: each pod's cable ends on the node itself.",
    },
    'pod-links': {
      why:
        `Each pod gets a veth pair: eth0 inside the pod, the other end on its node. The node end ` +
        `gets the MAC of ${POD_GATEWAY} (${macFor(POD_GATEWAY)}), the pods' gateway that no ` +
        `interface holds; every pod's cable shares it, as Calico's cali* interfaces share ` +
        `ee:ee:ee:ee:ee:ee (the AWS plugin reads each cable's own random MAC instead). Each cable ` +
        `is a link of its own, so the shared MAC meets nothing.`,
    },
    nodes: {
      title: 'Address the nodes and route to their pods',
      why: "Each node gets its address in the VPC subnet on eth0, its primary address. There is no bridge and no pod subnet: for each pod, its cable is brought up and the node gets a /32 route to the pod's address through it — what the AWS VPC CNI writes on ADD.",
    },
    pods: {
      title: 'Configure the pods (what the AWS VPC CNI does on ADD)',
      why:
        `Inside each pod: loopback up, the pod's VPC address on eth0 as a /32, a route to the ` +
        `gateway ${POD_GATEWAY} on eth0's link, a default route via it, and a permanent ARP entry ` +
        `for it: the MAC of the node end of the pod's cable. Nothing holds ${POD_GATEWAY}; the ` +
        `node receives the frames because they carry its cable's MAC.`,
    },
    firewall: {
      why: "Like a node running Docker, forwarding is denied unless allowed; the pods' addresses are VPC addresses, so the node forwards the VPC CIDR. The AWS VPC CNI translates a pod's address into its node's primary address only for destinations outside the VPC CIDR (and not for the node's own addresses): inside the VPC, pods, nodes and VMs see each other's own addresses.",
    },
  },
  routes: {
    title: 'The VPC delivers pod addresses to their node (aws-vpc)',
    why: "No node has a route to another node's pods: every pod address is in the VPC subnet, which is connected on every node and every VM of the VPC. They find a pod by ARP, as any address of the subnet, and the VPC must answer with the MAC of the node that holds it (AWS maps each secondary IP to its ENI). Here each node answers on eth0 for its own pods' addresses, through one proxy neighbour entry per address (ip neigh add proxy). Why per address and not proxy_arp on eth0: a node holds exactly the addresses assigned to its pods, one by one, as an ENI holds its secondary IPs; proxy_arp would answer for anything the node routes elsewhere.",
    build: deliver,
  },
}
