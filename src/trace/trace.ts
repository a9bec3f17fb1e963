// `netlab trace`: walk a packet from one lab member to another's address, hop by hop, reading
// each namespace's real kernel state on the way (./read.ts) and deciding each hop from it
// (./hop.ts); a Service's address is translated where kube-proxy's rules say (./nat.ts), and the
// reply of a translated packet is followed back to where conntrack undoes it; a frame one pod
// sends another of its node crosses the node's bridge, and with
// br_netfilter its iptables (./bridged.ts); a full-size packet is followed for the MTUs on the way
// (./mtu.ts). Optionally (--confirm) a real packet is sent and the iptables counters of the
// hops are read before and after, so the path is seen, not only predicted.
import {UsageError} from '../core/errors.js'
import {findMember} from '../lab/member.js'
import {parseIPv4} from '../core/ipv4.js'
import type {LabModel, Member} from '../model/types.js'
import {readState} from '../state/store.js'
import {decideBridged} from './bridged.js'
import {arrivalInterface, decideHop, ownerOf} from './hop.js'
import {explainBgp} from './bgp.js'
import {arrivalMtu, leaving, type Size} from './mtu.js'
import {destinationNat, isEndpoint, replyVerdict, unreadTranslation} from './nat.js'
import {readSnapshot, readStatic, type Cache} from './read.js'
import {summarize} from './render.js'
import type {Hop, Packet, Proto, TraceResult} from './types.js'

/** No lab path is longer; more means a routing loop. */
const MAX_HOPS = 16

export interface TraceOptions {
  lab?: string
  proto?: Proto
  port?: number
  /** the packet comes in at the source by this interface, from this address (a reply un-masqueraded there), not made there */
  enter?: {iif: string; src: string}
  /** a Service's endpoint (ip, ip:port or its KUBE-SEP chain) the random choice is to take; default: the first */
  endpoint?: string
  /** a reply of a known connection (ESTABLISHED: no NAT rule is asked) */
  established?: boolean
}

/** The address a member is reached at: a node's underlay address, a pod's own, a router's first leg. */
function primaryAddress(model: LabModel, m: Member): string | undefined {
  return model.nodes.find((n) => n.netns === m.netns)?.ip ?? m.ips[0]
}

/**
 * SRC and DST as the user names them: members by lab name; DST may also be an address or a
 * Service (its name or ClusterIP). To a Service without --proto or --port, the packet is a
 * connection to its first port: kube-proxy translates nothing else (a ping to a ClusterIP goes
 * nowhere, in a cluster too), so that is the path worth showing.
 */
export function resolveEnds(
  src: string,
  dst: string,
  opts: TraceOptions,
): {lab: string; model: LabModel; from: Member; to: string; opts: TraceOptions} {
  const {lab, member: from} = findMember(src, opts.lab, 'trace')
  const model = readState(lab)!.model
  if (!primaryAddress(model, from))
    throw new UsageError(`${src} has no address to send from (it is the ${from.kind}); trace from a node, pod, router or external host`)
  // a Service by its ClusterIP, NS/NAME, or (in default) its name, as pods are named
  const service = model.services?.list.find(
    (x) => x.clusterIP === dst || `${x.namespace}/${x.name}` === dst || (x.namespace === 'default' && x.name === dst),
  )
  const first = service?.ports[0]
  const withPort =
    first && opts.proto === undefined && opts.port === undefined
      ? {...opts, proto: first.protocol.toLowerCase() as Proto, port: first.port}
      : opts
  if (parseIPv4(dst) !== undefined) return {lab, model, from, to: dst, opts: withPort}
  const target = model.members.find((m) => m.name === dst)
  if (!target && service) return {lab, model, from, to: service.clusterIP, opts: withPort}
  if (!target)
    throw new UsageError(`lab ${lab} has no member or Service named "${dst}" (DST is a member's name, a Service's or an IPv4 address)`)
  const to = primaryAddress(model, target)
  if (!to) throw new UsageError(`${dst} has no address to trace to (it is the ${target.kind})`)
  return {lab, model, from, to, opts}
}

