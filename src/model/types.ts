// The lab model: every name and address decided, nothing executed. Plans are compiled from it,
// status prints it, probes test against it. Plain data, so it can be saved as JSON in the state;
// beside it travels its routing mode's module (LabModel.mode), which is not saved.
// The vocabulary of everything built from a model lives here too, so that the layers above can
// all speak it: a routing mode's interface (what every mode must say), an endpoint of a flow,
// the CNI runtime's part of the model.
import type {PlanBuilder} from '../plan/builder.js'
import type {
  PolicyProtocol,
  PolicyType,
  ProxyMode,
  SelectorOperator,
  RoutingMode,
  ServiceProtocol,
  ServiceType,
  Topology,
} from '../topology/types.js'
import type {GraphContribution} from './graph.js'

export interface PodModel {
  /** NAME in the default namespace, NS/NAME in another (podName in src/core/names.ts) */
  name: string
  /** its Kubernetes namespace, when it is not default */
  namespace?: string
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
  /** its labels, when it has any (what policies and Services select it by) */
  labels?: Record<string, string>
  /** what it serves, when it declares ports: netlab's workload answers on each (src/lab/workload.ts) */
  ports?: PodPort[]
}

/** A port a pod serves (a container's port). */
export interface PodPort {
  name?: string
  port: number
  protocol: ServiceProtocol
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
interface SegmentModel {
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
   * the Kubernetes namespaces, each with its labels (kubernetes.io/metadata.name among them);
   * undefined when the topology has no namespaces: key (then there is default alone, see
   * namespacesOf in ./namespaces.ts)
   */
  namespaces?: NamespaceModel[]
  /**
   * the network policies, resolved to pods; undefined when the topology has no policies: key
   * (its nodes then have no policy wiring at all). [] is a lab wired for policies, with none.
   */
  policies?: PolicyModel[]
  /** pods are wired by CNI plugins, netlab calling them as the runtime (cluster.cni) */
  cni?: CniModel
  /** routing bgp: the AS numbers and who peers with whom (src/modes/bgp.ts) */
  bgp?: BgpModel
  /**
   * the Services and kube-proxy (cluster.proxy, cluster.serviceCIDR); undefined when the topology
   * has no services: key (its nodes then have no kube-proxy rules at all)
   */
  services?: ServicesModel
  /**
   * The routing mode's module, resolved once from `routing` when the model is built or read back
   * (withMode in src/compile/model.ts). Not enumerable, so not saved: the saved model names its
   * mode by id. Everything that differs by mode asks it, never `routing`.
   */
  readonly mode: RoutingModeModule
}

/** routing bgp's settings (cluster.bgp), with Calico's defaults applied. */
interface BgpModel {
  /** the AS of the nodes of segment 0; a node of segment s is in asNumber + s (one AS per rack) */
  asNumber: number
  /** the nodes that reflect routes (empty: every node peers with every other, Calico's full mesh) */
  routeReflectors: string[]
}

/** A lab's Services, and how every node's kube-proxy implements them. */
export interface ServicesModel {
  proxy: ProxyMode
  /** the range ClusterIPs come from */
  serviceCIDR: string
  list: ServiceModel[]
}

/** One endpoint of a Service port: a pod the selector matched, and the port it serves it on. */
export interface ServiceEndpoint {
  pod: string
  node: string
  ip: string
  port: number
}

export interface ServicePortModel {
  /** undefined: the Service's only port, unnamed */
  name?: string
  port: number
  protocol: ServiceProtocol
  /** as written: a number, or a pod port's name (resolved per pod into each endpoint's port) */
  targetPort: number | string
  /** type NodePort: the port every node answers on */
  nodePort?: number
  /** the pods that serve it, in lab order (kube-proxy's EndpointSlice, every pod ready) */
  endpoints: ServiceEndpoint[]
}

export interface ServiceModel {
  name: string
  /** the Kubernetes namespace: "default" (what kube-proxy's chain names and comments say) */
  namespace: string
  type: ServiceType
  clusterIP: string
  selector: Record<string, string>
  externalTrafficPolicy: 'Cluster' | 'Local'
  sessionAffinity: 'None' | 'ClientIP'
  /** ClientIP affinity: how long a client sticks to its endpoint, in seconds */
  affinityTimeout?: number
  ports: ServicePortModel[]
}

/**
 * kube-proxy's mode: how one node's rules for the lab's Services are written. One module per
 * mode in src/proxy, registered there; the services phase (src/compile/services-phase.ts) asks
 * it for each node.
 */
export interface ProxyModeModule {
  /** the value of cluster.proxy */
  id: ProxyMode
  /** one line: what the mode is (validate, status, README) */
  summary: string
  /** the node's kube-proxy rules, written into its namespace (none: nothing) */
  build(ctx: PlanContext, node: NodeModel): void
}

export interface NamespaceModel {
  name: string
  labels: Record<string, string>
}

/** One of a selector's matchExpressions. */
export interface LabelExpression {
  key: string
  operator: SelectorOperator
  /** In, NotIn: the values; Exists, DoesNotExist: none */
  values?: string[]
}

/** A namespaceSelector: its matchLabels and matchExpressions. */
interface NamespaceSelector {
  labels: Record<string, string>
  expressions?: LabelExpression[]
}

/**
 * Who a rule names: pods (by a selector, in the policy's namespace, or in the namespaces a
 * namespaceSelector selects; resolved to their names, again whenever labels change) or an
 * address block, less its exceptions.
 */
export type PolicyPeer =
  | {kind: 'pods'; selector: Record<string, string>; expressions?: LabelExpression[]; namespaceSelector?: NamespaceSelector; pods: string[]}
  | {kind: 'ipBlock'; cidr: string; except?: string[]}

export interface PolicyPort {
  protocol: PolicyProtocol
  /** undefined: every port of the protocol (or the port named `name`) */
  port?: number
  /** a named port: each destination pod's port of that name and protocol (a pod without it: no match) */
  name?: string
  /** port..endPort, a range */
  endPort?: number
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
  /** its Kubernetes namespace, when it is not default: it selects pods there */
  namespace?: string
  selector: Record<string, string>
  /** the podSelector's matchExpressions, when it has any */
  expressions?: LabelExpression[]
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

/**
 * The router a node sends even its neighbours' traffic to (the mode's nodePeers 'router'), or
 * undefined where nodes reach the other nodes of their segment directly.
 */
export function nodesViaRouter(model: LabModel): RouterModel | undefined {
  return model.mode.nodePeers === 'router' ? model.router : undefined
}

/** Do VPC hosts reach pods directly, each side seeing the other's own address? (the mode's podsRoutableFromVpc, else podsRoutableFromUnderlay) */
export function vpcReachesPods(model: LabModel): boolean {
  const m = model.mode
  return m.podsRoutableFromVpc ?? m.podsRoutableFromUnderlay ?? false
}

/** Every namespace of the lab, in creation order. */
export function allNetns(model: LabModel): string[] {
  return model.members.map((m) => m.netns)
}

/** Where a probe or a trace starts or ends: a pod, a node or an external host, by its address. */
export interface Endpoint {
  /** service: a Service's ClusterIP, which no namespace holds (the probe's services section; netns '') */
  kind: 'pod' | 'node' | 'external' | 'service'
  name: string
  netns: string
  ip: string
  /** for a pod: the node it runs on */
  node?: string
  /** for an external host: a VM of the cluster's VPC (vpc: true), not the internet */
  vpc?: boolean
}

// The CNI runtime's part of the model (cluster.cni; built by src/compile/cni-model.ts).

interface CniNodeConfig {
  node: string
  /** where the rendered conflist is written (the node's --cni-conf-dir) */
  file: string
  /** the rendered conflist */
  text: string
}

export interface CniModel {
  /** where the conflist template came from: "preset reference", or its file */
  source: string
  /** the conflist's network name and version */
  network: string
  /** the version spoken with its plugins: cniVersion, or the highest of cniVersions netlab speaks */
  cniVersion: string
  /** the conflist's disableGC (CNI 1.1): the runtime must not GC this network */
  disableGC?: boolean
  /** CNI_PATH: the directories plugins are looked up in, in order */
  path: string[]
  /** each plugin type of the chain, in order, and the file that is run for it */
  chain: {type: string; file: string}[]
  /** a plugin of the chain declares the mac capability: pods get the MACs the model gives them */
  podMacs: boolean
  /** the runtime's files: <lab state dir>/cni (net.d/, cache/, ipam/) */
  dir: string
  nodes: CniNodeConfig[]
}

/** Where plugins are: the distribution's directory (or the default), and netlab's own two. */
export interface CniEnv {
  /** the default binDir: /usr/lib/cni when it holds the plugins, else /opt/cni/bin */
  binDir: string
  /** the directory of bin/netlab-cni and of examples/bash-cni/bash-cni */
  netlabDir: string
  bashDir: string
}

/** How a mode's pods and VPC differ from the default (pods on a bridge, the VPC knows no pod address). */
export interface NeighbourShape {
  /** pods cabled point to point, no bridge: a node's pods are each on their own cable, and a pod's only neighbour is its gateway, written permanent when it is configured */
  ptp?: boolean
  /** the VPC delivers pod addresses by ARP: every node and VPC host has an entry per pod of another node, that node's MAC */
  vpcPods?: boolean
}

// A routing mode is how a packet from a pod on one node reaches a pod on another (host-gw, a
// cloud route table, an overlay, …). Everything about a mode lives in one module that
// implements this interface, registered in src/modes/index.ts; the compiler, the model, status and
// the probe ask the mode instead of assuming one. Every hook but `routes` has a default
// (the bridge-per-node wiring of Kubernetes the Hard Way), so a mode states only what differs.

export interface PlanContext {
  model: LabModel
  b: PlanBuilder
  /** the ownership mark every namespace's lo carries */
  mark: string
  /** the lab's bridged pods are routed by their node, their gateway their only neighbour (see routedPods in src/modes/neighbours.ts) */
  routedPods: boolean
}

export interface RoutingModeModule {
  /** the value of cluster.routing */
  id: RoutingMode
  /** one line: what the mode does (validate, status, README) */
  summary: string
  /** the MTU pods need when it is not the kernel's default (an overlay's encapsulation takes room); CNI presets take it */
  podMtu?: number
  /**
   * How a node's traffic reaches the pods of the other nodes. 'per-node' (the default): the node
   * holds an entry of its own for each other node (host-gw's routes, vxlan's fdb and neighbour
   * entries, bgp's learned routes), so the representative probe crosses every ordered pair of
   * nodes to use each. 'shared': one route carries it all (routes: a default route to the VPC
   * router, whose table holds one route per node), so each node a source and a target once uses
   * every route, and the probe's cross-node checks grow with pods, not with nodes².
   */
  crossNodeRoutes?: 'per-node' | 'shared'
  /**
   * How a node reaches the other nodes of its segment. 'direct' (the default): its address's
   * connected route puts them on its own wire. 'router': the node holds its address without that
   * route and sends everything, traffic for its segment too, to the router (a GCE VM gets a /32
   * from DHCP and the VPC's gateway carries even same-subnet traffic). The router is then a node's
   * one neighbour on the underlay, so a big lab's written neighbour entries grow with the nodes,
   * not with nodes². Needs `router`.
   */
  nodePeers?: 'direct' | 'router'
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
  /** the mode's part of the model, from the topology (routing bgp: its AS numbers and route reflectors) */
  settings?(topo: Topology): Pick<LabModel, 'bgp'>
  /** members the mode adds to the lab (a VPC host, …), allocated after nodes and pods */
  members?(model: LabModel): Member[]
  // Wiring pods (defaults: src/modes/bridge.ts, the bridge plugin's way).
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
  /** how the mode's pods and VPC differ from the default for neighbour entries (src/modes/neighbours.ts) */
  neighbourShape?: NeighbourShape
  /** firewall phase, per node: forwarding rules and masquerade (default: accept the pod range, masquerade only leaving the cluster) */
  firewall?(ctx: PlanContext, node: NodeModel): void
  /**
   * labs with policies: how every packet to or from a node's pods comes to cross the node's IP
   * layer, where the policy rules are — the policies phase's explanation of it, and what it wires
   * on each node with pods (default: bridgePolicyWiring in src/modes/bridge.ts: isolate cni0's pod ports
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
   * ./graph-ids.ts. Undefined: the picture shows the members and cables only.
   */
  graph?(model: LabModel): GraphContribution
}
