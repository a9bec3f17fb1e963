// The underlay: the "VPC" the nodes sit on. One or more L2 segments (a bridge each in the
// fabric namespace), and — when the lab has more than one segment, or its routing mode keeps a
// route table outside the nodes — a router with one leg per segment.
import type {LabModel, NodeModel, RouterModel, PlanContext} from '../model/types.js'
import {markLoopback} from '../tools/ip.js'

const prefixOf = (cidr: string) => cidr.split('/')[1]

/** The router's leg on a segment. */
export function legOn(router: RouterModel, segment: number): RouterModel['legs'][number] {
  return router.legs[segment]
}

/** The CIDR of the segment a node or host is on, as its eth0's prefix length. */
export function segmentPrefix(model: LabModel, segment: number): string {
  return prefixOf(model.segments[segment].cidr)
}

/** links phase: the fabric's bridges, one per segment (br0 is the only one in most labs). */
export function fabricBridges({model, b}: PlanContext): void {
  const {fabric, segments} = model
  if (segments.length === 1) {
    b.intoNetns(
      fabric.netns,
      ['link', 'add', 'name', fabric.bridge, 'netns', fabric.netns, 'type', 'bridge'],
      'the fabric switch: a bridge every node plugs into',
    )
    return
  }
  for (const s of segments) {
    b.intoNetns(
      fabric.netns,
      ['link', 'add', 'name', s.bridge, 'netns', fabric.netns, 'type', 'bridge'],
      `the switch of underlay segment ${s.index} (${s.cidr}): its nodes plug into it`,
    )
  }
}

/** links phase: the router's legs, each cabled to its segment's switch. */
export function routerCables({model, b}: PlanContext): void {
  const r = model.router
  if (!r) return
  for (const leg of r.legs) {
    b.intoNetns(
      r.netns,
      [
        'link',
        'add',
        'name',
        leg.dev,
        'netns',
        r.netns,
        'address',
        leg.mac,
        'type',
        'veth',
        'peer',
        'name',
        leg.fabricPort,
        'netns',
        model.fabric.netns,
      ],
      `the ${r.name}'s leg on segment ${leg.segment} (${leg.dev}), cabled to port ` + `${leg.fabricPort} of the fabric`,
    )
  }
}

/** fabric phase: every port into its segment's switch. */
export function plugFabricPorts({model, b}: PlanContext): void {
  const {fabric, segments} = model
  for (const s of segments)
    b.inNetns(
      fabric.netns,
      'ip',
      ['link', 'set', s.bridge, 'up'],
      segments.length === 1 ? 'the switch is on' : `the switch of segment ${s.index} is on`,
    )
  const ports = [...model.nodes, ...model.external].map((x) => ({port: x.fabricPort, segment: x.segment}))
  ports.push(...(model.router?.legs.map((l) => ({port: l.fabricPort, segment: l.segment})) ?? []))
  for (const {port, segment} of ports) {
    const bridge = segments[segment].bridge
    b.inNetns(
      fabric.netns,
      'ip',
      ['link', 'set', port, 'master', bridge, 'up'],
      segments.length === 1 ? `plug ${port} into the switch` : `plug ${port} into ${bridge} (segment ${segment})`,
    )
  }
}

/** A phase of its own: the router's addresses, forwarding, and no ICMP redirects. */
export function configureRouter({model, b, mark}: PlanContext): void {
  const r = model.router
  if (!r) return
  b.phase({
    id: 'router',
    title: `Configure the ${r.name}`,
    why: `${
      r.legs.length === 1
        ? `The ${r.name} sits on the underlay (${model.segments[0].cidr}) and forwards.`
        : `The ${r.name} has a leg on every underlay segment and forwards between them.`
    } It sends no ICMP redirects: when a packet enters and leaves by the same leg (one node to another on the same segment), Linux would otherwise tell the sender to go direct next time, and the nodes would learn a shortcut around the router.`,
    scope: 'netns',
  })
  b.inNetns(r.netns, 'ip', markLoopback(mark), `loopback up; the alias "${mark}" marks the namespace as this lab's`)
  for (const leg of r.legs) {
    b.inNetns(
      r.netns,
      'ip',
      ['addr', 'add', `${leg.ip}/${segmentPrefix(model, leg.segment)}`, 'dev', leg.dev],
      `its address on segment ${leg.segment} (${model.segments[leg.segment].cidr})`,
    )
    b.inNetns(r.netns, 'ip', ['link', 'set', leg.dev, 'up'], `bring ${leg.dev} up`)
  }
  for (const e of model.external.filter((x) => !x.vpc)) {
    // a VPC host is on the connected route of its leg's subnet
    const leg = legOn(r, e.segment)
    b.inNetns(
      r.netns,
      'ip',
      ['route', 'add', `${e.ip}/32`, 'dev', leg.dev],
      `${e.name} (${e.ip}, outside the underlay ranges) is on the wire of segment ${e.segment}`,
    )
  }
  b.inNetns(r.netns, 'sysctl', ['net.ipv4.ip_forward=1'], 'a router forwards')
  b.inNetns(
    r.netns,
    'sysctl',
    ['net.ipv4.conf.all.send_redirects=0'],
    "no ICMP redirects (the kernel sends them if this or the interface's own setting is on)",
  )
  for (const leg of r.legs)
    b.inNetns(r.netns, 'sysctl', [`net.ipv4.conf.${leg.dev}.send_redirects=0`], `no ICMP redirects out of ${leg.dev}`)
}

/** Routes to the other segments, via the router's leg on one's own segment. */
export function segmentRoutes({model, b}: PlanContext, host: {netns: string; name: string; segment: number}): void {
  const r = model.router
  if (!r || model.segments.length === 1) return
  const via = legOn(r, host.segment).ip
  for (const s of model.segments) {
    if (s.index === host.segment) continue
    b.inNetns(
      host.netns,
      'ip',
      ['route', 'add', s.cidr, 'via', via, 'dev', 'eth0'],
      `segment ${s.index} (${s.cidr}) is behind the ${r.name} (${via})`,
    )
  }
}

/** How a node reaches an external host: straight over the wire on its own segment, else via the router. */
export function nodeToExternal({model, b}: PlanContext, n: NodeModel, e: LabModel['external'][number]): void {
  if (e.segment === n.segment || !model.router) {
    b.inNetns(
      n.netns,
      'ip',
      ['route', 'add', `${e.ip}/32`, 'dev', 'eth0'],
      `${e.name} (${e.ip}) is on the same wire as ${n.name}: reach it directly`,
    )
  } else {
    const via = legOn(model.router, n.segment).ip
    b.inNetns(
      n.netns,
      'ip',
      ['route', 'add', `${e.ip}/32`, 'via', via, 'dev', 'eth0'],
      `${e.name} (${e.ip}) is on segment ${e.segment}: through the ${model.router.name} (${via})`,
    )
  }
}