/** Trace from member `from` to address `to`; `cache` shares namespace reads between traces. */
export async function traceLab(
  lab: string,
  model: LabModel,
  from: Member,
  to: string,
  opts: TraceOptions = {},
  cache: Cache = new Map(),
): Promise<TraceResult> {
  const proto = opts.proto ?? (opts.port !== undefined ? 'tcp' : 'icmp')
  let packet: Packet = {
    src: opts.enter?.src ?? primaryAddress(model, from) ?? '0.0.0.0',
    dst: to,
    proto,
    port: proto === 'icmp' ? undefined : opts.port,
    ...(opts.established ? {established: true} : {}),
  }
  const toName = nameOf(model, to)
  const hops: Hop[] = []
  let at: Member = from
  let iif: string | undefined = opts.enter?.iif
  let delivered = false
  // a full-size packet as it goes (./mtu.ts), and the problem of a device too small for it where it arrives
  let size: Size | undefined
  let tooBig: Hop['problem']
  const seen = new Set<string>()
  for (let n = 0; n < MAX_HOPS; n++) {
    const key = `${at.netns}|${iif}|${packet.src}`
    if (seen.has(key)) {
      hops.push({
        member: at.name,
        kind: at.kind,
        in: iif,
        src: packet.src,
        text: 'loop',
        problem: {kind: 'loop', reason: `routing loop: the packet comes back to ${at.name} by ${iif}`},
      })
      break
    }
    seen.add(key)
    let snap = await readSnapshot(at.netns, packet, iif, cache)
    // the source picks its own source address, as the kernel does for a new packet
    if (iif === undefined && Array.isArray(snap.route) && snap.route[0]?.prefsrc) packet = {...packet, src: snap.route[0].prefsrc}
    // a packet made here is routed before nat OUTPUT sees it (no route: no DNAT either); one that comes in, after PREROUTING
    const routed = iif !== undefined || (Array.isArray(snap.route) && snap.route.length > 0)
    const translation = routed ? destinationNat(snap, packet, iif, opts.endpoint) : undefined
    if (translation && opts.endpoint && !translation.candidates.some((c) => isEndpoint(c, opts.endpoint!)))
      throw new UsageError(
        `--endpoint ${opts.endpoint} is none of the endpoints ${at.name}'s ${translation.path.at(-2)} chooses from ` +
          `(${translation.candidates.map((c) => c.to).join(', ')})`,
      )
    // translated, it is routed again, to where it goes now
    if (translation) snap = {...snap, route: (await readSnapshot(at.netns, translation.packet, iif, cache)).route}
    const unread = translation ? undefined : unreadTranslation(model, at, packet, snap)
    if (unread) {
      hops.push({member: at.name, kind: at.kind, in: iif, src: packet.src, text: unread, problem: {kind: 'unknown', reason: unread}})
      break
    }
    const d = decideHop({model, member: at, snap, packet, iif, translation})
    if (model.bgp) await explainBgp(model, d.hop, snap, d.packet)
    if (tooBig && !d.hop.problem) d.hop.problem = tooBig
    hops.push(d.hop)
    packet = d.packet
    if (d.delivered) {
      delivered = true
      break
    }
    if (!d.next || stops(d.hop)) break
    size = leaving(d.hop, snap.links, size?.size)
    if (d.next.bridge) {
      // to another pod of its node: the frame crosses the node's bridge, and maybe its iptables (br_netfilter)
      const node = await readStatic(d.next.bridge.node.netns, cache)
      const b = decideBridged(model, d.next.bridge, node, packet)
      if (b) {
        hops.push(b.hop)
        packet = b.packet
        if (stops(b.hop)) break
        size = leaving(b.hop, node.links, size?.size)
      }
    }
    const links = (await readStatic(d.next.member.netns, cache)).links
    iif = arrivalInterface(d.next, links)
    tooBig = size && arrivalMtu(d.next.member.name, links, iif, !!d.next.overlay, size)
    at = d.next.member
  }
  if (!delivered && hops.length >= MAX_HOPS && !hops.at(-1)!.problem)
    hops.at(-1)!.problem = {kind: 'loop', reason: `no arrival after ${MAX_HOPS} hops`}
  const bad = hops.find((h) => h.problem && h.problem.kind !== 'mtu') ?? hops.find((h) => h.problem)
  const problem = bad?.problem ? {member: bad.member, kind: bad.problem.kind, reason: bad.problem.reason} : undefined
  const result: TraceResult = {lab, from: from.name, to: toName, packet, hops, delivered, problem, summary: ''}
  if (delivered && !problem && !opts.established) await followReply(model, result, at, cache)
  result.summary = summarize(from.name, toName, hops, delivered, result.problem)
  return result
}

/** A member's name for an address, or a Service's for its ClusterIP, or the address. */
function nameOf(model: LabModel, ip: string): string {
  const service = model.services?.list.find((x) => x.clusterIP === ip)
  return ownerOf(model, ip)?.name ?? (service ? `service ${service.name} (${ip})` : ip)
}

/** A translated packet's reply, followed back from where it arrived (./nat.ts replyVerdict judges it). */
async function followReply(model: LabModel, t: TraceResult, at: Member, cache: Cache): Promise<void> {
  if (!t.hops.some((h) => h.translation)) return
  const back = await traceLab(t.lab, model, at, t.packet.src, {proto: t.packet.proto, established: true}, cache)
  const v = replyVerdict(t, back)
  t.reply = v.reply
  if (v.problem) t.problem = v.problem
}

/** The packet stops at this hop (an MTU problem spoils only full-size packets: small ones go on). */
const stops = (h: Hop) => !!h.problem && h.problem.kind !== 'mtu'
