// What each probe must observe, from the lab model alone (never from the system under test).
import type {ExternalModel, LabModel, NodeModel, PodModel, Endpoint} from '../model/types.js'
import type {Expectation} from './types.js'

export function podEndpoint(p: PodModel): Endpoint {
  return {kind: 'pod', name: p.name, netns: p.netns, ip: p.ip, node: p.node}
}

export function nodeEndpoint(n: NodeModel): Endpoint {
  return {kind: 'node', name: n.name, netns: n.netns, ip: n.ip}
}

export function externalEndpoint(e: ExternalModel): Endpoint {
  return {kind: 'external', name: e.name, netns: e.netns, ip: e.ip, ...(e.vpc ? {vpc: true} : {})}
}

function nodeOf(model: LabModel, name: string | undefined): NodeModel {
  const n = model.nodes.find((x) => x.name === name)
  if (!n) throw new Error(`no node ${name} in lab ${model.lab}`)
  return n
}

export const NO_ROUTE_BACK =
  'ipMasq is off: the external host has no route back to pod subnets (like the real ' +
  'internet), so no reply is the expected result; with ipMasq on it would see the node address'

export const ROUTED_BACK =
  'ipMasq is off, and the underlay routes pod subnets (the VPC route table knows them): the ' +
  "external host sees the pod's own address and answers it directly; with ipMasq on it " +
  'would see the node address'

export const VPC_NO_ROUTE_BACK =
  'ipMasq is off, and the VPC knows no pod address in this mode: the VPC host sees the ' +
  "pod's own address but its answer goes to the VPC router, which has no route to it, so no " +
  'reply is the expected result'

/**
 * The source address the receiver of an HTTP probe must see. The routing mode decides where it
 * says so (its expectedSource); otherwise:
 * - pod → pod: the source pod's own address (no NAT between pods, ever);
 * - node → its own pod: the node's address on cni0 (the pods' gateway), the path it uses;
 * - node → pod on another node: the node's underlay address (host-gw routes via eth0);
 * - pod → external, ipMasq on: the pod's node's underlay address (masqueraded);
 * - pod → external, ipMasq off: no reply (the outside has no route back to pod subnets).
 */
export function expectHttp(model: LabModel, src: Endpoint, dst: Endpoint): Expectation {
  if (src.kind === 'pod' && dst.kind === 'pod') return {reply: true, seen: src.ip}
  const mode = model.mode
  const decided = mode.expectedSource?.(model, src, dst)
  if (decided !== undefined) return {reply: true, seen: decided}
  // a VPC host reaching a pod (only probed where the VPC knows pod addresses): nothing translates it
  if (src.kind === 'external' && dst.kind === 'pod') return {reply: true, seen: src.ip}
  if (src.kind === 'pod' && dst.kind === 'external' && !model.ipMasq) {
    // where the underlay routes pod subnets (a VPC route table), the outside answers the pod itself
    if (mode.podsRoutableFromUnderlay || (dst.vpc && mode.podsRoutableFromVpc)) return {reply: true, seen: src.ip}
    return {reply: false, why: dst.vpc ? VPC_NO_ROUTE_BACK : NO_ROUTE_BACK}
  }
  if (src.kind === 'node' && dst.kind === 'pod') {
    const node = nodeOf(model, src.name)
    return {reply: true, seen: dst.node === node.name ? node.gateway : node.ip}
  }
  if (src.kind === 'pod' && dst.kind === 'external') {
    return {reply: true, seen: nodeOf(model, src.node).ip}
  }
  throw new Error(`no HTTP expectation for ${src.kind} → ${dst.kind}`)
}

/** Whether a ping must be answered: always inside the cluster; from outside only when masqueraded. */
export function expectPing(model: LabModel, src: Endpoint, dst: Endpoint): Expectation {
  if (src.kind === 'pod' && dst.kind === 'external' && !model.ipMasq) {
    const http = expectHttp(model, src, dst)
    if (!http.reply) return http
  }
  return {reply: true}
}
