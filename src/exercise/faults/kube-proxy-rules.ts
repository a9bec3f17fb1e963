// kube-proxy's rules as the lab's plan wrote them into one node (its iptables-restore inputs of
// the services phase), line by line with their table: where the Service faults find what to
// spoil, so that each one's undo puts back exactly what the plan set. iptables mode only: the
// nftables mode's rules have no positions to put a deleted one back at.
import type {Action, Plan} from '../../core/actions.js'
import {restoreWords} from '../../tools/iptables.js'
import type {LabModel, NodeModel} from '../../model/types.js'

export interface PlannedRule {
  table: string
  /** the verb (-A, -I) and chain, and the rest of the rule's words (its spec) */
  verb: string
  chain: string
  spec: string[]
}

/** The nodes whose kube-proxy is the iptables mode's, with the rules the plan gives each. */
export function plannedRules(model: LabModel, plan: Plan): {node: NodeModel; rules: PlannedRule[]; actions: Action[]}[] {
  if (model.services?.proxy !== 'iptables') return []
  return model.nodes.map((node) => {
    const actions = plan.actions.filter((a) => a.phase === 'services' && a.netns === node.netns)
    const rules: PlannedRule[] = []
    for (const a of actions) {
      if (a.tool !== 'iptables-restore') continue
      let table = 'filter'
      for (const line of (a.stdin ?? '').split('\n')) {
        if (line.startsWith('*')) table = line.slice(1)
        if (!/^-[AI] /.test(line)) continue
        const [verb, chain, ...spec] = restoreWords(line)
        rules.push({table, verb, chain, spec})
      }
    }
    return {node, rules, actions}
  })
}

/** The position a rule has in its chain once the plan has run (-I puts it first, -A after the others). */
export function positionOf(rules: PlannedRule[], rule: PlannedRule): number {
  const same = rules.filter((r) => r.table === rule.table && r.chain === rule.chain)
  const order: PlannedRule[] = []
  for (const r of same)
    if (r.verb === '-I') order.unshift(r)
    else order.push(r)
  return order.indexOf(rule) + 1
}

/** The value after an option in a rule's words ("--comment" → "default/web:http"). */
export const optionValue = (spec: string[], option: string): string | undefined => {
  const i = spec.indexOf(option)
  return i >= 0 ? spec[i + 1] : undefined
}
