// A routing mode is how a packet from a pod on one node reaches a pod on another (host-gw, a
// cloud route table, an overlay, …). Everything about a mode lives in one module that
// implements this interface, registered in ./index.ts; the compiler, the model, status and
// the probe ask the mode instead of assuming one. Every hook but `routes` has a default
// (the bridge-per-node wiring of Kubernetes the Hard Way), so a mode states only what differs.
import type {LabModel, Member, NodeModel, PodModel} from '../model/types.js'
import type {Topology} from '../topology/types.js'
import type {Endpoint} from '../probe/types.js'
import type {GraphContribution} from '../model/graph.js'
import type {PlanBuilder} from '../plan/builder.js'
import type {NeighbourShape} from './neighbours.js'

export interface PlanContext {
  model: LabModel
  b: PlanBuilder
  /** the ownership mark every namespace's lo carries */
  mark: string
  /** the lab's bridged pods are routed by their node, their gateway their only neighbour (see routedPods in ../neighbours.ts) */
  routedPods: boolean
}

export interface RoutingModeModule {
  /** the value of cluster.routing */
  id: string
  /** one line: what the mode does (validate, status, README) */
  summary: string
  /** checks on the topology that only this mode makes; throw a TopologyError at the offending value */
  validate?(topo: Topology): void
  /** the mode needs every node on one L2 segment (validation refuses nodes on different segments) */
  oneSegment?: boolean
  /**
   * Do pods hold addresses of the underlay (VPC) subnet itself? default: no. Then the model gives
   * each pod a free address of its node's segment (after the nodes and the router; fixed pod
   * addresses must lie there and collide with nothing), no node has a pod subnet (node.podCIDR
   * is the segment, node.gateway the mode's podGateway), cluster.podCIDR and nodeSubnetSize do
   * not apply (the mode's validate refuses them), model.podCIDR is the segment, and an internet
   * host gets routes to the node addresses only (the segment holds pods too). (aws-vpc)
   */
  podsInUnderlay?: boolean
  /**
   * The address pods' default route goes via when it is not the first address of the node's pod
   * subnet (aws-vpc: 169.254.1.1, held by no interface). The model gives it a MAC (macFor) as
   * node.gatewayMac and every pod cable's node end that MAC (pod.hostVethMac), so a pod can be
   * written a permanent neighbour entry for its gateway.
   */
  podGateway?: string
  /**
   * the mode needs a router on the underlay (a VPC route table): its name and what it is. It gets
   * the first free address of every segment; labs with more than one segment get one anyway.
   */
  router?: {name: string; role: string}
  /**
   * Do all hosts on the underlay, the internet hosts included, route to pod subnets? default: no.
   * (routes: every external host's default route is the VPC router, which knows them.)
   */
  podsRoutableFromUnderlay?: boolean
  /**
   * Do VPC hosts (external, vpc: true) reach pods directly, each side seeing the other's own
   * address? default: podsRoutableFromUnderlay. The probe's VPC host → pod checks apply only
   * where this holds, and are reported as not applicable elsewhere. (aws-vpc, vpc-native)
   */
  podsRoutableFromVpc?: boolean
  /**
   * Routes every VM of the VPC has besides its own subnet's, written for each VPC host in the
   * external phase (a mode writes the nodes' own in its routes phase). (vpc-native: the
   * subnet's secondary range, connected, as GCP's subnet routes are)
   */
  vpcRoutes?(ctx: PlanContext, host: {name: string; netns: string}): void
  /**
   * The title or why of a shared phase (links, pod-links, nodes, pods, external, firewall), where
   * the default text would describe wiring the mode does not do (a bridge it has no use for).
   */
  phases?: Partial<Record<'links' | 'pod-links' | 'nodes' | 'pods' | 'external' | 'firewall', {title?: string; why?: string}>>
  /** How status names the mode's ranges and addresses (default: pod range, node pod subnet, pod address). */
  terms?: {podCIDR?: string; nodeSubnet?: string; podAddress?: string}
  /** members the mode adds to the lab (a VPC host, …), allocated after nodes and pods */
  members?(model: LabModel): Member[]
  // Wiring pods (defaults: ../wiring.ts, the bridge plugin's way).
  /**
   * links phase: what a node needs besides its eth0 (the default: its cni0 bridge, once it has
   * pods). Created from the root namespace while eth0 is; a device made inside the node (a VXLAN
   * device: its UDP socket lives where it is created) belongs in a later hook.
   */
  nodeLinks?(ctx: PlanContext, node: NodeModel): void
  /** nodes phase, after the node's own address: the node side of its pods (default: cni0 as their gateway, the pods' cables plugged in) */
  attachPods?(ctx: PlanContext, node: NodeModel): void
  /** pods phase, after loopback: the pod's address and routes (default: an address on the node's subnet, default route via cni0) */
  configurePod?(ctx: PlanContext, pod: PodModel, node: NodeModel): void
  /** neighbour entries the lab needs written (default: permanent entries only for labs too big to learn them by ARP, shaped by neighbourShape) */
  neighbours?(ctx: PlanContext): void
  /** how the mode's pods and VPC differ from the default for neighbour entries (../neighbours.ts) */
  neighbourShape?: NeighbourShape
  /** firewall phase, per node: forwarding rules and masquerade (default: accept the pod range, masquerade only leaving the cluster) */
  firewall?(ctx: PlanContext, node: NodeModel): void
  /**
   * labs with policies: how every packet to or from a node's pods comes to cross the node's IP
   * layer, where the policy rules are — the policies phase's explanation of it, and what it wires
   * on each node with pods (default: bridgePolicyWiring in ../wiring.ts: isolate cni0's pod ports
   * and answer the pods' ARP for each other, so same-node traffic is routed). A mode whose pods
   * are routed already (no bridge) says so and wires nothing.
   */
  policyWiring?: {why: string; build?(ctx: PlanContext, node: NodeModel): void}
  /** the routes phase: its title and why, and the routes that carry pod traffic between nodes */
  routes: {title: string; why: string; build(ctx: PlanContext): void}
  /**
   * The source address the receiver must see, for the pairs where the mode decides it
   * (e.g. node → pod on another node: the node's underlay address under host-gw, its VXLAN
   * address under an overlay). Undefined: the default for every mode (see probe/expect.ts).
   */
  expectedSource?(model: LabModel, src: Endpoint, dst: Endpoint): string | undefined
  /**
   * What `netlab graph` draws for this mode: its routes as labelled edges, devices it adds (an
   * overlay's VXLAN device in each node's cluster), notes. Boxes are named with
   * ../../graph/ids.ts. Undefined: the picture shows the members and cables only.
   */
  graph?(model: LabModel): GraphContribution
}
