import {restore, type FaultModule} from './types.js'

export const forwarding: FaultModule = {
  kind: 'forwarding',
  text: 'IP forwarding switched off on a node or router',
  sites({plan, memberOf, sitesOf}) {
    // nodes, and whoever else routes pods (the routes mode's VPC router): a router only on the way out would not show
    const routers = new Set(sitesOf('route').map((s) => memberOf(s)?.name))
    return plan.actions.flatMap((a) => {
      const m = memberOf(a)
      if (a.tool !== 'sysctl' || a.args[0] !== 'net.ipv4.ip_forward=1' || !m || (m.kind !== 'node' && !routers.has(m.name))) return []
      return [
        {
          netns: a.netns!,
          tool: 'sysctl',
          args: ['net.ipv4.ip_forward=0'],
          undo: restore(a),
          what: `switched IP forwarding off on ${m.name}`,
        },
      ]
    })
  },
}
