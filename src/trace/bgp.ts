// routing bgp in a trace: a hop routed by a learned route says who announced it, and a missing
// route to another node's pods says why BGP has none (that node's BIRD is not running, or its
// session is down: withdrawn; else never announced).
import {bgpSessionStates, speakerAt, speakerState} from '../lab/bird.js'
import {inCidr} from './iptables.js'
import type {LabModel} from '../model/types.js'
import type {Hop, Packet, Snapshot} from './types.js'

const holds = (cidr: string, ip: string) => inCidr(ip, cidr)

/** Add BGP's part to a hop of a routing bgp lab (its text, or its problem's reason). */
export async function explainBgp(model: LabModel, hop: Hop, snap: Omit<Snapshot, 'route'>, packet: Packet): Promise<void> {
  const learned = snap.learned?.find((r) => holds(r.dst, packet.dst) && r.gateway !== undefined && r.gateway === hop.via)
  if (learned && !hop.problem) {
    const rrs = model.bgp!.routeReflectors
    // a client hears every block through the reflectors; the next hop stays the node that announced it
    const through = rrs.length > 0 && !rrs.includes(hop.member) ? ` (reflected by ${rrs.join(', ')})` : ''
    hop.text += `; ${learned.dst} via ${learned.gateway} proto bird, learned from ${speakerAt(model, learned.gateway!)}${through}`
    return
  }
  if (hop.problem?.kind !== 'no-route') return
  const owner = model.nodes.find((n) => n.name !== hop.member && holds(n.podCIDR, packet.dst))
  if (!owner) return
  let why: string
  const state = speakerState(model.lab, owner.name)
  if (state !== 'running')
    why =
      `BIRD on ${owner.name} is ${state === 'frozen' ? 'frozen (stopped: it sends nothing)' : 'not running'}, so its peers ` +
      `dropped its block ${owner.podCIDR} when they stopped hearing it (withdrawn)`
  else {
    const here = await bgpSessionStates(model, hop.member)
    const down = here.filter((x) => x.state !== 'Established').map((x) => `${x.peer} ${x.state}`)
    why =
      `${owner.name}'s block ${owner.podCIDR} is not in its table: BGP withdrew it or never announced it` +
      (down.length ? ` (sessions not established here: ${down.join(', ')})` : '')
  }
  hop.problem.reason += `; ${why}`
  hop.text = hop.problem.reason
}
