// The services phase: kube-proxy on every node. What a node needs for a ClusterIP to be routed at
// all (a lab node has no default route, unlike a real one), what its pods need for a Service to
// send them back to themselves or to a neighbour (hairpin, routed pods), then the proxy mode's
// rules, in the node's own namespace. Pure.
//
// Found in lab namespaces on this kernel (br_netfilter built in), every proxy mode alike:
// - bridge-nf-call-iptables=1 (a new namespace's default): a pod's packet to a ClusterIP enters
//   cni0 and br_netfilter runs nat PREROUTING on it while it is still a bridged frame. When the
//   DNAT picks a pod of the same bridge, br_netfilter bridges the frame straight to that pod's
//   port: to the client's own port when a pod reaches itself (hairpin), which a bridge port
//   refuses unless its hairpin mode is on; between isolated ports (a policy lab's wiring), never.
// - bridge-nf-call-iptables=0: bridged frames skip iptables, so the DNAT happens at the node's IP
//   layer. But a same-node endpoint on a plain bridge answers its client directly, frame to frame,
//   and the reply never meets the conntrack entry that would undo the DNAT: the client drops it.
// Both work when the pods are routed (no connected route for their subnet: everything goes to
// cni0, see routedPods) and each pod's port has hairpin mode on: replies always cross the node,
// and br_netfilter's bridged DNAT finds the ports open. netlab leaves the setting alone (see
// bridgePolicyWiring); hairpin is the kubelet's hairpin-veth mode, one setting per pod a fault can
// turn off. Pods on point-to-point links (aws-vpc) and CNI labs (the bridge plugin: hairpinMode in
// the conflist) need neither.
import type {NodeModel, PlanContext} from '../model/types.js'
import {noRedirects, seedsNeighbours} from '../modes/neighbours.js'
import {proxyMode} from '../proxy/index.js'

/** Hairpin mode on each pod's port of cni0, and no ICMP redirects for routed pods (unless another phase turned them off). */
function podWiring(ctx: PlanContext, n: NodeModel): void {
  const {model, b} = ctx
  if (model.mode.neighbourShape?.ptp || model.cni || n.pods.length === 0) return
  for (const p of n.pods)
    b.inNetns(
      n.netns,
      'bridge',
      ['link', 'set', 'dev', p.hostVeth, 'hairpin', 'on'],
      `hairpin mode on pod ${p.name}'s port of cni0 (the kubelet's hairpin-veth): when kube-proxy sends ${p.name}'s ` +
        `connection to a Service back to ${p.name} itself, the frame leaves by the port it came in on, which a bridge refuses otherwise`,
    )
  // seeded labs' neighbours phase turned redirects off already
  if (ctx.routedPods && !seedsNeighbours(model, model.mode.neighbourShape)) noRedirects(b, n)
}

function wiringWhy({model}: PlanContext): string {
  if (model.mode.neighbourShape?.ptp)
    return "Here each pod is on its own point-to-point link to the node, so every packet of a pod crosses the node's IP layer: nothing more is needed."
  if (model.cni)
    return "Here the CNI bridge plugin wires the pods: its hairpinMode (set in the conflist of a lab with Services) lets a pod's frame leave by the port it came in on; a same-node reply crosses the node's conntrack only while br_netfilter hands bridged frames to iptables (net.bridge.bridge-nf-call-iptables=1, which kubeadm demands too)."
  return (
    "So this lab's pods are routed by their node (no connected route on their subnet, see the pods phase), and each pod's port of cni0 has hairpin mode on; " +
    'this works whether or not br_netfilter hands bridged frames to iptables (net.bridge.bridge-nf-call-iptables), which netlab leaves alone.'
  )
}

export function servicesPhase(ctx: PlanContext): void {
  const {model, b} = ctx
  const services = model.services
  if (!services) return
  const proxy = proxyMode(services.proxy)
  b.phase({
    id: 'services',
    title: 'Services: kube-proxy on every node',
    why:
      'A Service is an address no interface holds (its ClusterIP) and a set of pods behind it (its ' +
      "endpoints). kube-proxy runs on every node and turns a connection to the ClusterIP into one to an endpoint, in the node's own " +
      'netfilter rules (DNAT): the one place where Kubernetes translates addresses on purpose. ' +
      `This lab runs ${proxy.summary}. ` +
      "An endpoint can be on the client's own node, or be the client itself (hairpin): its reply must still cross the node, whose conntrack undoes the DNAT. " +
      wiringWhy(ctx),
    scope: 'netns',
  })
  for (const n of model.nodes) {
    b.inNetns(
      n.netns,
      'ip',
      ['route', 'add', services.serviceCIDR, 'dev', 'eth0'],
      `a route for the service range ${services.serviceCIDR}: a real node's default route would carry it; ` +
        `without one the node's own connections to a ClusterIP fail before kube-proxy's rules see them`,
    )
    podWiring(ctx, n)
    proxy.build(ctx, n)
  }
}
