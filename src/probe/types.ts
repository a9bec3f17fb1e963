// What a probe is made of: probes planned from the lab model (with what the model says they must
// see), observations made inside the lab's namespaces, and the report that compares the two.
import type {Endpoint} from '../model/types.js'

/** What --only can pick. */
export const ONLY_CHOICES = ['pod-pod', 'node-pod', 'no-nat', 'vpc', 'egress', 'policy', 'services'] as const
export type Only = (typeof ONLY_CHOICES)[number]

/** Report sections, in report order. self-address goes with no-nat (it uses what peers saw). */
export type Section = Only | 'self-address'
export const SECTIONS: readonly Section[] = ['pod-pod', 'node-pod', 'no-nat', 'self-address', 'vpc', 'egress', 'policy', 'services']

/** The probe's checks: each is a module of checks/ named by its id, and a line of the registry (checks/index.ts). */
export type CheckId =
  | 'pod-pod-same-node'
  | 'pod-pod-other-node'
  | 'pod-own-address'
  | 'node-own-pod'
  | 'node-other-pod'
  | 'pod-node'
  | 'no-nat-pod-pod'
  | 'no-nat-node-pod'
  | 'self-address'
  | 'vpc-pod-reach'
  | 'vpc-pod-source'
  | 'pod-vpc-reach'
  | 'pod-vpc-source'
  | 'pod-in-vpc-subnet'
  | 'egress-reach'
  | 'egress-source'
  | 'policy-ports'
  | 'policy-external'
  | 'service-cluster-ip'
  | 'service-spread'
  | 'service-hairpin'
  | 'service-node-cluster-ip'
  | 'service-node-port-cluster'
  | 'service-node-port-local'
  | 'service-affinity'
  | 'service-no-endpoints'
  | 'bgp-learned'

export type Coverage = 'all-pairs' | 'representative'

/** What the model says a probe must observe. */
export type Expectation =
  /**
   * a reply; for HTTP also the source address the receiver must have seen. `by` (a Service's
   * probes): the namespaces that may answer (its endpoints), each with the source it must see
   */
  | {reply: true; seen?: string; by?: Readonly<Record<string, string>>}
  /**
   * no reply at all, and why that is right (e.g. ipMasq off: no route back from outside);
   * `refused`: refused at once (ECONNREFUSED, well under a second), not left to time out
   */
  | {reply: false; why: string; refused?: true}

/** A socket the echo service opens for the probe: a TCP listener (HTTP echo) or a UDP echo. */
export interface ServeTarget {
  netns: string
  ip: string
  proto: 'tcp' | 'udp'
  port: number
}

export interface Probe {
  id: number
  check: CheckId
  /** ping; http: a TCP connection and an HTTP echo; udp: a datagram and its echo */
  tool: 'ping' | 'http' | 'udp'
  /** http: a port a policy names (undefined: the echo service's own port, which none names); udp: always */
  port?: number
  src: Endpoint
  dst: Endpoint
  expect: Expectation
  /** in a lab with policies: what they say about this flow */
  policy?: ProbePolicy
  /**
   * a probe of a Service (its ClusterIP, or a node's NodePort): the echo sockets its endpoints
   * need for it (where no workload serves the target port), served instead of one in `dst`
   */
  serves?: readonly ServeTarget[]
}

/** The policies' verdict on one probe's flow (src/model/verdict.ts). */
export interface ProbePolicy {
  verdict: 'allowed' | 'denied'
  /** "ping", "tcp/5432", "udp/53", "tcp (a port no policy names)" */
  service: string
  /** why, naming the policies (and rules) that decide */
  why: string
  /** the deciding policies: those that deny it, or those whose rules allow it (none: nobody is isolated) */
  policies: string[]
}

/** What one probe saw. */
export interface Observation {
  reply: boolean
  /** HTTP: the client address the receiver saw (the echo service's answer) */
  seen?: string
  /** HTTP: the source address the client's kernel picked (the client socket's own address) */
  local?: string
  /** HTTP: the namespace whose echo socket answered */
  servedBy?: string
  /** why there was no reply, or anything else worth showing */
  detail?: string
  /** how long the answer (or the failure) took, ms, when the client says */
  ms?: number
  /** ping: the TTL the echo reply arrived with (64 less a hop per router on the way back) */
  ttl?: number
}

