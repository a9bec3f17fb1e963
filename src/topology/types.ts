// The topology as the user wrote it, after syntax checks, before any address is allocated.
// Every field that a later check may complain about carries the position it came from.
import type {SourcePos} from './errors.js'

/**
 * The values cluster.routing takes, in the order netlab lists them; the first is the default.
 * Each has its module in src/modes (the registry there is typed by this list, so a value without
 * a module, or a module without a value, does not compile).
 */
export const ROUTING_MODES = ['host-gw', 'routes', 'vxlan', 'aws-vpc', 'vpc-native', 'bgp'] as const
export type RoutingMode = (typeof ROUTING_MODES)[number]
export const DEFAULT_ROUTING_MODE: RoutingMode = ROUTING_MODES[0]

/**
 * The values cluster.cni.preset takes, in the order netlab lists them. Each has its module in
 * src/cni/presets (the registry there is typed by this list, as the routing modes' is by theirs).
 */
export const CNI_PRESETS = ['reference', 'netlab', 'bash'] as const
export type CniPresetName = (typeof CNI_PRESETS)[number]

/**
 * The values cluster.proxy takes: kube-proxy's mode on every node, the first the default. Each has
 * its module in src/proxy (the registry there is typed by this list). ipvs is known but refused:
 * it needs the kernel's IPVS, which a lab cannot assume (see src/proxy/index.ts).
 */
export const PROXY_MODES = ['iptables', 'nftables', 'none'] as const
export type ProxyMode = (typeof PROXY_MODES)[number]
export const DEFAULT_PROXY_MODE: ProxyMode = PROXY_MODES[0]

/** cluster.bgp, as written (routing bgp only). */
export interface BgpSpec {
  pos: SourcePos
  /** the cluster's AS (Calico's default 64512) */
  asNumber?: Located<number>
  /** nodes that reflect routes; empty or absent: Calico's node-to-node full mesh */
  routeReflectors?: Located<string>[]
  /** none (Calico's "BGP only, direct routing"); vxlan is named and refused */
  encapsulation?: Located<string>
}

/** The transport protocols a pod serves and a Service forwards (SCTP: this kernel has none). */
export type ServiceProtocol = 'TCP' | 'UDP'

export interface Located<T> {
  value: T
  pos: SourcePos
}

export interface PodSpec {
  /** its name in the lab: NAME in the default namespace, NS/NAME in another (src/core/names.ts podName) */
  name: Located<string>
  /** the Kubernetes namespace it says it is in (undefined: default) */
  namespace?: Located<string>
  ip?: Located<string>
  /** Kubernetes-style labels, for policies and Services to select the pod by */
  labels?: Record<string, string>
  /** what the pod serves (a container's ports): netlab runs an echo server on each */
  ports?: PodPortSpec[]
}

/** A port a pod serves, as a container's ports are written: a name for Services to target it by. */
export interface PodPortSpec {
  name?: Located<string>
  port: Located<number>
  protocol: Located<ServiceProtocol>
  pos: SourcePos
}

/** A Kubernetes namespace: a name, and labels for namespaceSelectors to select it by. */
export interface NamespaceSpec {
  name: Located<string>
  labels: Record<string, string>
  pos: SourcePos
}

export interface NodeSpec {
  name: Located<string>
  ip?: Located<string>
  podCIDR?: Located<string>
  pods: PodSpec[]
  /** where the pods key (or the node itself) is, for "too many pods" errors */
  podsPos: SourcePos
  /** index into cluster.underlay: the segment the node's eth0 is on (default 0) */
  segment?: Located<number>
}

export interface ExternalSpec {
  name: Located<string>
  ip?: Located<string>
  /** a VM in the same VPC that is not a node (an address in the underlay), not "the internet" */
  vpc?: Located<boolean>
  /** index into cluster.underlay (default 0) */
  segment?: Located<number>
}

/** cluster.cni: which conflist the runtime (netlab) calls, and where its plugins are. */
export interface CniSpec {
  /** where the cni key is */
  pos: SourcePos
  /** a built-in conflist template (src/cni/presets) */
  preset?: Located<CniPresetName>
  /** a conflist template file, as written (relative to the topology file) */
  conflist?: Located<string>
  /** that file: its absolute path and text, filled in by loadTopologyFile */
  conflistFile?: {path: string; text: string}
  /** CNI_PATH's plugin directory, as written (default: chosen when the lab is loaded) */
  binDir?: Located<string>
}

