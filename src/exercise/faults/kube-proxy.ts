// kube-proxy's rules missing on one node: the jump from nat PREROUTING into KUBE-SERVICES is
// gone, as on a node whose kube-proxy has not synced yet. Its pods' connections to a ClusterIP
// are no longer translated: they leave for an address nobody holds.
import {plannedRules, positionOf} from './kube-proxy-rules.js'
import type {FaultModule} from './types.js'

export const kubeProxy: FaultModule = {
  kind: 'kube-proxy',
  text: "kube-proxy's rules missing on a node: nothing there sends its pods' packets into KUBE-SERVICES",
  sites: ({model, plan}) =>
    plannedRules(model, plan).flatMap(({node, rules}) => {
      const jump = rules.find((r) => r.table === 'nat' && r.chain === 'PREROUTING' && r.spec.at(-1) === 'KUBE-SERVICES')
      if (!jump || node.pods.length === 0) return []
      return [
        {
          netns: node.netns,
          tool: 'iptables',
          args: ['-t', 'nat', '-D', 'PREROUTING', ...jump.spec],
          undo: [
            {tool: 'iptables', netns: node.netns, args: ['-t', 'nat', '-I', 'PREROUTING', String(positionOf(rules, jump)), ...jump.spec]},
          ],
          what: `deleted ${node.name}'s jump from nat PREROUTING to KUBE-SERVICES: its pods' connections to a ClusterIP are not translated`,
        },
      ]
    }),
}