/** A pod's own idea of its address, read from its eth0. */
export interface SelfObservation {
  /** IPv4 addresses on eth0; undefined when they could not be read */
  eth0?: string[]
  /** a node's route table (routing bgp: who wrote each route); undefined when not read */
  routes?: {dst: string; protocol?: string; gateway?: string}[]
  detail?: string
}

export interface ResultEndpoint {
  kind: Endpoint['kind']
  name: string
  ip: string
  /** for a pod: its node */
  node?: string
  /** for an external host: a VM of the VPC */
  vpc?: boolean
}

export interface ProbeResult {
  src: ResultEndpoint
  dst: ResultEndpoint
  /** an address, "reply" or "no reply" */
  expected: string
  seen: string
  ok: boolean
  detail?: string
  /** probes of a lab with policies: the service probed and the policies' verdict */
  policy?: ProbePolicy
  /** ping: the TTL the echo reply arrived with, as the kernel handed it over */
  ttl?: number
  /** how long the answer (or the failure) took, ms */
  ms?: number
  /** a failure, explained by netlab trace: where the packet stops and why (one line) */
  explanation?: string
  /** a Service's probe: the port and protocol probed (its ClusterIP's, or a NodePort) */
  service?: {proto: 'tcp' | 'udp'; port: number}
  /** a Service's probe: the namespace whose echo answered */
  servedBy?: string
}

export interface CheckReport {
  id: CheckId
  section: Section
  title: string
  /** what is expected and why, when it is not obvious */
  note?: string
  /**
   * why the check does not apply to this lab (its mode, no policies, or nothing in the lab for it
   * to probe: a check that planned no probe says so too); then nothing passed or failed
   */
  notApplicable?: string
  passed: number
  failed: number
  /** every result, or, where failuresOnly says so, the failed ones only (a big check; --all-checks keeps all) */
  results: ProbeResult[]
  /** results holds the failures only: the passes were counted, not kept */
  failuresOnly?: true
}

export interface ProbeReport {
  lab: string
  coverage: Coverage
  /** --udp: the no-NAT checks sent a UDP datagram each instead of making a TCP connection (weaker: no handshake) */
  udp?: true
  sections: Section[]
  ipMasq: boolean
  routing: string
  nodes: number
  pods: number
  external: number
  checks: CheckReport[]
  passed: number
  failed: number
  ms: number
  /** failures explained by trace (distinct paths traced), and those left unexplained past the limit */
  explained?: {traced: number; notTraced: number}
  /** labs with policies: every probe with a verdict, sorted into what was allowed and what was denied */
  policy?: PolicySummary
  /** no check of the run applies to the lab (say, --only policy in a lab without policies): nothing was checked; exit 0 */
  notApplicable?: string
}

/** A probe whose outcome contradicts the policies, and the policies that decide its flow. */
export interface Violation {
  kind: 'denied-but-reachable' | 'allowed-but-blocked'
  check: CheckId
  src: ResultEndpoint
  dst: ResultEndpoint
  service: string
  /** the deciding policies' names */
  policies: string[]
  why: string
  seen: string
  detail?: string
}

export interface PolicySummary {
  policies: number
  /** pods isolated for ingress, for egress */
  isolated: {ingress: number; egress: number}
  allowedReachable: number
  deniedBlocked: number
  violations: Violation[]
  /** how long the denied probes that were blocked took to fail, where the client said (ms) */
  deniedMs?: {count: number; median: number; max: number}
  /** pod → pod, one per port and protocol probed, in the upstream e2e suite's form (labs up to MATRIX_MAX_PODS pods, matrix.ts) */
  matrices?: ReachMatrix[]
}

/**
 * Who reached whom on one port and protocol, as Kubernetes' NetworkPolicy e2e suite prints it
 * (truthtable.go): a header line "-\tPOD…", then a line per source pod, "." reachable, "X" not,
 * "-" not probed (a pod and itself: upstream never judges it).
 */
export interface ReachMatrix {
  port: number
  protocol: 'TCP' | 'UDP'
  /** the rows' and columns' order */
  pods: string[]
  /** what the kernel did */
  observed: string[]
  /** what the policies say (src/model/verdict.ts) */
  expected: string[]
  /** the cells where the kernel did not do what the policies say */
  differences: {from: string; to: string; kernel: 'reached' | 'blocked'}[]
}
