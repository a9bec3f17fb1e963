// The topology as the user wrote it, after syntax checks, before any address is allocated.
// Every field that a later check may complain about carries the position it came from.
import type {SourcePos} from './errors.js'

/**
 * The values cluster.routing takes, in the order netlab lists them; the first is the default.
 * Each has its module in src/modes (the registry there is typed by this list, so a value without
 * a module, or a module without a value, does not compile).
 */
export const ROUTING_MODES = ['host-gw', 'routes', 'vxlan', 'aws-vpc', 'vpc-native'] as const
export type RoutingMode = (typeof ROUTING_MODES)[number]
export const DEFAULT_ROUTING_MODE: RoutingMode = ROUTING_MODES[0]

/**
 * The values cluster.cni.preset takes, in the order netlab lists them. Each has its module in
 * src/cni/presets (the registry there is typed by this list, as the routing modes' is by theirs).
 */
export const CNI_PRESETS = ['reference', 'netlab', 'bash'] as const
export type CniPresetName = (typeof CNI_PRESETS)[number]

export interface Located<T> {
  value: T
  pos: SourcePos
}

export interface PodSpec {
  name: Located<string>
  ip?: Located<string>
  /** Kubernetes-style labels, for policies to select the pod by */
  labels?: Record<string, string>
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
  }
  nodes: NodeSpec[]
  nodesPos: SourcePos
  external: ExternalSpec[]
  /** the policies: list (undefined when the file has no such key; then no policy wiring at all) */
  policies?: PolicySpec[]
}

// Network policies, modelled on Kubernetes NetworkPolicy (see src/topology/policies.ts).

export type PolicyType = 'Ingress' | 'Egress'
export type PolicyProtocol = 'TCP' | 'UDP' | 'ICMP'

/** A label selector: every label must match; {} selects every pod. */
export interface SelectorSpec {
  labels: Record<string, string>
  pos: SourcePos
}

/** Who a rule lets in (from) or out (to): pods by label, or addresses. */
export type PeerSpec = {podSelector: SelectorSpec} | {ipBlock: Located<string>}

export interface PortSpec {
  protocol: Located<PolicyProtocol>
  /** undefined: every port of the protocol (ICMP has none) */
  port?: Located<number>
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
  podSelector: SelectorSpec
  /** as written; undefined: Kubernetes' default (Ingress, plus Egress when there are egress rules) */
  policyTypes?: Located<PolicyType[]>
  ingress?: RuleSpec[]
  ingressPos?: SourcePos
  egress?: RuleSpec[]
  egressPos?: SourcePos
  pos: SourcePos
}
