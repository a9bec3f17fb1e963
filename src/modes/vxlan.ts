// vxlan: flannel's default backend. Each node has a VXLAN device, flannel.1, and reaches every
// other node's pod subnet through it: the kernel wraps the pod's whole Ethernet frame in a UDP
// packet (port 8472) from this node's underlay address to the other node's, which unwraps it
// and routes it to its pod. The underlay only ever carries node addresses, so the nodes need
// not share an L2 segment (host-gw's limit). The numbers are flannel's: VNI 1, port 8472, the
// node's pod-subnet network address as the device's /32, MTU = underlay MTU − 50.
import {graphIds} from '../model/graph-ids.js'
import type {GraphContribution} from '../model/graph.js'
import {macFor} from '../core/names.js'
import type {LabModel, NodeModel, PodModel, Endpoint, PlanContext, RoutingModeModule} from '../model/types.js'
import {bridgeAttachPods, bridgeConfigurePod} from './bridge.js'

const VXLAN_DEVICE = 'flannel.1'
const VNI = '1'
const PORT = '8472' // flannel's (the Linux default), not IANA's 4789
/** every node's eth0 is a veth with the kernel's default MTU */
const UNDERLAY_MTU = 1500
/** outer IPv4 (20) + UDP (8) + VXLAN (8) headers, and the inner frame's Ethernet header (14) */
export const VXLAN_OVERHEAD = 50
export const OVERLAY_MTU = String(UNDERLAY_MTU - VXLAN_OVERHEAD)

/** A node's VTEP address: the network address of its pod subnet, held by flannel.1 as a /32. */
export const vtepIp = (n: NodeModel): string => n.podCIDR.split('/')[0]
/** The MAC of flannel.1, derived from its address like every other MAC of the lab. */
const vtepMac = (n: NodeModel): string => macFor(vtepIp(n))

function nodeLinks({b}: PlanContext, n: NodeModel): void {
  if (n.pods.length === 0) return
  b.intoNetns(
    n.netns,
    ['link', 'add', 'name', n.bridge, 'netns', n.netns, 'address', n.gatewayMac, 'mtu', OVERLAY_MTU, 'type', 'bridge'],
    `${n.name}'s cni0 bridge, the L2 segment of its pods, with the overlay MTU ${OVERLAY_MTU} ` +
      `(flannel passes it to the bridge plugin)`,
  )
}

/** cni0 as in every mode; each pod's cable joins it at the overlay MTU. */
function attachPods(ctx: PlanContext, n: NodeModel): void {
  bridgeAttachPods(ctx, n, (p) => ({
    args: ['link', 'set', p.hostVeth, 'mtu', OVERLAY_MTU, 'master', n.bridge, 'up'],
    why: `attach pod ${p.name}'s cable to cni0; this end gets the overlay MTU too, since a bridge ` + `takes the smallest MTU of its ports`,
  }))
}

function configurePod(ctx: PlanContext, p: PodModel, n: NodeModel): void {
  bridgeConfigurePod(ctx, p, n, {
    value: OVERLAY_MTU,
    why:
      `bring the pod's eth0 up with the overlay MTU: its largest packet plus ${VXLAN_OVERHEAD} ` +
      `bytes of VXLAN wrapping must fit the underlay's ${UNDERLAY_MTU}`,
  })
}

function overlay({model, b}: PlanContext): void {
  const dev = VXLAN_DEVICE
  for (const n of model.nodes) {
    const peers = model.nodes.filter((p) => p !== n)
    b.inNetns(
      n.netns,
      'ip',
      [
        'link',
        'add',
        dev,
        'address',
        vtepMac(n),
        'mtu',
        OVERLAY_MTU,
        'type',
        'vxlan',
        'id',
        VNI,
        'local',
        n.ip,
        'dev',
        'eth0',
        'dstport',
        PORT,
        'nolearning',
      ],
      `${n.name}'s tunnel end (VTEP): VNI ${VNI}, UDP port ${PORT}, sending from ${n.ip} on ` +
        `eth0; MTU ${UNDERLAY_MTU} − ${VXLAN_OVERHEAD}; nolearning: every peer is written below, ` +
        `none is learned from traffic`,
    )
    b.inNetns(
      n.netns,
      'ip',
      ['addr', 'add', `${vtepIp(n)}/32`, 'dev', dev],
      `the VTEP's address: the network address of ${n.name}'s pod subnet ${n.podCIDR}, as a /32 ` +
        `(flannel's choice); other nodes route to ${n.name}'s pods via it`,
    )
    b.inNetns(n.netns, 'ip', ['link', 'set', dev, 'up'], 'bring the tunnel up (the routes below need it up)')
    for (const p of peers) {
      b.inNetns(
        n.netns,
        'ip',
        ['neigh', 'add', vtepIp(p), 'lladdr', vtepMac(p), 'dev', dev, 'nud', 'permanent'],
        `${p.name}'s VTEP ${vtepIp(p)} has the MAC ${vtepMac(p)}: written, not asked for ` +
          `(flannel.1 has nowhere to send an ARP broadcast)`,
      )
    }
    for (const p of peers) {
      b.inNetns(
        n.netns,
        'bridge',
        ['fdb', 'append', vtepMac(p), 'dev', dev, 'dst', p.ip],
        `frames for ${vtepMac(p)} (${p.name}'s VTEP) leave wrapped in UDP to ${p.ip}, ${p.name}'s ` + `underlay address`,
      )
    }
    for (const p of peers) {
      b.inNetns(
        n.netns,
        'ip',
        ['route', 'add', p.podCIDR, 'via', vtepIp(p), 'dev', dev, 'onlink'],
        `pods of ${p.name} (${p.podCIDR}) are reached through the tunnel, via ${p.name}'s VTEP; ` +
          `onlink: no address of flannel.1 covers ${vtepIp(p)}, take it as on the link anyway`,
      )
    }
  }
}

