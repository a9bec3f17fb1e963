// Exercises: the faults `netlab break` can inject into a running lab, each a small plan (the
// same Action/Undo as `up`'s) made from the lab's model and its own plan, so a fault undoes to
// exactly what the plan set. Which kinds apply depends on the routing mode (an overlay has an
// MTU and an fdb to spoil; every mode has routes and forwarding). Pure.
import type {LabModel, Member} from '../model/types.js'
import {PlanBuilder} from '../plan/builder.js'
import type {Action, Command, Plan} from '../core/actions.js'
import {VXLAN_OVERHEAD} from '../trace/hop.js'
import {inCidr} from '../trace/iptables.js'

export const FAULT_KINDS = ['route', 'forwarding', 'masquerade', 'drop', 'mtu', 'fdb'] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

export const FAULT_TEXT: Record<FaultKind, string> = {
  route: 'a pod route deleted on a node or router (its pods, or another node’s pod subnet)',
  forwarding: 'IP forwarding switched off on a node or router',
  masquerade: 'a masquerade rule that also NATs pod-to-pod traffic (the bridge plugin’s ipMasq mistake)',
  drop: 'a stray DROP rule in a node’s FORWARD chain',
  mtu: 'an overlay MTU too large for its underlay: full-size packets no longer fit once wrapped (vxlan labs)',
  fdb: 'a missing forwarding-database entry on a VXLAN device: a node forgets where a peer is (vxlan labs)',
}

/** One concrete fault: what it breaks, where, and the plan that injects it (each action knows its undo). */
export interface Fault {
  kind: FaultKind
  /** the member it is injected in */
  where: string
  /** what was done, in words (shown only with --reveal, and by fix) */
  what: string
  plan: Plan
}

const memberOf = (model: LabModel, netns: string | null): Member | undefined => model.members.find((m) => m.netns === netns)

function faultPlan(lab: string, kind: FaultKind, netns: string, tool: string, args: string[], why: string, undo: Command[]): Plan {
  return new PlanBuilder(lab)
    .phase({id: 'fault', title: `Inject a fault (${kind})`, why: FAULT_TEXT[kind], scope: 'netns'})
    .change({tool, netns, args}, why, undo)
    .build()
}

const podAddresses = (model: LabModel) => new Set(model.nodes.flatMap((n) => n.pods.map((p) => p.ip)))

/** Does a route's destination ("10.244.9.0/24", "192.168.50.30") hold a pod address? */
const routesPods = (model: LabModel, dst: string) => [...podAddresses(model)].some((ip) => inCidr(ip, dst))

