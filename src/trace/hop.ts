// One hop of a trace, decided from one namespace's snapshot: is the packet for this member (after
// a Service's DNAT, ./nat.ts), may it be forwarded, where does the kernel route it, would
// iptables pass it (and NAT it), which
// neighbour and, on an overlay, which remote tunnel end it goes to, and which lab member that is.
// Pure: every fact comes from the snapshot (the kernel's own answers) and the lab model (who holds
// which address). ./trace.ts reads the snapshots and walks the hops.
import type {LabModel, Member} from '../model/types.js'
import {VXLAN_OVERHEAD} from '../modes/vxlan.js'
import {describeVerdict, evaluate, inCidr, parseSave, type Verdict, type Where} from './iptables.js'
import {evaluateNft, parseNft} from './nft.js'
import type {Hop, IpLink, Packet, Snapshot, StopKind, Translation} from './types.js'

/** Where the packet goes next: the member, and how to find the interface it arrives by there. */
export interface NextHop {
  member: Member
  /** the address it was handed to (held by an interface of `member`, usually) */
  via: string
  /** the interface, when this side knows it (a pod's cable end on its node) */
  dev?: string
  /** it arrives through the overlay: by the member's VXLAN device */
  overlay?: boolean
  /** on its way it crosses this node's bridge, frame to frame (a pod to another pod of its node): ./bridged.ts */
  bridge?: Bridged
}

/** A frame a node's bridge forwards from one port to another: br_netfilter may hand it to the node's iptables. */
export interface Bridged {
  node: Member
  /** the bridge (cni0) */
  bridge: string
  /** the port it comes in by, and the port it leaves by (the two pods' host ends) */
  inPort: string
  outPort: string
}

export interface HopDecision {
  hop: Hop
  /** the packet as it leaves (its source may be masqueraded) */
  packet: Packet
  next?: NextHop
  delivered: boolean
}

export interface HopInput {
  model: LabModel
  member: Member
  snap: Snapshot
  packet: Packet
  /** the interface it came in by; undefined at the source */
  iif?: string
  /**
   * the DNAT this namespace gives it (./nat.ts: kube-proxy's, to a Service's endpoint): the hop is
   * decided for the translated packet, and `snap.route` is the route of that one
   */
  translation?: Translation
}

/** The member holding an address, by the lab model. */
export function ownerOf(model: LabModel, ip: string): Member | undefined {
  return model.members.find((m) => m.ips.includes(ip))
}

const holds = (links: IpLink[], ip: string) => links.some((l) => l.addr_info?.some((a) => a.local === ip))

/** Is `ip` one of the lab's pods, or in the pod range? (masquerading pod-to-pod breaks the model) */
function isPodAddress(model: LabModel, ip: string): boolean {
  if (model.nodes.some((n) => n.pods.some((p) => p.ip === ip))) return true
  return !!model.podCIDR && inCidr(ip, model.podCIDR) && !model.nodes.some((node) => node.ip === ip)
}

const name = (model: LabModel, ip: string) => {
  const m = ownerOf(model, ip)
  return m ? `${ip} (${m.name})` : ip
}

/** The interface of the next member the packet arrives by, from that member's snapshot. */
export function arrivalInterface(next: NextHop, links: IpLink[]): string {
  if (next.overlay) {
    const vx = links.find((l) => l.linkinfo?.info_kind === 'vxlan')
    if (vx) return vx.ifname
  }
  const holder = links.find((l) => l.addr_info?.some((a) => a.local === next.via))
  if (holder) return holder.ifname
  if (next.dev && links.some((l) => l.ifname === next.dev)) return next.dev
  return links.find((l) => l.ifname === 'eth0')?.ifname ?? links.find((l) => l.ifname !== 'lo')?.ifname ?? 'eth0'
}

