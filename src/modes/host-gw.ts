// host-gw: every node knows, for every other node, "that node's pod subnet is reached via that
// node's underlay address". No encapsulation, so it needs all nodes on one L2 segment — which
// the fabric bridge is. (Kubernetes the Hard Way's routes; flannel's host-gw backend.)
import {graphIds} from '../model/graph-ids.js'
import type {RoutingModeModule} from '../model/types.js'

export const hostGw: RoutingModeModule = {
  id: 'host-gw',
  summary: 'one route per other node: its pod subnet via its underlay address (nodes share one L2 segment)',
  // a route's next hop must be on the sender's own wire: every node on one segment
  oneSegment: true,
  routes: {
    title: 'Route pod subnets between nodes (host-gw)',
    why:
      'A node only knows its own pod subnet (on cni0). For every other node it gets one route: ' +
      "that node's pod subnet via that node's underlay address. This is what a cloud route " +
      'table or flannel host-gw does.',
    build({model, b}) {
      for (const node of model.nodes) {
        for (const peer of model.nodes) {
          if (peer === node) continue
          b.inNetns(
            node.netns,
            'ip',
            ['route', 'add', peer.podCIDR, 'via', peer.ip, 'dev', 'eth0'],
            `pods of ${peer.name} (${peer.podCIDR}) are reached through ${peer.name} itself (${peer.ip})`,
          )
        }
      }
    },
  },
  // one arrow per ordered node pair: the route the first node holds for the second's pods
  graph: (model) => ({
    edges: model.nodes.flatMap((node) =>
      model.nodes
        .filter((peer) => peer !== node)
        .map((peer) => ({
          from: graphIds.device(node.name, 'eth0'),
          to: graphIds.device(peer.name, 'eth0'),
          kind: 'route',
          label: `${peer.podCIDR} via ${peer.ip}`,
          directed: true,
        })),
    ),
  }),
}