/** Every fault of `kind` that this lab can take, in plan order. */
export function candidates(model: LabModel, plan: Plan, kind: FaultKind): Fault[] {
  const lab = model.lab
  const inMember = (a: Action) => memberOf(model, a.netns)
  const out: Fault[] = []
  const add = (a: {netns: string; tool: string; args: string[]; undo: Command[]; what: string}) => {
    const m = memberOf(model, a.netns)
    if (m) out.push({kind, where: m.name, what: a.what, plan: faultPlan(lab, kind, a.netns, a.tool, a.args, a.what, a.undo)})
  }
  const restore = (a: Action): Command[] => [{tool: a.tool, netns: a.netns, args: a.args}]
  if (kind === 'route') {
    for (const a of plan.actions) {
      const m = inMember(a)
      if (a.tool !== 'ip' || a.args[0] !== 'route' || a.args[1] !== 'add' || !m || m.kind === 'pod') continue
      if (a.args[2] === 'default' || !routesPods(model, a.args[2])) continue
      add({
        netns: a.netns!,
        tool: 'ip',
        args: ['route', 'del', ...a.args.slice(2)],
        undo: restore(a),
        what: `deleted the route to ${a.args[2]} on ${m.name}`,
      })
    }
  } else if (kind === 'forwarding') {
    // nodes, and whoever else routes pods (the routes mode's VPC router): a router only on the way out would not show
    const routers = new Set(candidates(model, plan, 'route').map((f) => f.where))
    for (const a of plan.actions) {
      const m = inMember(a)
      if (a.tool !== 'sysctl' || a.args[0] !== 'net.ipv4.ip_forward=1' || !m || (m.kind !== 'node' && !routers.has(m.name))) continue
      add({
        netns: a.netns!,
        tool: 'sysctl',
        args: ['net.ipv4.ip_forward=0'],
        undo: restore(a),
        what: `switched IP forwarding off on ${inMember(a)!.name}`,
      })
    }
  } else if (kind === 'masquerade' || kind === 'drop') {
    const withPods = model.nodes.filter((n) => n.pods.length > 0)
    if (withPods.length < 2) return []
    for (const n of withPods) {
      const rule =
        kind === 'masquerade'
          ? {table: ['-t', 'nat'], chain: 'POSTROUTING', match: ['-s', n.podCIDR], target: 'MASQUERADE'}
          : {table: [], chain: 'FORWARD', match: ['-d', `${n.pods[0].ip}/32`], target: 'DROP'}
      const args = (verb: string[]) => [...rule.table, ...verb, ...rule.match, '-j', rule.target]
      add({
        netns: n.netns,
        tool: 'iptables',
        args: args(['-I', rule.chain, '1']),
        undo: [{tool: 'iptables', netns: n.netns, args: args(['-D', rule.chain])}],
        what:
          kind === 'masquerade'
            ? `put a MASQUERADE of everything from ${n.podCIDR} first in ${n.name}'s nat POSTROUTING`
            : `put a DROP of everything to ${n.pods[0].name} (${n.pods[0].ip}) first in ${n.name}'s FORWARD chain`,
      })
    }
  } else if (kind === 'mtu') {
    for (const a of plan.actions) {
      const mtu = a.args.indexOf('mtu')
      if (a.tool !== 'ip' || a.args[0] !== 'link' || a.args[1] !== 'add' || !a.args.includes('vxlan') || mtu < 0 || !inMember(a)) continue
      // the underlay device the VXLAN device sends from, and the MTU it needs: the overlay's + the wrapping
      const dev = a.args[a.args.indexOf('dev') + 1]
      const right = String(Number(a.args[mtu + 1]) + VXLAN_OVERHEAD)
      const wrong = String(Number(right) - 100)
      add({
        netns: a.netns!,
        tool: 'ip',
        args: ['link', 'set', 'dev', dev, 'mtu', wrong],
        undo: [{tool: 'ip', netns: a.netns, args: ['link', 'set', 'dev', dev, 'mtu', right]}],
        what: `lowered ${inMember(a)!.name}'s underlay ${dev} MTU to ${wrong}: its VXLAN device's ${a.args[mtu + 1]} + ${VXLAN_OVERHEAD} no longer fits (right: ${right})`,
      })
    }
  } else if (kind === 'fdb') {
    for (const a of plan.actions) {
      if (a.tool !== 'bridge' || a.args[0] !== 'fdb' || a.args[1] !== 'append' || !inMember(a)) continue
      add({
        netns: a.netns!,
        tool: 'bridge',
        args: ['fdb', 'del', ...a.args.slice(2)],
        undo: restore(a),
        what: `deleted ${inMember(a)!.name}'s fdb entry ${a.args.slice(2).join(' ')}`,
      })
    }
  }
  return out
}

/** The kinds this lab can take. */
export function applicableKinds(model: LabModel, plan: Plan): FaultKind[] {
  return FAULT_KINDS.filter((k) => candidates(model, plan, k).length > 0)
}

/** A small seeded generator (mulberry32): the same --seed picks the same fault. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Kinds a random pick leaves out: probe's small packets pass them, so only trace finds them (name them to get one). */
const NAMED_ONLY: readonly FaultKind[] = ['mtu']

/** Pick a fault: of `kind` when named (undefined when the lab cannot take it), else of any kind that applies and probe can see. */
export function pickFault(model: LabModel, plan: Plan, kind: FaultKind | undefined, random: () => number): Fault | undefined {
  const kinds = kind ? [kind] : applicableKinds(model, plan).filter((k) => !NAMED_ONLY.includes(k))
  if (kinds.length === 0) return undefined
  const k = kinds[Math.floor(random() * kinds.length)]
  const all = candidates(model, plan, k)
  return all.length > 0 ? all[Math.floor(random() * all.length)] : undefined
}