/** Who is behind `via` when the packet leaves by `dev`: the address's owner, or the pod's node for its gateway. */
function nextMember(model: LabModel, from: Member, via: string): {member: Member; dev?: string} | undefined {
  const owner = ownerOf(model, via)
  if (owner) return {member: owner}
  // a pod's gateway that no interface holds (aws-vpc's 169.254.1.1): the node at the other end of its cable
  for (const n of model.nodes) {
    const pod = n.pods.find((p) => p.name === from.name)
    if (pod && n.gateway === via) {
      const node = model.members.find((m) => m.netns === n.netns)
      if (node) return {member: node, dev: pod.hostVeth}
    }
  }
  return undefined
}

/** Members on one underlay segment: its nodes, external hosts and router legs. */
function segmentMembers(model: LabModel, segment: number): Set<string> {
  return new Set([
    ...model.nodes.filter((n) => n.segment === segment).map((n) => n.name),
    ...model.external.filter((e) => e.segment === segment).map((e) => e.name),
    ...(model.router?.legs.some((l) => l.segment === segment) ? [model.router.name] : []),
  ])
}

/** Who is at the other end of `dev` of member `m`, by the model (what answers its ARP); undefined: not known. */
export function onLink(model: LabModel, m: Member, dev: string): Set<string> | undefined {
  const node = model.nodes.find((n) => n.netns === m.netns)
  if (node) {
    if (dev === node.bridge) return new Set(node.pods.map((p) => p.name))
    const pod = node.pods.find((p) => p.hostVeth === dev)
    if (pod) return new Set([pod.name])
    return dev === 'eth0' ? segmentMembers(model, node.segment) : undefined
  }
  const home = model.nodes.find((n) => n.pods.some((p) => p.netns === m.netns))
  if (home) return new Set([home.name, ...home.pods.map((p) => p.name)])
  const ext = model.external.find((e) => e.netns === m.netns)
  if (ext) return segmentMembers(model, ext.segment)
  const leg = model.router?.netns === m.netns ? model.router.legs.find((l) => l.dev === dev) : undefined
  return leg ? segmentMembers(model, leg.segment) : undefined
}

function firewallText(v: Verdict | undefined, table: string): string | undefined {
  return v && (v.rule || v.verdict === 'drop') ? describeVerdict(v, table) : undefined
}

/** What the steps of one hop share: where it is, the packet as it came and as it leaves, and how to stop there. */
interface Ctx extends HopInput {
  /** the packet as it came, before a DNAT here */
  input: Packet
  first: boolean
  /** the hop so far: member, interfaces, next-hop address */
  out: Hop
  /** the packet as it leaves (after a masquerade) */
  leaving: Packet
  firewall?: string
  stop: (kind: StopKind, reason: string, extra?: Partial<Hop>) => HopDecision
}

/** What a hop's firewall makes of a packet: a stop, or the rules that passed it and the packet as it leaves (masqueraded). */
export type FirewallOutcome = {stop: {kind: StopKind; reason: string}; firewall?: string} | {firewall?: string; leaving: Packet}

/**
 * One pass through a namespace's iptables: filter's `chain` decides, then nat's POSTROUTING may
 * rewrite the source (to `where.oif`'s address, for a MASQUERADE) — and a pod's packet to a pod
 * or node must keep its source. Shared by routed hops and bridged frames (br_netfilter).
 */