export interface Topology {
  file: string
  name: Located<string>
  cluster: {
    podCIDR: Located<string>
    nodeSubnetSize: Located<number>
    /** the underlay segments (one CIDR each; a single string in the file is one segment) */
    underlay: Located<string>[]
    routing: Located<RoutingMode>
    ipMasq: Located<boolean>
    /** the cluster keys the file itself gives (the rest are defaults), for modes to which some do not apply */
    given?: readonly string[]
    /** pods are wired by CNI plugins that netlab calls as a runtime (undefined: netlab's own commands) */
    cni?: CniSpec
    /** the range ClusterIPs come from (kube-apiserver's --service-cluster-ip-range) */
    serviceCIDR: Located<string>
    /** kube-proxy's mode on every node */
    proxy: Located<ProxyMode>
    /** routing bgp: its AS and session layout (src/topology/bgp.ts) */
    bgp?: BgpSpec
  }
  nodes: NodeSpec[]
  nodesPos: SourcePos
  external: ExternalSpec[]
  /** the namespaces: list (undefined when the file has none: every pod is in default) */
  namespaces?: NamespaceSpec[]
  /** the policies: list (undefined when the file has no such key; then no policy wiring at all) */
  policies?: PolicySpec[]
  /** the services: list (undefined when the file has no such key; then no kube-proxy at all) */
  services?: ServiceSpec[]
}

// Services, as Kubernetes writes them (see src/topology/services.ts); kube-proxy's rules for them
// are compiled by the lab's proxy mode (src/proxy).

export type ServiceType = 'ClusterIP' | 'NodePort'

export interface ServicePortSpec {
  name?: Located<string>
  port: Located<number>
  protocol: Located<ServiceProtocol>
  /** a number, or the name of a pod port; undefined: the same as port (Kubernetes' default) */
  targetPort?: Located<number | string>
  /** NodePort services: a fixed node port (undefined: allocated from 30000-32767) */
  nodePort?: Located<number>
  pos: SourcePos
}

export interface ServiceSpec {
  name: Located<string>
  /** its Kubernetes namespace (undefined: default); it selects pods of that namespace only */
  namespace?: Located<string>
  type: Located<ServiceType>
  /** selects the pods that are its endpoints (every label must match) */
  selector: SelectorSpec
  ports: ServicePortSpec[]
  /** a fixed ClusterIP inside cluster.serviceCIDR (undefined: allocated) */
  clusterIP?: Located<string>
  externalTrafficPolicy: Located<'Cluster' | 'Local'>
  sessionAffinity: Located<'None' | 'ClientIP'>
  /** sessionAffinityConfig.clientIP.timeoutSeconds (Kubernetes' default: 10800) */
  affinityTimeout: Located<number>
  pos: SourcePos
}

// Network policies, modelled on Kubernetes NetworkPolicy (see src/topology/policies.ts).

export type PolicyType = 'Ingress' | 'Egress'
/**
 * SCTP is accepted in a policy and carries nothing: netlab's rules allow no SCTP (this kernel has
 * none), so an SCTP port opens no traffic, and the pods the policy selects stay isolated, as
 * Kubernetes' e2e cases for plugins without SCTP require.
 */
export type PolicyProtocol = 'TCP' | 'UDP' | 'SCTP' | 'ICMP'

export const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const
export type SelectorOperator = (typeof SELECTOR_OPERATORS)[number]

/** One of matchExpressions: In and NotIn have values, Exists and DoesNotExist none. */
export interface ExpressionSpec {
  key: string
  operator: SelectorOperator
  values: string[]
  pos: SourcePos
}

/** A label selector: every label (matchLabels) and every expression must match; {} selects everything. */
export interface SelectorSpec {
  labels: Record<string, string>
  /** matchExpressions (policies only: a Service's selector is labels) */
  expressions?: ExpressionSpec[]
  pos: SourcePos
}

/**
 * Who a rule lets in (from) or out (to): pods by label (podSelector: in the policy's namespace;
 * namespaceSelector: in the namespaces it selects; both: the pods it selects in those), or addresses.
 */
export type PeerSpec =
  {podSelector?: SelectorSpec; namespaceSelector?: SelectorSpec; pos: SourcePos} | {ipBlock: Located<string>; except?: Located<string>[]}

export interface PortSpec {
  protocol: Located<PolicyProtocol>
  /** undefined: every port of the protocol (ICMP has none); a string: a pod port's name */
  port?: Located<number | string>
  /** the last port of a range port..endPort */
  endPort?: Located<number>
}

export interface RuleSpec {
  /** from (ingress) or to (egress); undefined or empty: anyone */
  peers?: PeerSpec[]
  /** undefined or empty: every port and protocol */
  ports?: PortSpec[]
  pos: SourcePos
}

export interface PolicySpec {
  name: Located<string>
  /** its Kubernetes namespace (undefined: default): it selects pods there */
  namespace?: Located<string>
  podSelector: SelectorSpec
  /** as written; undefined: Kubernetes' default (Ingress, plus Egress when there are egress rules) */
  policyTypes?: Located<PolicyType[]>
  ingress?: RuleSpec[]
  ingressPos?: SourcePos
  egress?: RuleSpec[]
  egressPos?: SourcePos
  pos: SourcePos
}
