import {VXLAN_OVERHEAD} from '../../modes/vxlan.js'
import type {FaultModule} from './types.js'

export const mtu: FaultModule = {
  kind: 'mtu',
  text: 'an overlay MTU too large for its underlay: full-size packets no longer fit once wrapped (vxlan labs)',
  namedOnly: true,
  sites: ({plan, memberOf}) =>
    plan.actions.flatMap((a) => {
      const at = a.args.indexOf('mtu')
      const m = memberOf(a)
      if (a.tool !== 'ip' || a.args[0] !== 'link' || a.args[1] !== 'add' || !a.args.includes('vxlan') || at < 0 || !m) return []
      // the underlay device the VXLAN device sends from, and the MTU it needs: the overlay's + the wrapping
      const dev = a.args[a.args.indexOf('dev') + 1]
      const right = String(Number(a.args[at + 1]) + VXLAN_OVERHEAD)
      const wrong = String(Number(right) - 100)
      return [
        {
          netns: a.netns!,
          tool: 'ip',
          args: ['link', 'set', 'dev', dev, 'mtu', wrong],
          undo: [{tool: 'ip', netns: a.netns, args: ['link', 'set', 'dev', dev, 'mtu', right]}],
          what: `lowered ${m.name}'s underlay ${dev} MTU to ${wrong}: its VXLAN device's ${a.args[at + 1]} + ${VXLAN_OVERHEAD} no longer fits (right: ${right})`,
        },
      ]
    }),
}
