// A rule put first in a chain of every node with pods (masquerade, drop): shared by both kinds.
import type {LabModel, NodeModel} from '../../model/types.js'
import type {FaultSite} from './types.js'

interface Rule {
  table: string[]
  chain: string
  match: string[]
  target: string
}

/** One site per node with pods; none unless two nodes have pods (the fault shows between nodes). */
export function ruleFirst(model: LabModel, ruleOf: (n: NodeModel) => Rule, what: (n: NodeModel) => string): FaultSite[] {
  const withPods = model.nodes.filter((n) => n.pods.length > 0)
  if (withPods.length < 2) return []
  return withPods.map((n) => {
    const rule = ruleOf(n)
    const args = (verb: string[]) => [...rule.table, ...verb, ...rule.match, '-j', rule.target]
    return {
      netns: n.netns,
      tool: 'iptables',
      args: args(['-I', rule.chain, '1']),
      undo: [{tool: 'iptables', netns: n.netns, args: args(['-D', rule.chain])}],
      what: what(n),
    }
  })
}
