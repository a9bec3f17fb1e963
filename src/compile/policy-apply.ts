// The plan of `netlab policy apply`: the change from a running lab's policies to new ones. Pure.
// Each node with pods gets its whole filter table replaced by one iptables-restore, computed from
// the same compiler that `up` uses (the pod-range firewall, then the new policy chains), so the
// switch is atomic per node and its undo is the old table. A lab built without policies is first
// wired for them, as `up` would have done, and its pods forget the neighbours they learned.
import {compilePlan} from './plan.js'
import {PlanBuilder} from '../plan/builder.js'
import {restoreInput} from '../tools/iptables.js'
import {wholeTables} from '../tools/iptables-restore.js'
import {driver} from '../tools/index.js'
import type {LabModel, NodeModel} from '../model/types.js'
import type {Action, Command, Plan} from '../core/actions.js'

/** The undo of the wiring a failed apply made: the drivers' inverses (bridge: isolation off; sysctl: the kernel's defaults). */
function undoWiring(a: Action): Command[] {
  return driver(a.tool).inverse?.(a) ?? []
}

/** A node's filter table as `plan` builds it, as iptables-restore input, each rule preceded by its why. */
export function filterTable(plan: Plan, node: NodeModel): string {
  const own = (a: Action) => a.tool === 'iptables' && (a.args[0] !== '-t' || a.args[1] === 'filter')
  // netlab's rules and kube-proxy's (its filter chains: KUBE-FORWARD, the REJECT of a Service without endpoints), in plan order
  const actions = plan.actions.filter((a) => a.netns === node.netns && (own(a) || a.tool === 'iptables-restore'))
  const whole = wholeTables(actions).split('\n')
  const section = whole.slice(whole.indexOf('*filter'), whole.indexOf('COMMIT', whole.indexOf('*filter')) + 1)
  // each of netlab's own lines preceded by its why (kube-proxy's carry their own comments)
  const why = new Map<string, string[]>()
  for (const a of actions.filter(own)) {
    const line = restoreInput([a.args]).text.split('\n')[1]
    why.set(line, [...(why.get(line) ?? []), a.why.replace(/\n/g, ' ')])
  }
  return (
    section
      .flatMap((line) => {
        const w = why.get(line)?.shift()
        return w === undefined ? [line] : [`# ${w}`, line]
      })
      .join('\n') + '\n'
  )
}

export function compilePolicyApply(before: LabModel, after: LabModel, opts: {owner?: string} = {}): Plan {
  const oldPlan = compilePlan(before, opts)
  const newPlan = compilePlan(after, opts)
  const b = new PlanBuilder(after.lab)
  // a lab without policies before or after (netlab label on it): no rule changes, nothing to wire
  if (!before.policies && !after.policies) return b.build()
  const nodes = after.nodes.filter((n) => n.pods.length > 0)
  if (!before.policies && nodes.length > 0) {
    b.phase({
      id: 'policy-wiring',
      title: 'Route same-node pod traffic through the nodes',
      why: "This lab was built without policies, so two pods of one node still talk across cni0 without their node's firewall seeing it. Each node now isolates its pods' ports and answers their ARP for each other, as `up` does for a lab with policies (see its plan), and each pod forgets the neighbours it learned, so its next packet to a pod of its node goes to the node.",
      scope: 'netns',
    })
    for (const n of nodes) {
      const wiring = newPlan.actions.filter((x) => x.phase === 'policies' && x.netns === n.netns && x.tool !== 'iptables')
      for (const a of wiring) b.change({tool: a.tool, netns: a.netns, args: a.args}, a.why, undoWiring(a))
      // pods whose ports were just isolated must stop sending to each other's MACs (routed modes have no ports to isolate)
      if (!wiring.some((a) => a.tool === 'bridge')) continue
      for (const p of n.pods) {
        const seeded = (plan: Plan) => plan.actions.filter((x) => x.netns === p.netns && x.phase === 'neighbours' && x.args[0] === 'neigh')
        const [was, now] = [seeded(oldPlan), seeded(newPlan)]
        if (now.length === 0) {
          b.change(
            {tool: 'ip', netns: p.netns, args: ['neigh', 'flush', 'dev', 'eth0']},
            `pod ${p.name} forgets the MACs it learned: from now on cni0 answers for the pods of ${n.name}`,
            [],
          )
          continue
        }
        // a large lab's neighbours are written, not learned: rewrite the ones that change
        now.forEach((x, k) => {
          if (x.args.join(' ') === was[k]?.args.join(' ')) return
          const replace = (args: string[]) => ['neigh', 'replace', ...args.slice(2)]
          b.change(
            {tool: 'ip', netns: p.netns, args: replace(x.args)},
            x.why,
            was[k] ? [{tool: 'ip', netns: p.netns, args: replace(was[k].args)}] : [],
          )
        })
      }
    }
  }
  b.phase({
    id: 'policy-rules',
    title: "Replace each node's rules in one step",
    why: "Each node's filter table is rebuilt by one iptables-restore (without --noflush: the table is flushed and refilled in a single commit), so no packet ever meets half the old rules and half the new. The table is what `up` builds for the lab with its new policies: the pod-range firewall, then NETLAB-POLICY and a chain per isolated pod. Connections already open stay open (conntrack remembers them), as with any stateful firewall. If any node fails, the nodes already changed get their old table back.",
    scope: 'netns',
  })
  for (const n of nodes) {
    const isolated = (dir: 'IN' | 'OUT') =>
      newPlan.actions.filter((a) => a.netns === n.netns && a.args[0] === '-N' && a.args[1]?.startsWith(`NETLAB-${dir}-`)).length
    const stdin = filterTable(newPlan, n)
    b.change(
      {tool: 'iptables-restore', netns: n.netns, args: [], stdin},
      `${n.name}'s filter table: the pod-range firewall, then the policies of its pods ` +
        `(${isolated('IN')} isolated for ingress, ${isolated('OUT')} for egress)`,
      [{tool: 'iptables-restore', netns: n.netns, args: [], stdin: filterTable(oldPlan, n)}],
    )
  }
  return b.build()
}