/** A node reaching a pod on another node sends from flannel.1, the device its route leaves by. */
function expectedSource(model: LabModel, src: Endpoint, dst: Endpoint): string | undefined {
  if (src.kind !== 'node' || dst.kind !== 'pod' || dst.node === src.name) return undefined
  const n = model.nodes.find((x) => x.name === src.name)
  return n && vtepIp(n)
}

/**
 * What netlab graph draws: flannel.1 in each node, between its eth0 (the tunnel's packets leave
 * by eth0, wrapped in UDP) and its cni0 (the node routes its pods' packets onto flannel.1); and
 * the overlay as one box joining the flannel.1 devices, each line labelled with the route every
 * other node holds for that node's pods and where its fdb entry sends the UDP packet.
 */
function graph(model: LabModel): GraphContribution {
  const dev = (n: NodeModel) => graphIds.device(n.name, VXLAN_DEVICE)
  const devices = {
    nodes: model.nodes.map((n) => ({
      id: dev(n),
      kind: 'overlay',
      cluster: graphIds.cluster(n.name),
      label: [`${VXLAN_DEVICE} · VXLAN`, `${vtepIp(n)}/32`],
    })),
    edges: [
      ...model.nodes.map((n) => ({
        from: graphIds.device(n.name, 'eth0'),
        to: dev(n),
        kind: 'overlay',
        label: 'wrapped in UDP',
        layout: true,
      })),
      ...model.nodes.filter((n) => n.pods.length > 0).map((n) => ({from: dev(n), to: graphIds.device(n.name, n.bridge), kind: 'forward'})),
    ],
  }
  if (model.nodes.length < 2) return devices // one node: no peer, no route, no overlay to draw
  const overlayBox = graphIds.virtual('vxlan')
  return {
    nodes: [
      ...devices.nodes,
      {id: overlayBox, kind: 'overlay', label: ['VXLAN overlay', `VNI ${VNI}, UDP ${PORT} between node addresses`]},
    ],
    edges: [
      ...devices.edges,
      ...model.nodes.map((n) => ({
        from: overlayBox,
        to: dev(n),
        kind: 'route',
        label: `${n.podCIDR} via ${vtepIp(n)}, fdb: to ${n.ip}`,
        directed: true,
        layout: true,
      })),
    ],
    notes: [
      `each line from the overlay is a route every other node holds (via this node's ` +
        `${VXLAN_DEVICE} address), and the fdb entry that sends its packets to this node's underlay address`,
    ],
  }
}

export const vxlan: RoutingModeModule = {
  id: 'vxlan',
  summary:
    `flannel's VXLAN overlay: pod packets between nodes travel inside UDP ${PORT} between node ` +
    `addresses (nodes need not share an L2 segment)`,
  podMtu: Number(OVERLAY_MTU),
  nodeLinks,
  attachPods,
  configurePod,
  routes: {
    title: 'Join the nodes with a VXLAN overlay (flannel vxlan)',
    why:
      `Each node gets a VXLAN device, flannel.1 (VNI ${VNI}, UDP port ${PORT}, as flannel makes ` +
      `it), holding the network address of its pod subnet. A packet for another node's pods is ` +
      `routed onto flannel.1 via that node's flannel.1 address; a permanent neighbour entry ` +
      `gives that address's MAC, and a forwarding-database (fdb) entry says which underlay ` +
      `address owns that MAC. The kernel then wraps the whole frame in a UDP packet from this ` +
      `node's underlay address to that node's, which unwraps it and routes it to its pod. So the ` +
      `underlay only ever sees node addresses and UDP ${PORT} — pod addresses travel inside — ` +
      `and the nodes need not share an L2 segment. flannel's daemon writes these entries from ` +
      `the other nodes' subnet leases; here the plan writes them. Wrapping costs ` +
      `${VXLAN_OVERHEAD} bytes, so everything pods use (eth0, cni0, flannel.1) has MTU ${OVERLAY_MTU}.`,
    build: overlay,
  },
  expectedSource,
  graph,
}
