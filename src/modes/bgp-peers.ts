// routing bgp's speakers, sessions and BIRD configurations, from the model alone (pure: the lab
// layer writes the files and runs the daemons, src/lab/bird.ts).
//
// Every session is made by one side (`from`, which names the other in its config) and accepted by
// the other through a dynamic `neighbor range` over its own segment (BIRD 2's dynamic BGP), so a
// node that joins brings its own sessions and the configs of the nodes already there stay as they
// were: in the full mesh a node names the nodes before it, with route reflectors a client names
// the reflectors, on a multi-segment underlay a node names its segment's router leg. Only
// reflectors name each other on both sides (a reflector's range makes its peers clients).
import type {LabModel} from '../model/types.js'

/** A daemon of the lab: a node, or the router joining the segments. */
export interface BgpSpeaker {
  name: string
  netns: string
  kind: 'node' | 'router'
  /** its router id: its underlay address (the router: its first leg's) */
  ip: string
  as: number
  /** the pod block it announces (a node: its pod subnet) */
  block?: string
}

/** One BGP session: `from` names `to` in its config and connects; `to` accepts it. */
export interface BgpSession {
  from: string
  to: string
  fromIp: string
  toIp: string
  kind: 'iBGP' | 'eBGP'
  /** `to` reflects routes to `from` (its client) */
  reflector?: boolean
  /** both sides name each other (reflector to reflector) */
  mutual?: boolean
}

/** Calico's timers are BIRD's defaults (hold 240 s); these make a 10-node lab converge in about a second and a silent node go within 3 s. */
export const BGP_TIMERS = {holdS: 3, keepaliveS: 1, connectRetryS: 1}

/** The AS of a segment's nodes: one AS per segment (Calico's "AS per rack"); the router's comes after the last. */
function segmentAs(model: LabModel, segment: number): number {
  return model.bgp!.asNumber + segment
}

export function bgpSpeakers(model: LabModel): BgpSpeaker[] {
  const nodes = model.nodes.map((n): BgpSpeaker => ({
    name: n.name,
    netns: n.netns,
    kind: 'node',
    ip: n.ip,
    as: segmentAs(model, n.segment),
    block: n.podCIDR,
  }))
  const r = bgpRouter(model)
  return r
    ? [...nodes, {name: r.name, netns: r.netns, kind: 'router', ip: r.legs[0].ip, as: segmentAs(model, model.segments.length)}]
    : nodes
}

/** The router takes part when there are segments to join; a one-segment lab's VPC router (for VPC hosts) does not. */
function bgpRouter(model: LabModel): LabModel['router'] {
  return model.segments.length > 1 ? model.router : undefined
}

export function bgpSessions(model: LabModel): BgpSession[] {
  const out: BgpSession[] = []
  const rrs = new Set(model.bgp!.routeReflectors)
  const r = bgpRouter(model)
  model.nodes.forEach((n, i) => {
    const ibgp = (to: (typeof model.nodes)[number], extra: Partial<BgpSession> = {}) =>
      out.push({from: n.name, to: to.name, fromIp: n.ip, toIp: to.ip, kind: 'iBGP', ...extra})
    if (rrs.size === 0) {
      for (const m of model.nodes.slice(0, i)) if (m.segment === n.segment) ibgp(m)
    } else if (rrs.has(n.name)) {
      for (const m of model.nodes.slice(0, i)) if (rrs.has(m.name)) ibgp(m, {mutual: true})
    } else for (const m of model.nodes) if (rrs.has(m.name)) ibgp(m, {reflector: true})
    if (r) {
      const leg = r.legs[n.segment]
      out.push({from: n.name, to: r.name, fromIp: n.ip, toIp: leg.ip, kind: 'eBGP'})
    }
  })
  return out
}

/** A BIRD symbol for a peer: its name in BIRD's alphabet (node names have '-'). */
function birdSymbol(name: string): string {
  return `to_${name.replace(/[^A-Za-z0-9]/g, '_')}`
}