export function firewallStep(a: {
  model: LabModel
  member: Member
  snap: Omit<Snapshot, 'route'>
  packet: Packet
  chain: string
  where: Where
  /** the DNAT this packet got here: the masquerade kube-proxy marks it for (KUBE-MARK-MASQ) is no fault */
  translation?: Translation
}): FirewallOutcome {
  const {model, member, snap, packet, chain, translation} = a
  const tables = parseSave(snap.iptables)
  const where: Where = {
    ...a.where,
    mark: translation?.mark,
    local: new Set(snap.links.flatMap((l) => (l.addr_info ?? []).map((x) => x.local!))),
  }
  const filter = evaluate(tables, 'filter', chain, packet, where)
  if (filter?.verdict === 'drop')
    return {stop: {kind: 'drop', reason: dropReason(member, filter, chain)}, firewall: describeVerdict(filter)}
  // kube-proxy's nftables mode: its own filter chains (what has no endpoint), after iptables'
  const nft = parseNft(snap.nft)
  const nftFilter = nft && evaluateNft(nft, 'filter', chain.toLowerCase(), packet, where)
  if (nftFilter?.verdict === 'drop')
    return {stop: {kind: 'drop', reason: nftDropReason(member, nftFilter, packet)}, firewall: describeVerdict(nftFilter, 'nftables')}
  // a reply: conntrack undoes the connection's NAT, the nat table is not asked
  const nat = packet.established ? undefined : evaluate(tables, 'nat', 'POSTROUTING', packet, where)
  const nftNat = nft && !packet.established ? evaluateNft(nft, 'nat', 'postrouting', packet, where) : undefined
  const masq = nat?.verdict === 'masquerade' ? nat : nftNat?.verdict === 'masquerade' ? nftNat : undefined
  const firewall =
    [firewallText(filter, 'filter'), masq && describeVerdict(masq, masq === nftNat ? 'nftables' : 'nat')].filter(Boolean).join('; ') ||
    undefined
  if (!masq) return {firewall, leaving: packet}
  const natted = masq.toSource ?? snap.links.find((l) => l.ifname === where.oif)?.addr_info?.find((x) => x.family !== 'inet6')?.local
  // only pod to pod must keep its source: a pod's packet to a node's underlay address is the lab's
  // own ipMasq's to take (`! -d podCIDR`), as flannel's is
  const kubeProxy = !!translation && (masq.path.includes('KUBE-POSTROUTING') || masq.path.includes('masquerading'))
  if (isPodAddress(model, packet.src) && isPodAddress(model, packet.dst) && !kubeProxy)
    return {
      stop: {
        kind: 'masquerade',
        reason:
          `${member.name} masquerades ${packet.src} → ${natted ?? 'its own address'} on the way to ${name(model, packet.dst)}: ` +
          `pod traffic inside the cluster must keep its source (no NAT) — ${describeVerdict(masq, 'nat')}`,
      },
      firewall,
    }
  return {firewall, leaving: natted ? {...packet, src: natted} : packet}
}

/** Decide one hop. */
export function decideHop(input: HopInput): HopDecision {
  const {model, member, snap, iif, translation} = input
  // after a DNAT the kernel routes, filters and delivers the translated packet
  const packet = translation?.packet ?? input.packet
  const first = iif === undefined
  const base: Hop = {member: member.name, kind: member.kind, in: iif, src: packet.src, text: '', ...(translation ? {translation} : {})}
  const stop = (kind: StopKind, reason: string, extra: Partial<Hop> = {}): HopDecision => ({
    hop: {...base, ...extra, text: reason, problem: {kind, reason}},
    packet,
    delivered: false,
  })

  if (holds(snap.links, packet.dst)) {
    const local = new Set(snap.links.flatMap((l) => (l.addr_info ?? []).map((x) => x.local!)))
    const v = first ? undefined : evaluate(parseSave(snap.iptables), 'filter', 'INPUT', packet, {iif, local})
    if (v?.verdict === 'drop') return stop('drop', dropReason(member, v, 'INPUT'), {firewall: describeVerdict(v)})
    const nft = first ? undefined : parseNft(snap.nft)
    const n = nft && evaluateNft(nft, 'filter', 'input', packet, {iif, local})
    if (n?.verdict === 'drop') return stop('drop', nftDropReason(member, n, packet), {firewall: describeVerdict(n, 'nftables')})
    const text = first ? `${packet.dst} is ${member.name}'s own address` : `arrives: ${member.name} holds ${packet.dst}`
    return {hop: {...base, text}, packet, delivered: true}
  }
  if (!first && snap.ipForward.trim() !== '1')
    return stop('forwarding-off', `${member.name} does not forward: net.ipv4.ip_forward is ${snap.ipForward.trim() || 'unreadable'}`)
  if (!Array.isArray(snap.route) || snap.route.length === 0)
    return stop(
      'no-route',
      `${member.name} has no route to ${packet.dst}` + (!Array.isArray(snap.route) && snap.route.error ? ` (${snap.route.error})` : ''),
    )
  const r = snap.route[0]
  if (r.type && r.type !== 'unicast' && r.type !== 'local')
    return stop('no-route', `${member.name}'s route to ${packet.dst} is of type ${r.type}: the packet is refused there`)
  const out: Hop = {...base, out: r.dev, via: r.gateway ?? packet.dst}

  // the firewall: filter decides, then nat's POSTROUTING may rewrite the source
  const chain = first ? 'OUTPUT' : 'FORWARD'
  const fw = firewallStep({model, member, snap, packet, chain, where: {iif, oif: r.dev}, translation})
  if ('stop' in fw) return stop(fw.stop.kind, fw.stop.reason, {...out, firewall: fw.firewall})
  const {firewall, leaving} = fw
  const ctx: Ctx = {
    ...input,
    input: input.packet,
    packet,
    first,
    out,
    leaving,
    firewall,
    stop: (k, reason, extra) => stop(k, reason, {...out, firewall, ...extra}),
  }
  const link = snap.links.find((l) => l.ifname === r.dev)
  return link?.linkinfo?.info_kind === 'vxlan' ? overlayHop(ctx, link) : linkHop(ctx, link, !!r.gateway)
}

