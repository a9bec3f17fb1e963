// What `netlab trace` works with: a packet, one namespace's kernel state as the tools print it
// (parsed JSON, read by ./read.ts), and the hops decided from it (./hop.ts, pure).

export type Proto = 'icmp' | 'tcp' | 'udp'

export interface Packet {
  src: string
  dst: string
  proto: Proto
  /** tcp/udp: the destination port */
  port?: number
}

/** One interface as `ip -j -d addr show` prints it (the fields trace reads). */
export interface IpLink {
  ifname: string
  mtu?: number
  operstate?: string
  flags?: string[]
  master?: string
  address?: string
  linkinfo?: {info_kind?: string; info_data?: {id?: number; local?: string; link?: string; port?: number}}
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
}