/** The files of a speaker's daemon, under `dir` (the lab's state directory's bird/). */
export function birdFiles(dir: string, name: string): {conf: string; ctl: string; log: string} {
  return {conf: `${dir}/${name}.conf`, ctl: `${dir}/${name}.ctl`, log: `${dir}/${name}.log`}
}

/** `exportWhat`: the route sources the speaker announces (a node its own block; a reflector and the router what they learn too) */
const TEMPLATE = (local: string, as: number, exportWhat: string) => [
  `template bgp peer {`,
  `  local ${local} as ${as};`,
  `  direct;                       # every peer is on this speaker's own segment`,
  `  hold time ${BGP_TIMERS.holdS}; keepalive time ${BGP_TIMERS.keepaliveS};  # a silent peer is dropped after ${BGP_TIMERS.holdS} s`,
  `  connect delay time 1; connect retry time ${BGP_TIMERS.connectRetryS}; error wait time 1, 5;`,
  `  graceful restart off;          # a peer that goes is withdrawn at once, not kept as stale`,
  `  ipv4 { gateway direct; import all; export where source ~ [ ${exportWhat} ]; };`,
  `}`,
]

/**
 * BIRD's configuration for one speaker: announce its block (a node), accept sessions from its
 * segment, name the peers it connects to, and install what it learns in the kernel (proto bird).
 */
export function birdConfig(model: LabModel, s: BgpSpeaker, dir: string): string {
  const sessions = bgpSessions(model)
  const rrs = model.bgp!.routeReflectors
  const lines = [
    `# BIRD of ${s.name} in lab ${model.lab} (routing bgp), written by netlab up.`,
    `router id ${s.ip};`,
    `log "${birdFiles(dir, s.name).log}" all;`,
    `protocol device { scan time 10; }`,
    ...(s.block ? [`protocol static blocks { ipv4; route ${s.block} blackhole; }  # the block it announces, as Calico's BIRD does`] : []),
    `protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; }  # what it learns goes into the kernel`,
  ]
  if (s.kind === 'router') {
    const r = model.router!
    lines.push(...TEMPLATE(r.legs[0].ip, s.as, 'RTS_BGP'))
    for (const leg of r.legs) {
      const seg = model.segments[leg.segment].cidr
      lines.push(
        `protocol bgp segment${leg.segment} from peer { local ${leg.ip} as ${s.as}; ` +
          `neighbor range ${seg} as ${segmentAs(model, leg.segment)}; passive on; dynamic name "seg${leg.segment}_"; }`,
      )
    }
    return lines.join('\n') + '\n'
  }
  const node = model.nodes.find((n) => n.name === s.name)!
  const seg = model.segments[node.segment].cidr
  const isRR = rrs.includes(s.name)
  // a reflector passes on what its clients announce; BIRD keeps iBGP's rules (nothing from a non-client to a non-client)
  lines.push(...TEMPLATE(s.ip, s.as, isRR ? 'RTS_STATIC, RTS_BGP' : 'RTS_STATIC'))
  if (rrs.length === 0)
    lines.push(`protocol bgp mesh from peer { neighbor range ${seg} internal; passive on; dynamic name "mesh_"; }  # the nodes after it`)
  else if (isRR)
    lines.push(
      `protocol bgp clients from peer { neighbor range ${seg} internal; passive on; rr client; ` +
        `rr cluster id ${model.nodes.find((n) => n.name === rrs[0])!.ip}; dynamic name "client_"; }`,
    )
  for (const x of sessions) {
    const mine = x.from === s.name || (x.mutual && x.to === s.name)
    if (!mine) continue
    const [peer, ip] = x.from === s.name ? [x.to, x.toIp] : [x.from, x.fromIp]
    const as = x.kind === 'eBGP' ? `as ${segmentAs(model, model.segments.length)}` : 'internal'
    lines.push(`protocol bgp ${birdSymbol(peer)} from peer { neighbor ${ip} ${as}; }`)
  }
  return lines.join('\n') + '\n'
}
