// Route between the machines: between the underlay's segments (labs with more than one), the
// neighbour tables, then the routes phase, which is the routing mode's own.
import {nodesViaRouter, type PlanContext} from '../model/types.js'
import {learnedOrSeededNeighbours} from '../modes/bridge.js'
import {nodeToExternal, segmentRoutes} from './underlay.js'

/**
 * segments phase (labs with more than one segment): every node and host reaches the others via
 * the router. Not the nodes of a mode whose nodes send everything to the router (nodePeers
 * 'router'): their default route, written in the routes phase, already takes the other segments there.
 */
export function segmentsPhase(ctx: PlanContext): void {
  const {model, b} = ctx
  if (model.segments.length <= 1) return
  const viaRouter = nodesViaRouter(model) !== undefined
  const hosts = viaRouter ? model.external : [...model.nodes, ...model.external]
  if (hosts.length === 0) return
  const router = model.router!.name
  b.phase({
    id: 'segments',
    title: 'Route between the underlay segments',
    why:
      `The nodes are on ${model.segments.length} L2 segments ` +
      `(${model.segments.map((s) => s.cidr).join(', ')}). ` +
      (viaRouter
        ? `A node sends everything to the ${router} (its default route, in the routes phase), the ` +
          `other segments included; the hosts outside the cluster reach them through it too.`
        : `A node reaches the nodes of its own segment directly, and the other segments through the ` +
          `${router}, which forwards between them and knows nothing about pods.`),
    scope: 'netns',
  })
  for (const host of hosts) segmentRoutes(ctx, host)
}

/** The neighbour tables: the mode's own, or learned by ARP (seeded in a big lab). */
export function neighboursPhase(ctx: PlanContext): void {
  const mode = ctx.model.mode
  if (mode.neighbours) mode.neighbours(ctx)
  else learnedOrSeededNeighbours(ctx, mode.neighbourShape)
}

/** routes phase: the mode's routes, then every node's to the external hosts. */
export function routesPhase(ctx: PlanContext): void {
  const {model, b} = ctx
  const mode = model.mode
  b.phase({id: 'routes', title: mode.routes.title, why: mode.routes.why, scope: 'netns'})
  mode.routes.build(ctx)
  // External hosts sit on the underlay: every node reaches them over the wire, whatever the mode.
  // (A VPC host is in a VPC subnet: the node's connected or segment route covers it.)
  for (const n of model.nodes) for (const e of model.external) if (!e.vpc) nodeToExternal(ctx, n, e)
}