const srcText = (c: Ctx) =>
  c.leaving.src === c.packet.src
    ? ''
    : `, source masqueraded to ${c.leaving.src}` + (c.translation ? ` (kube-proxy's: the endpoint sees ${c.leaving.src})` : '')

/** Out by a VXLAN device: the neighbour's MAC, the fdb entry that says which node it is at, and the MTU the underlay allows. */
function overlayHop(c: Ctx, link: IpLink): HopDecision {
  const {model, member, snap} = c
  const [oif, via] = [c.out.out!, c.out.via!]
  const neigh = snap.neigh.find((n) => n.dst === via && n.dev === oif)
  if (!neigh?.lladdr || neigh.state?.some((s) => s === 'FAILED' || s === 'INCOMPLETE'))
    return c.stop(
      'no-neighbour',
      `${member.name} has no neighbour entry for ${via} on ${oif}: the overlay cannot ARP, so the packet is dropped`,
    )
  const fdb = snap.fdb.find((f) => f.mac === neigh.lladdr && (f.ifname === undefined || f.ifname === oif) && f.dst)
  if (!fdb)
    return c.stop(
      'no-fdb',
      `${member.name}'s ${oif} has no forwarding-database entry for ${neigh.lladdr} (${via}'s MAC): ` +
        `it does not know which node to send the wrapped frame to`,
    )
  const remote = ownerOf(model, fdb.dst!)
  const vx = link.linkinfo?.info_data
  const text =
    `routed out ${oif} (VXLAN, VNI ${vx?.id ?? '?'}) via ${via}; its MAC ${neigh.lladdr} is at ` +
    `${name(model, fdb.dst!)}, so the frame leaves wrapped in UDP ${vx?.port ?? ''} from ` +
    `${vx?.local ?? '?'} to ${fdb.dst}${srcText(c)}`
  const hop: Hop = {...c.out, src: c.leaving.src, next: remote?.name, firewall: c.firewall, text}
  const underlay = snap.links.find((l) => l.ifname === vx?.link)
  if (link.mtu !== undefined && underlay?.mtu !== undefined && link.mtu + VXLAN_OVERHEAD > underlay.mtu)
    hop.problem = {
      kind: 'mtu',
      reason:
        `${member.name}'s ${oif} has MTU ${link.mtu}: wrapped, a full-size packet is ${link.mtu + VXLAN_OVERHEAD} bytes, ` +
        `more than ${underlay.ifname}'s ${underlay.mtu}; full-size packets are lost on the underlay ` +
        `(the overlay MTU must be ${underlay.mtu - VXLAN_OVERHEAD})`,
    }
  if (!remote) return {...c.stop('unknown', `${fdb.dst} (the remote tunnel end) is no member of lab ${model.lab}`), hop}
  return {hop, packet: c.leaving, next: {member: remote, via: fdb.dst!, overlay: true}, delivered: false}
}

