import {ruleFirst} from './iptables-rule.js'
import type {FaultModule} from './types.js'

export const masquerade: FaultModule = {
  kind: 'masquerade',
  text: 'a masquerade rule that also NATs pod-to-pod traffic (the bridge plugin’s ipMasq mistake)',
  sites: ({model}) =>
    ruleFirst(
      model,
      (n) => ({table: ['-t', 'nat'], chain: 'POSTROUTING', match: ['-s', n.podCIDR], target: 'MASQUERADE'}),
      (n) => `put a MASQUERADE of everything from ${n.podCIDR} first in ${n.name}'s nat POSTROUTING`,
    ),
}
