import {inCidr} from '../../trace/iptables.js'
import type {LabModel} from '../../model/types.js'
import {restore, type FaultModule} from './types.js'

const podAddresses = (model: LabModel) => new Set(model.nodes.flatMap((n) => n.pods.map((p) => p.ip)))

/** Does a route's destination ("10.244.9.0/24", "192.168.50.30") hold a pod address? */
const routesPods = (model: LabModel, dst: string) => [...podAddresses(model)].some((ip) => inCidr(ip, dst))

export const route: FaultModule = {
  kind: 'route',
  text: 'a pod route deleted on a node or router (its pods, or another node’s pod subnet)',
  sites: ({model, plan, memberOf}) =>
    plan.actions.flatMap((a) => {
      const m = memberOf(a)
      if (a.tool !== 'ip' || a.args[0] !== 'route' || a.args[1] !== 'add' || !m || m.kind === 'pod') return []
      if (a.args[2] === 'default' || !routesPods(model, a.args[2])) return []
      return [
        {
          netns: a.netns!,
          tool: 'ip',
          args: ['route', 'del', ...a.args.slice(2)],
          undo: restore(a),
          what: `deleted the route to ${a.args[2]} on ${m.name}`,
        },
      ]
    }),
}
