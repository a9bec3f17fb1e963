import {restore, type FaultModule} from './types.js'

export const fdb: FaultModule = {
  kind: 'fdb',
  text: 'a missing forwarding-database entry on a VXLAN device: a node forgets where a peer is (vxlan labs)',
  sites: ({plan, memberOf}) =>
    plan.actions.flatMap((a) => {
      const m = memberOf(a)
      if (a.tool !== 'bridge' || a.args[0] !== 'fdb' || a.args[1] !== 'append' || !m) return []
      return [
        {
          netns: a.netns!,
          tool: 'bridge',
          args: ['fdb', 'del', ...a.args.slice(2)],
          undo: restore(a),
          what: `deleted ${m.name}'s fdb entry ${a.args.slice(2).join(' ')}`,
        },
      ]
    }),
}
