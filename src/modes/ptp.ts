// Pods cabled point to point, as the AWS VPC CNI and Calico wire them: no bridge; each pod's cable
// ends on its node, which holds one /32 route per pod; inside the pod a /32 address and a default
// route via 169.254.1.1, an address no interface holds, whose MAC (the node end of the cable) the
// pod is written. Shared by aws-vpc and bgp.
import type {Endpoint, LabModel, NodeModel, PodModel, PlanContext} from '../model/types.js'
import {graphIds, POD_CABLES} from '../model/graph-ids.js'
import type {GraphEdge} from '../model/graph.js'

/** The pods' gateway: link-local, held by no interface; the node end of each pod's cable answers for it. */
export const POD_GATEWAY = '169.254.1.1'

/** nodes phase: each pod's cable up on its node, and the node's /32 route to the pod through it. */
export function ptpAttachPods({model, b}: PlanContext, n: NodeModel): void {
  // with Services a pod reaching itself through a ClusterIP is routed back out its own cable: the
  // kernel would send it an ICMP redirect, which also spends the per-address ICMP budget (about
  // one a second) that kube-proxy's REJECT of a Service without endpoints needs to answer at once
  const hairpin = model.services !== undefined && n.pods.length > 0
  if (hairpin)
    b.inNetns(
      n.netns,
      'sysctl',
      ['net.ipv4.conf.all.send_redirects=0'],
      'a pod reaching itself through a Service is routed back out its own cable: no ICMP redirect ' +
        '(the kernel sends one if all or the cable says so, so both say no)',
    )
  for (const p of n.pods) {
    if (hairpin) b.inNetns(n.netns, 'sysctl', [`net.ipv4.conf.${p.hostVeth}.send_redirects=0`], `no ICMP redirects out of ${p.hostVeth}`)
    b.inNetns(
      n.netns,
      'ip',
      ['link', 'set', p.hostVeth, 'up'],
      `bring up ${p.hostVeth}, pod ${p.name}'s cable: no bridge, no address on this end`,
    )
    b.inNetns(
      n.netns,
      'ip',
      ['route', 'add', `${p.ip}/32`, 'dev', p.hostVeth, 'scope', 'link'],
      `pod ${p.name} (${p.ip}) is at the other end of ${p.hostVeth}: one /32 route per pod, no subnet`,
    )
  }
}

/** pods phase: the pod's /32 address (`addressWhy` says where it comes from) and its route via the gateway. */
export function ptpConfigurePod(addressWhy: (n: NodeModel) => string): (ctx: PlanContext, p: PodModel, n: NodeModel) => void {
  return ({b}, p, n) => {
    b.inNetns(p.netns, 'ip', ['addr', 'add', `${p.ip}/32`, 'dev', 'eth0'], addressWhy(n))
    b.inNetns(p.netns, 'ip', ['link', 'set', 'eth0', 'up'], "bring the pod's eth0 up")
    b.inNetns(
      p.netns,
      'ip',
      ['route', 'add', POD_GATEWAY, 'dev', 'eth0', 'scope', 'link'],
      `the gateway ${POD_GATEWAY} is on eth0's link, though no address of eth0 covers it`,
    )
    b.inNetns(p.netns, 'ip', ['route', 'add', 'default', 'via', POD_GATEWAY, 'dev', 'eth0'], `everything goes to ${POD_GATEWAY}: the node`)
    b.inNetns(
      p.netns,
      'ip',
      ['neigh', 'add', POD_GATEWAY, 'lladdr', n.gatewayMac, 'dev', 'eth0', 'nud', 'permanent'],
      `${POD_GATEWAY} is at ${n.gatewayMac}, the node end of the cable (${p.hostVeth}): written, ` +
        `never asked for, since nothing holds ${POD_GATEWAY}`,
    )
  }
}

/** A node has no address on a pod's cable, so it reaches any pod, its own too, from eth0's address. */
export function ptpExpectedSource(_model: LabModel, src: Endpoint, dst: Endpoint): string | undefined {
  return src.kind === 'node' && dst.kind === 'pod' ? src.ip : undefined
}

/** What netlab graph draws of the wiring: each pod's default route to 169.254.1.1, which its cable's node end answers for. */
export function ptpGatewayEdges(nodes: NodeModel[]): GraphEdge[] {
  return nodes.flatMap((n) =>
    n.pods.map((p) => ({
      from: graphIds.member(p.name),
      to: graphIds.device(n.name, POD_CABLES),
      kind: 'route',
      label: `default via ${POD_GATEWAY}`,
      directed: true,
    })),
  )
}
