// bgp: Calico's "BGP only" mode (no encapsulation, direct routing). Every node runs BIRD 2 in
// its namespace; it announces its pod block and installs what the others announce, so no route
// between nodes is written by netlab: they are learned (proto bird), and withdrawn by themselves
// when a node goes quiet. The plan wires pods as Calico does (a point-to-point cable per pod, a
// /32 route to it, the pod's gateway 169.254.1.1 answered by the node end) and writes the
// blackhole route of the node's own block, as Calico's Felix does; `up` then starts the daemons
// (src/lab/bird.ts) and waits until every node has learned every other block. The sessions:
// src/modes/bgp-peers.ts.
import {graphIds} from '../model/graph-ids.js'
import type {GraphContribution} from '../model/graph.js'
import type {LabModel, PlanContext, RoutingModeModule} from '../model/types.js'
import {TopologyError} from '../topology/errors.js'
import {DEFAULT_AS} from '../topology/bgp.js'
import type {Topology} from '../topology/types.js'
import {bgpSessions, BGP_TIMERS} from './bgp-peers.js'
import {POD_GATEWAY, ptpAttachPods, ptpConfigurePod, ptpExpectedSource, ptpGatewayEdges} from './ptp.js'

/** The highest AS a lab may use: its segments' and the router's come after cluster.bgp.asNumber. */
const MAX_AS = 4294967294

function validate(topo: Topology): void {
  const cni = topo.cluster.cni
  if (cni)
    throw new TopologyError(
      cni.pos,
      "cluster.cni: routing bgp cables pods point to point, as Calico's own plugin does, which no bridge " +
        "CNI plugin does (and the block's blackhole would meet cni0's route); use another routing mode, or leave cni out",
    )
  const bgp = topo.cluster.bgp
  if (!bgp) return
  const segments = topo.cluster.underlay.length
  if (bgp.asNumber && segments > 1 && bgp.asNumber.value + segments > MAX_AS)
    throw new TopologyError(
      bgp.asNumber.pos,
      `cluster.bgp.asNumber ${bgp.asNumber.value}: each of the ${segments} segments takes the next AS, and the ` +
        `router the one after: at most ${MAX_AS - segments}`,
    )
  const names = new Set(topo.nodes.map((n) => n.name.value))
  const seen = new Set<string>()
  for (const rr of bgp.routeReflectors ?? []) {
    if (!names.has(rr.value))
      throw new TopologyError(rr.pos, `cluster.bgp.routeReflectors: no node "${rr.value}" (nodes: ${[...names].join(', ')})`)
    if (seen.has(rr.value)) throw new TopologyError(rr.pos, `cluster.bgp.routeReflectors: "${rr.value}" is named twice`)
    seen.add(rr.value)
  }
  if (seen.size > 0 && segments > 1)
    throw new TopologyError(
      bgp.routeReflectors![0].pos,
      'cluster.bgp.routeReflectors: on a multi-segment underlay the router already reflects between ' +
        "the segments (each segment's nodes peer with it): route reflectors need one segment",
    )
}

function routes({model, b}: PlanContext): void {
  for (const n of model.nodes)
    b.inNetns(
      n.netns,
      'ip',
      ['route', 'add', 'blackhole', n.podCIDR],
      `${n.name}'s own block ${n.podCIDR}: an address of it that no pod holds is dropped here, never ` +
        `sent on to the default route (Felix writes this route; BIRD announces the block)`,
    )
}

/** Sessions as lines between the speakers' eth0 (the router: its leg); pods' default routes as aws-vpc draws them. */
function graph(model: LabModel): GraphContribution {
  const at = (name: string) => (model.router?.name === name ? graphIds.member(name) : graphIds.device(name, 'eth0'))
  return {
    edges: [
      ...ptpGatewayEdges(model.nodes),
      ...bgpSessions(model).map((s) => ({
        from: at(s.from),
        to: at(s.to),
        kind: 'session',
        label: s.reflector ? `${s.kind} (reflector)` : s.kind,
        directed: false,
        layout: false,
      })),
    ],
    notes: [
      `every node runs BIRD: it announces its block and installs the others' (proto bird); no route between nodes is written by netlab (netlab bgp LAB shows BIRD's view)`,
    ],
  }
}

export const bgp: RoutingModeModule = {
  id: 'bgp',
  summary:
    "Calico's BGP mode: BIRD on every node announces its pod block and installs the others' (learned, " +
    'not written); pods on /32 cables via 169.254.1.1',
  validate,
  settings: (topo) => ({
    bgp: {
      asNumber: topo.cluster.bgp?.asNumber?.value ?? DEFAULT_AS,
      routeReflectors: (topo.cluster.bgp?.routeReflectors ?? []).map((r) => r.value),
    },
  }),
  podGateway: POD_GATEWAY,
  nodeLinks: () => undefined, // no bridge: each pod's cable ends on the node itself (a cali* interface)
  attachPods: ptpAttachPods,
  configurePod: ptpConfigurePod(
    (n) => `the pod's address, from ${n.name}'s block ${n.podCIDR} (Calico's IPAM); a /32, so the pod has no neighbours but its gateway`,
  ),
  neighbourShape: {ptp: true},
  policyWiring: {
    why: "There is no bridge: each pod's cable ends on its node, which routes every packet of its pods, between two pods of one node too, so each one crosses FORWARD once and nothing needs wiring.",
  },
  expectedSource: ptpExpectedSource,
  graph,
  phases: {
    links: {
      why: "A veth pair is a cable with one end in each namespace. Each end is created directly inside its namespace, so nothing ever appears in the host's own namespace. Every interface that will hold an address gets the MAC 0a:58:<its IPv4 address in hex>, so you can read the address back out of any MAC you see. Calico makes no bridge: each pod's cable (a cali* interface) ends on the node itself.",
    },
    'pod-links': {
      why:
        `Each pod gets a veth pair: eth0 inside the pod, the other end on its node. The node end ` +
        `gets the MAC of ${POD_GATEWAY}, the pods' gateway that no interface holds, on every pod's ` +
        `cable, as Calico's cali* interfaces share ee:ee:ee:ee:ee:ee. Each cable is a link of its ` +
        `own, so the shared MAC meets nothing.`,
    },
    nodes: {
      title: 'Address the nodes and route to their pods',
      why: "Each node gets its underlay address on eth0. There is no bridge: for each pod, its cable is brought up and the node gets a /32 route to the pod's address through it — what Calico's CNI plugin writes on ADD.",
    },
    pods: {
      title: "Configure the pods (what Calico's CNI plugin does on ADD)",
      why:
        `Inside each pod: loopback up, the pod's address on eth0 as a /32, a route to the gateway ` +
        `${POD_GATEWAY} on eth0's link, a default route via it, and a permanent ARP entry for it: ` +
        `the MAC of the node end of the pod's cable.`,
    },
  },
  routes: {
    title: "Each node's blackhole for its own block; BGP does the rest (bgp)",
    why:
      "netlab writes no route between nodes. Each node gets a blackhole route for its own block (Felix's), " +
      'and once the plan has run, `up` starts BIRD in every node: it announces the block over BGP ' +
      '(Calico: iBGP, AS 64512, every node with every other, or with the route reflectors; on a multi-' +
      'segment underlay one AS per segment and eBGP with the router) and installs what it learns from its ' +
      `peers in the kernel, proto bird. Timers: hold ${BGP_TIMERS.holdS} s, keepalive ${BGP_TIMERS.keepaliveS} s, ` +
      `so a node that goes quiet is withdrawn everywhere within ${BGP_TIMERS.holdS} s.`,
    build: routes,
  },
}
