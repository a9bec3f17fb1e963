// routes: a route table outside the nodes. The VPC router holds one route per node pod subnet,
// next hop that node; the nodes hold none, only a default route to the router. This is GKE's
// routes-based mode ("a route with the node's /24 as destination and the node instance as next
// hop") and Kubernetes the Hard Way's "use a dedicated router". A packet between pods on two
// nodes crosses the router: one hop more than host-gw (its TTL shows it).
import {graphIds} from '../model/graph-ids.js'
import type {RoutingModeModule} from '../model/types.js'

const ROUTER = 'vpc-router'

export const routes: RoutingModeModule = {
  id: 'routes',
  summary: 'a VPC route table: the router knows every node pod subnet; nodes only have a default route to it',
  router: {name: ROUTER, role: 'the VPC router: its route table holds one route per node pod subnet, next hop that node'},
  podsRoutableFromUnderlay: true,
  // a node's one default route carries its traffic to every other node: see RoutingModeModule
  crossNodeRoutes: 'shared',
  // a node's address comes without its subnet's route: the router carries node-to-node traffic too
  nodePeers: 'router',
  routes: {
    title: 'Route pod subnets through the VPC route table (routes)',
    why:
      `No node knows another node's pod subnet. The ${ROUTER} does: its route table holds one ` +
      `route per node pod subnet, next hop that node's underlay address, like the custom static ` +
      `routes GKE creates per node. Every node sends everything but its own pods' traffic to the ` +
      `router, traffic for the other nodes of its subnet too (it holds its address like a GCE ` +
      `VM's /32), and so does every host on the underlay with what it cannot deliver itself: pod ` +
      `traffic between nodes takes one hop more than with host-gw.`,
    build({model, b}) {
      const r = model.router!
      for (const n of model.nodes) {
        const leg = r.legs[n.segment]
        b.inNetns(
          r.netns,
          'ip',
          ['route', 'add', n.podCIDR, 'via', n.ip, 'dev', leg.dev],
          `pods of ${n.name} (${n.podCIDR}) live behind ${n.name} (${n.ip})`,
        )
      }
      for (const n of model.nodes) {
        const leg = r.legs[n.segment]
        b.inNetns(
          n.netns,
          'ip',
          ['route', 'add', 'default', 'via', leg.ip, 'dev', 'eth0'],
          `everything ${n.name} cannot deliver itself (other nodes' pods included) goes to the ` + `${ROUTER} (${leg.ip})`,
        )
      }
    },
  },
  // the router's table (a route per node pod subnet) and each node's one route (default via the
  // router); the router's routes shape the layout, so it is drawn above the nodes it serves
  graph(model) {
    const r = model.router!
    const router = graphIds.member(r.name)
    return {
      edges: model.nodes.flatMap((n) => [
        {from: router, to: graphIds.device(n.name, 'eth0'), kind: 'route', label: `${n.podCIDR} via ${n.ip}`, directed: true, layout: true},
        {from: graphIds.device(n.name, 'eth0'), to: router, kind: 'route', label: `default via ${r.legs[n.segment].ip}`, directed: true},
      ]),
    }
  },
}
