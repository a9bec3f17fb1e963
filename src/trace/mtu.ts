// How big a full-size packet is along a trace, and where a device too small for it drops it on
// the way in. A sender's full-size packet is its way out's MTU; a router whose way out is smaller
// says so (ICMP "fragmentation needed"), so what goes on is never more than the smallest way out
// so far. Wrapped in VXLAN it is 50 bytes more on the underlay. A device whose MTU is smaller than
// the frame that reaches it (one end of a veth lowered, a node's underlay smaller than its
// peers') drops it silently: no ICMP, the sender never learns — full-size packets are lost there,
// whichever way they come. Pure.
import {VXLAN_OVERHEAD} from '../modes/vxlan.js'
import type {Hop, IpLink} from './types.js'

/** A full-size packet as it leaves: its size (the IP packet) and the frame it makes on the wire. */
export interface Size {
  size: number
  wire: number
  /** the device it leaves by on the wire (the underlay's, for an overlay) and its member: for the reason text */
  from: string
}

/** A full-size packet leaving a hop by `hop.out` (`size`: as it came; undefined at the source). */
export function leaving(hop: Hop, links: IpLink[], size: number | undefined): Size | undefined {
  const link = links.find((l) => l.ifname === hop.out)
  if (link?.mtu === undefined) return undefined
  const inner = Math.min(size ?? link.mtu, link.mtu)
  if (link.linkinfo?.info_kind !== 'vxlan') return {size: inner, wire: inner, from: `${hop.member}'s ${link.ifname}`}
  const underlay = links.find((l) => l.ifname === link.linkinfo?.info_data?.link)
  // more than the underlay takes is lost at the sender already (./hop.ts says so): what goes on fits it
  const wire = Math.min(inner + VXLAN_OVERHEAD, underlay?.mtu ?? Infinity)
  return {size: inner, wire, from: `${hop.member}'s ${underlay?.ifname ?? link.ifname} (wrapped in VXLAN)`}
}

/** The problem of a member whose receiving device is too small for the frames that reach it, if it is. */
export function arrivalMtu(
  member: string,
  links: IpLink[],
  iif: string,
  overlay: boolean,
  s: Size,
): {kind: 'mtu'; reason: string} | undefined {
  const vx = overlay ? links.find((l) => l.ifname === iif && l.linkinfo?.info_kind === 'vxlan') : undefined
  const dev = links.find((l) => l.ifname === (vx ? vx.linkinfo?.info_data?.link : iif))
  if (dev?.mtu === undefined || s.wire <= dev.mtu) return undefined
  return {
    kind: 'mtu',
    reason:
      `${member}'s ${dev.ifname} has MTU ${dev.mtu}, but ${s.from} sends full-size packets as ${s.wire}-byte frames: ` +
      `${dev.ifname} drops them on the way in, without a word to the sender; full-size packets are lost here ` +
      `(both ends of a link need the same MTU)`,
  }
}
