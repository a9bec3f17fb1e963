import {ruleFirst} from './iptables-rule.js'
import type {FaultModule} from './types.js'

export const drop: FaultModule = {
  kind: 'drop',
  text: 'a stray DROP rule in a node’s FORWARD chain',
  sites: ({model}) =>
    ruleFirst(
      model,
      (n) => ({table: [], chain: 'FORWARD', match: ['-d', `${n.pods[0].ip}/32`], target: 'DROP'}),
      (n) => `put a DROP of everything to ${n.pods[0].name} (${n.pods[0].ip}) first in ${n.name}'s FORWARD chain`,
    ),
}
