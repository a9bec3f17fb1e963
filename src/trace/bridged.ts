// A frame a node's bridge forwards from one pod's port to another's (two pods of one node talking
// on the link), and, with br_netfilter, the node's iptables it crosses on the way. When
// net.bridge.bridge-nf-call-iptables is 1 in the node (per namespace; 1 by default in a new one
// once the module is loaded on the host), the bridge hands every IPv4 frame it forwards to
// iptables as if routed: filter FORWARD and nat POSTROUTING, in and out both the bridge
// (-i cni0 -o cni0), the ports seen by -m physdev (--physdev-in/--physdev-out,
// --physdev-is-bridged). So a DROP in FORWARD drops it, and a MASQUERADE in POSTROUTING rewrites
// its source to the bridge's address. Otherwise iptables never sees it. Pure.
import type {LabModel} from '../model/types.js'
import {firewallStep, type Bridged} from './hop.js'
import type {Hop, Packet, Snapshot} from './types.js'

export interface BridgedDecision {
  hop: Hop
  /** the packet as the bridge lets it out (its source may be masqueraded) */
  packet: Packet
}

/** The node's hop for a frame its bridge forwards; undefined when the node has no such bridge (nothing to say). */
export function decideBridged(model: LabModel, b: Bridged, snap: Omit<Snapshot, 'route'>, packet: Packet): BridgedDecision | undefined {
  const bridge = snap.links.find((l) => l.ifname === b.bridge && l.linkinfo?.info_kind === 'bridge')
  if (!bridge) return undefined
  const base: Hop = {member: b.node.name, kind: b.node.kind, in: b.inPort, out: b.outPort, via: packet.dst, src: packet.src, text: ''}
  const across = `bridged across ${b.bridge} from port ${b.inPort} to port ${b.outPort} (frame to frame: not routed)`
  const nf = snap.bridgeNf?.trim()
  if (nf !== '1') {
    const why = nf ? `net.bridge.bridge-nf-call-iptables is ${nf}` : 'br_netfilter is not loaded'
    return {hop: {...base, unfiltered: true, text: `${across}; ${why}, so ${b.node.name}'s iptables does not see it`}, packet}
  }
  const fw = firewallStep({
    model,
    member: b.node,
    snap,
    packet,
    chain: 'FORWARD',
    where: {iif: b.bridge, oif: b.bridge, physIn: b.inPort, physOut: b.outPort, bridged: true},
  })
  const seen =
    `net.bridge.bridge-nf-call-iptables is 1 in ${b.node.name}: br_netfilter hands the bridged frame to its ` +
    `iptables (FORWARD and nat POSTROUTING, in and out by ${b.bridge})`
  if ('stop' in fw) {
    const reason = `${fw.stop.reason} (${seen})`
    return {hop: {...base, firewall: fw.firewall, text: reason, problem: {kind: fw.stop.kind, reason}}, packet}
  }
  const nat = fw.leaving.src !== packet.src ? `, source masqueraded to ${fw.leaving.src}` : ''
  return {hop: {...base, src: fw.leaving.src, firewall: fw.firewall, text: `${across}${nat}; ${seen}`}, packet: fw.leaving}
}
