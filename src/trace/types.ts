// What `netlab trace` works with: a packet, one namespace's kernel state as the tools print it
// (parsed JSON, read by ./read.ts), and the hops decided from it (./hop.ts, pure).

export type Proto = 'icmp' | 'tcp' | 'udp'

export interface Packet {
  src: string
  dst: string
  proto: Proto
  /** tcp/udp: the destination port */
  port?: number
  /**
   * a reply of a connection conntrack knows: iptables sees it ESTABLISHED, and nat is not asked
   * again (conntrack undoes the connection's translations itself)
   */
  established?: boolean
}

/** One interface as `ip -j -d addr show` prints it (the fields trace reads). */
export interface IpLink {
  ifname: string
  mtu?: number
  operstate?: string
  flags?: string[]
  master?: string
  address?: string
  linkinfo?: {
    info_kind?: string
    info_data?: {id?: number; local?: string; link?: string; port?: number}
    /** a bridge port's settings: hairpin lets the bridge send a frame back out the port it came in by */
    info_slave_data?: {hairpin?: boolean}
  }
  addr_info?: {family?: string; local?: string; prefixlen?: number}[]
}

/** One answer of `ip -j route get`. */
export interface RouteGet {
  dst: string
  type?: string
  from?: string
  gateway?: string
  dev?: string
  prefsrc?: string
  iif?: string
}

/** One entry of `ip -j neigh show`. */
export interface Neigh {
  dst: string
  dev?: string
  lladdr?: string
  state?: string[]
}

/** One entry of `bridge -j fdb show`. */
export interface Fdb {
  mac: string
  ifname?: string
  dst?: string
  state?: string
}

/** One namespace's state, read in one go: everything one hop is decided from. */
export interface Snapshot {
  links: IpLink[]
  /** the answer of `ip route get` for this hop's packet, or the kernel's refusal */
  route: RouteGet[] | {error: string}
  neigh: Neigh[]
  fdb: Fdb[]
  /** `iptables-save -c` (empty: no rules) */
  iptables: string
  /** net.ipv4.ip_forward */
  ipForward: string
  /**
   * net.bridge.bridge-nf-call-iptables in this namespace ("1": br_netfilter hands frames its
   * bridges forward to iptables; empty: the module is not loaded, nothing does)
   */
  bridgeNf?: string
  /** recent's lists (`grep -r . /proc/net/xt_recent`: kube-proxy's ClientIP affinity); empty: none */
  recent?: string
  /** `nft -j list table ip kube-proxy` (kube-proxy's nftables mode); empty: no such table */
  nft?: string
  /** `ip -j route show proto bird`: the routes BIRD learned and wrote (routing bgp) */
  learned?: {dst: string; gateway?: string}[]
}

/** One endpoint a Service's chain chooses from (./nat.ts): its KUBE-SEP chain and where that DNATs to. */
export interface Candidate {
  chain: string
  to: string
  /** the chance the random choice gives it (a new client); undefined: only by affinity */
  probability?: number
  /** its rule's own --probability (of what the rules before it left); undefined: the last rule, which takes the rest */
  ruleProbability?: number
}

/** A destination NAT at one hop: kube-proxy's, read from the node's nat table (./nat.ts). */
export interface Translation {
  /** the packet as it came, and as the DNAT sends it on */
  before: Packet
  packet: Packet
  /** the chains walked to the DNAT: nat PREROUTING → KUBE-SERVICES → KUBE-SVC-… → KUBE-SEP-… */
  path: string[]
  /** the DNAT rule as iptables -S prints it, and its number in its chain */
  rule: string
  ruleNum: number
  /** kube-proxy's name of the Service port ("default/web:http"), from the rules' comments */
  service?: string
  /** the endpoints the Service's chain chooses from, in its order */
  candidates: Candidate[]
  /** how this one was chosen: the only one, at random, or by ClientIP affinity (the client was here before) */
  how: 'only' | 'random' | 'affinity'
  /** ClientIP affinity's timeout (recent --seconds), when the chain has it */
  affinitySeconds?: number
  /** the packet's mark after the walk (KUBE-MARK-MASQ sets 0x4000) */
  mark: number
  /** the rule that marked it for masquerade, and why kube-proxy does */
  masquerade?: {chain: string; rule: string; why: string}
}

/** Why a packet stops (or is spoiled) at a hop. */
export type StopKind =
  | 'no-route'
  | 'forwarding-off'
  | 'drop'
  | 'no-neighbour'
  | 'no-fdb'
  | 'masquerade'
  | 'mtu'
  | 'loop'
  /** a bridge would have to send a frame back out the port it came in by (a pod reaching itself through its Service) */
  | 'hairpin'
  /** the reply does not pass the node that translated the packet, where conntrack would undo it */
  | 'reply'
  | 'unknown'
  /** --confirm: the real packet's counters contradict the model (it was not seen where trace says it goes) */
  | 'unseen'

export interface Hop {
  /** the lab member (namespace) the packet is in */
  member: string
  kind: string
  /** the interface it came in by (none at the source) */
  in?: string
  /** the interface it leaves by */
  out?: string
  /** the address it is handed to (a gateway, or the destination itself) */
  via?: string
  /** the member that holds `via` (or, for an overlay, the remote tunnel end) */
  next?: string
  /** the packet's source address as it leaves this hop (after any masquerade) */
  src: string
  /** iptables' verdict here, in words (chain, rule, policy) */
  firewall?: string
  /** the destination NAT here (kube-proxy's DNAT to a Service's endpoint) */
  translation?: Translation
  /** a frame this member's bridge forwards that its netfilter (and so its conntrack) never sees: br_netfilter off */
  unfiltered?: boolean
  /** what happens here, in the plan's voice */
  text: string
  /** what is wrong here: the packet stops (or, for mtu, large packets do) */
  problem?: {kind: StopKind; reason: string}
  /** a real packet's counters seen here (--confirm) */
  counted?: string
}

export interface TraceResult {
  lab: string
  from: string
  to: string
  packet: Packet
  hops: Hop[]
  /** delivered: it reaches `to` (a problem may still spoil it: masquerade, MTU) */
  delivered: boolean
  /** where and why it stops or goes wrong; undefined: the path is healthy */
  problem?: {member: string; kind: StopKind; reason: string}
  /** the one-line summary: "web-0 → db: stops at node-1: no route to 10.244.9.10" */
  summary: string
  /** --confirm: did the real ping get a reply */
  confirm?: {reply: boolean}
  /** a translated packet: its reply's way back, and where conntrack undoes the translation */
  reply?: {text: string; hops: string[]}
}