/** Out by an Ethernet link (veth, bridge): who holds the next-hop address, or answers ARP for it there. */
function linkHop(c: Ctx, link: IpLink | undefined, routed: boolean): HopDecision {
  const {model, member, snap} = c
  const [oif, via] = [c.out.out!, c.out.via!]
  const neigh = snap.neigh.find((n) => n.dst === via && n.dev === oif)
  const failedNeigh = neigh?.state?.some((s) => s === 'FAILED' || s === 'INCOMPLETE')
  const nm = nextMember(model, member, via)
  if (!nm) return c.stop('unknown', `${member.name} sends it out ${oif} to ${via}, which no member of lab ${model.lab} holds`)
  const there = onLink(model, member, oif)
  let answerer = nm
  const home = model.nodes.find((n) => n.pods.some((p) => p.netns === member.netns))
  if (home && model.policies && model.mode.policyWiring === undefined && home.pods.some((p) => p.name === nm.member.name)) {
    // a lab wired for policies isolates the pods' bridge ports: the node answers ARP for its other pods and routes between them
    const node = model.members.find((m) => m.netns === home.netns)
    if (node) answerer = {member: node, dev: home.bridge}
  }
  if (there && !there.has(nm.member.name)) {
    // not on this link: a node there may answer ARP for its pod (proxy ARP: aws-vpc, vpc-native)
    const owner = model.nodes.find((n) => n.pods.some((p) => p.name === nm.member.name) && there.has(n.name))
    const node = owner && model.members.find((m) => m.netns === owner.netns)
    if (!node)
      return c.stop(
        'no-neighbour',
        `${member.name} sends it out ${oif} to ${name(model, via)}, but ${nm.member.name} is not on that link: nobody answers ARP for ${via} there`,
      )
    if (node.netns === member.netns)
      return c.stop(
        'no-route',
        `${member.name} has no route to ${name(model, via)} but back out ${oif}, where it answers ARP for it itself: the route to its pod is missing`,
      )
    answerer = {member: node, dev: 'eth0'}
  }
  const hairpin = hairpinOff(c, answerer.member)
  if (hairpin) return c.stop('hairpin', hairpin)
  const unanswered = failedNeigh ? ` (its neighbour entry for ${via} is ${neigh!.state!.join(',')}: ARP went unanswered)` : ''
  // a node answering for its pod is followed even so: why it does not answer is found there
  if (failedNeigh && answerer === nm) return c.stop('no-neighbour', `${member.name} gets no ARP answer for ${via} on ${oif}${unanswered}`)
  const proxied =
    answerer === nm
      ? ''
      : home
        ? `, whose ARP request ${answerer.member.name} answers (its pods' ports are isolated: it routes between them, through its firewall)`
        : `, whose ARP request ${answerer.member.name} answers for its pod (proxy ARP)`
  const how = (routed ? `via ${name(model, via)}` : `straight to ${name(model, via)} (on the link)`) + proxied
  const kind = link?.linkinfo?.info_kind
  return {
    hop: {
      ...c.out,
      src: c.leaving.src,
      next: answerer.member.name,
      firewall: c.firewall,
      text: `${c.first ? 'sent' : 'forwarded'} out ${oif}${kind ? ` (${kind})` : ''} ${how}${srcText(c)}${unanswered}`,
    },
    packet: c.leaving,
    next: {member: answerer.member, via, dev: answerer.dev, bridge: bridgedBy(model, member, answerer.member)},
    delivered: false,
  }
}

/**
 * A pod reaching itself through its Service (hairpin): its node routes the translated packet back
 * out the bridge to it, so the bridge must send the frame back out the port it came in by, which
 * it does only with hairpin mode on that port. The reason when it is off; undefined otherwise.
 */
function hairpinOff(c: Ctx, to: Member): string | undefined {
  const node = c.model.nodes.find((n) => n.netns === c.member.netns)
  const pod = node?.pods.find((p) => p.netns === to.netns)
  if (!node || !pod || c.iif !== node.bridge || c.out.out !== node.bridge || !to.ips.includes(c.input.src)) return undefined
  const port = c.snap.links.find((l) => l.ifname === pod.hostVeth)
  if (port?.linkinfo?.info_slave_data?.hairpin !== false) return undefined
  return (
    `${c.member.name} sends it back out ${node.bridge} to ${pod.name}, the port it came in by (${pod.name} reaches itself through ` +
    `its Service: hairpin), but hairpin mode is off on ${pod.hostVeth}: the bridge never sends a frame back out the port it came ` +
    `in by, so it is lost (bridge link set dev ${pod.hostVeth} hairpin on)`
  )
}

