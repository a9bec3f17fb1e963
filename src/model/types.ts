// The lab model: every name and address decided, nothing executed. Plans are compiled from it,
// status prints it, probes test against it. Plain data, so it can be saved as JSON in the state.
import type {CniModel} from '../compile/cni-model.js'
import type {PolicyProtocol, PolicyType, RoutingMode} from '../topology/types.js'

export interface PodModel {
  name: string
  node: string
  netns: string
  ip: string
  /** MAC of the pod's eth0, derived from its address */
  mac: string
  /** the node-side end of the pod's veth pair, attached to the node's cni0 bridge */
  hostVeth: string
  /**
   * MAC of the node-side end, when the mode's pods are written its MAC as their gateway's
   * (aws-vpc: it answers for 169.254.1.1); absent: the kernel picks one
   */
  hostVethMac?: string
  /** its labels, when it has any (what policies select it by) */
  labels?: Record<string, string>
}

export interface NodeModel {
  name: string
  netns: string
  /** the node's address on the underlay (its eth0) */
  ip: string
  /** MAC of the node's eth0 */
  mac: string
  /** the range its pods' addresses come from: its pod subnet, or the VPC subnet itself when pods hold underlay addresses (aws-vpc) */
  podCIDR: string
  /** the pods' default gateway: the first address of the pod subnet, held by cni0; or the mode's podGateway, which no interface holds (aws-vpc: 169.254.1.1) */
  gateway: string
  /** MAC of cni0 (the gateway), or of the pod cables' node ends that answer for podGateway */
  gatewayMac: string
  bridge: string
  /** the node's port on the fabric bridge (the other end of its eth0) */
  fabricPort: string
  /** the underlay segment its eth0 is on */
  segment: number
  pods: PodModel[]
}

export interface ExternalModel {
  name: string
  netns: string
  ip: string
  mac: string
  fabricPort: string
  segment: number
  /** a VM in the cluster's VPC (an address in its segment), not "the internet" */
  vpc: boolean
}

/** One L2 segment of the underlay (a "VPC subnet"): a bridge in the fabric namespace. */
export interface SegmentModel {
  index: number
  cidr: string
  bridge: string
}

/**
 * A router on the underlay, with one leg per segment: it joins the segments, and in the routes
 * mode it is the VPC's route table too. Labs with one segment and a mode that needs no router
 * have none.
 */
export interface RouterModel {
  name: string
  netns: string
  legs: {segment: number; dev: string; ip: string; mac: string; fabricPort: string}[]
}

/**
 * Every namespace of the lab, whatever it is: fabric, node, pod, external host, or what a
 * routing mode adds (a router, …). Status, cleanup and the tools that draw or trace a lab read
 * this list, so a new kind of member needs no change there.
 */
export interface Member {
  kind: 'fabric' | 'node' | 'pod' | 'external' | 'router' | (string & {})
  name: string
  netns: string
  /** the addresses it holds */
  ips: string[]
  /** what it is, in the words of the plan (its namespace's "why") */
  role: string
}

export interface LabModel {
  lab: string
  routing: RoutingMode
  ipMasq: boolean
  podCIDR: string
  nodeSubnetSize: number
  /** the first underlay segment's CIDR (the only one in most labs) */
  underlay: string
  segments: SegmentModel[]
  fabric: {netns: string; bridge: string}
  router?: RouterModel
  nodes: NodeModel[]
  external: ExternalModel[]
  /** every namespace of the lab, in creation order */
  members: Member[]
  /**
   * the network policies, resolved to pods; undefined when the topology has no policies: key
   * (its nodes then have no policy wiring at all). [] is a lab wired for policies, with none.
   */
  policies?: PolicyModel[]
  /** pods are wired by CNI plugins, netlab calling them as the runtime (cluster.cni) */
  cni?: CniModel
}

/** Who a rule names: pods (by a selector, resolved to their names) or an address block. */
export type PolicyPeer = {kind: 'pods'; selector: Record<string, string>; pods: string[]} | {kind: 'ipBlock'; cidr: string}

export interface PolicyPort {
  protocol: PolicyProtocol
  /** undefined: every port of the protocol */
  port?: number
}

export interface PolicyRule {
  /** undefined: from (or to) anyone */
  peers?: PolicyPeer[]
  /** undefined: every protocol and port */
  ports?: PolicyPort[]
}

/** A NetworkPolicy, resolved: the pods it selects and its rules, with Kubernetes' defaults applied. */
export interface PolicyModel {
  name: string
  selector: Record<string, string>
  /** the pods it selects (isolates), by name */
  pods: string[]
  /** the directions it isolates those pods in (policyTypes, or Kubernetes' default) */
  types: PolicyType[]
  /** the rules of the directions it isolates; rules of a direction not in types are dropped */
  ingress: PolicyRule[]
  egress: PolicyRule[]
}

export function allPods(model: LabModel): PodModel[] {
  return model.nodes.flatMap((n) => n.pods)
}

/** Every namespace of the lab, in creation order. */
export function allNetns(model: LabModel): string[] {
  return model.members.map((m) => m.netns)
}
