// A NodePort rule gone on one node: KUBE-NODEPORTS no longer knows the port, so a client that
// reaches the Service through that node's address gets nothing there.
import {optionValue, plannedRules, positionOf} from './kube-proxy-rules.js'
import type {FaultModule} from './types.js'

export const nodePort: FaultModule = {
  kind: 'node-port',
  text: "a NodePort's rule missing from a node's KUBE-NODEPORTS",
  sites: ({model, plan}) =>
    plannedRules(model, plan).flatMap(({node, rules}) =>
      rules
        .filter((r) => r.table === 'nat' && r.chain === 'KUBE-NODEPORTS')
        .map((r) => ({
          netns: node.netns,
          tool: 'iptables',
          args: ['-t', 'nat', '-D', 'KUBE-NODEPORTS', ...r.spec],
          undo: [
            {tool: 'iptables', netns: node.netns, args: ['-t', 'nat', '-I', 'KUBE-NODEPORTS', String(positionOf(rules, r)), ...r.spec]},
          ],
          what:
            `deleted ${node.name}'s KUBE-NODEPORTS rule for ${optionValue(r.spec, '--comment') ?? 'a Service'} ` +
            `(port ${optionValue(r.spec, '--dport')}): that NodePort leads nowhere on ${node.name}`,
        })),
    ),
}