/** The node whose bridge a pod's frame to `to` crosses: `to` is another pod of the same node, reached on the link. */
function bridgedBy(model: LabModel, from: Member, to: Member): Bridged | undefined {
  const home = model.nodes.find((n) => n.pods.some((p) => p.netns === from.netns))
  const [src, dst] = [home?.pods.find((p) => p.netns === from.netns), home?.pods.find((p) => p.netns === to.netns)]
  const node = home && model.members.find((m) => m.netns === home.netns)
  if (!home || !src || !dst || !node || src === dst) return undefined
  return {node, bridge: home.bridge, inPort: src.hostVeth, outPort: dst.hostVeth}
}

/** kube-proxy's nftables filter chains: what has no endpoint (no-endpoint-services, -nodeports), or no such ClusterIP port. */
function nftDropReason(member: Member, v: Verdict, p: Packet): string {
  const rejected = v.path.at(-1) === 'reject-chain' || v.rule?.text.startsWith('reject') || v.rule?.text.includes(' reject')
  const target = rejected ? 'rejected' : 'dropped'
  const where = `${member.name}'s table ip kube-proxy ${v.path.join(' → ')}`
  const to = `${p.dst}:${p.port}`
  const how = rejected
    ? 'at once: reject answers with an ICMP port unreachable, and connect fails with "connection refused"'
    : "silently: drop answers nothing, and the client's connect times out"
  let why = v.comment ? `"${v.comment}"` : `${v.rule?.text ?? 'its policy'}`
  if (v.path.includes('service-endpoints-check')) why = `${to} is in no-endpoint-services: its Service has no endpoints`
  else if (v.path.includes('nodeport-endpoints-check'))
    why = rejected
      ? `node port ${p.port} is in no-endpoint-nodeports: its Service has no endpoints`
      : `node port ${p.port} is in no-endpoint-nodeports with drop: its Service has externalTrafficPolicy Local and no endpoint on ${member.name} (nodes with a local endpoint answer, and keep the client's address)`
  return `${target} by kube-proxy (nftables mode): ${where}: ${why}; ${target} ${how}`
}

/** "rejected by a network policy: node-2's FORWARD → NETLAB-POLICY → NETLAB-IN-db rule 4, "isolated by db-from-api"" */
function dropReason(member: Member, v: Verdict, chain: string): string {
  if (!v.rule) return `${member.name}'s iptables ${chain} policy is DROP and no rule accepts it`
  const target = v.rule.args.includes('REJECT') ? 'rejected' : 'dropped'
  const where = `${member.name}'s iptables ${v.path.join(' → ')} rule ${v.rule.num}`
  if (v.comment && v.path.some((c) => c.startsWith('NETLAB-'))) return `${target} by a network policy: ${where}, "${v.comment}"`
  const kube = v.comment && /^(\S+) has no (local )?endpoints$/.exec(v.comment)
  if (kube) {
    const why = kube[2]
      ? `Service ${kube[1]} has externalTrafficPolicy Local and no endpoint on ${member.name}, so ${member.name} takes nothing on ` +
        `its node port (nodes with a local endpoint do, and keep the client's address)`
      : `Service ${kube[1]} has no endpoints (no pod its selector matches serves its target port), so kube-proxy refuses ` +
        `connections to it`
    const how =
      target === 'rejected'
        ? 'at once: REJECT answers with an ICMP port unreachable, and connect fails with "connection refused"'
        : "silently: DROP answers nothing, and the client's connect times out"
    return `${target} by kube-proxy: ${where}, "${v.comment}": ${why}; ${target} ${how}`
  }
  return `${target} by ${where}: ${v.rule.text}`
}
