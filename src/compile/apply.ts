// The plan of `netlab apply`: from a running lab's model to a changed one, only the difference.
// Pure. Both models are compiled into whole plans by the compiler `up` uses, and the two plans are
// compared action by action, so the change says exactly what a fresh `up` of the new topology
// would have done differently, in the same words:
// - a namespace that leaves (a pod, a node, an external host) is deleted, and with it everything
//   inside it and every cable end it owns; a CNI pod gets its DELs first, as a kubelet's runtime
//   calls them. Undone by building it again from the old plan.
// - an action of a namespace that stays and is no longer wanted (a route to a node that left, a
//   neighbour, a proxy ARP entry) is taken back by its tool's inverse (ToolDriver.inverse).
// - what is new runs as `up` would run it, phase by phase; in a namespace that stays, its undo is
//   its tool's inverse (deleting the node would undo far too much).
// - a node whose firewall or kube-proxy rules change gets its tables rewritten whole in one commit
//   (iptables-restore without --noflush, one nft transaction), as kube-proxy's full sync does.
import {basename} from 'node:path'
import type {Action, Command, Plan} from '../core/actions.js'
import {UsageError} from '../core/errors.js'
import type {LabModel} from '../model/types.js'
import {PlanBuilder} from '../plan/builder.js'
import {canonical} from '../plan/undo-check.js'
import {driver} from '../tools/index.js'
import {wholeTables} from '../tools/iptables-restore.js'
import {compilePlan} from './plan.js'

export interface ApplyPlan {
  plan: Plan
  /** what changes, one line each ("+ pod web-2 on node-0 (10.244.0.4)"); empty: nothing */
  changes: string[]
  /** the whole plan of the new model: what a fresh `up` would run, and the lab's plan.json once the change has run */
  full: Plan
}

// what an action does, as one string (env's keys come in the order the one compiler writes them)
const keyOf = (c: Command) => `${c.netns}\t${c.tool}\t${c.args.join('\u001f')}\t${c.stdin ?? ''}\t${c.env ? JSON.stringify(c.env) : ''}`
const TABLE_TOOLS = new Set(['iptables', 'iptables-restore'])
/** a tool that writes a node's tables (iptables, kube-proxy's iptables-restore and nft): rewritten whole by tables(), never diffed line by line */
const isTable = (t: string) => TABLE_TOOLS.has(t) || t === 'nft'
const command = (a: Command): Command => ({
  tool: a.tool,
  netns: a.netns,
  args: a.args,
  ...(a.stdin === undefined ? {} : {stdin: a.stdin}),
  ...(a.env ? {env: a.env} : {}),
  ...(a.cni ? {cni: a.cni} : {}),
})

/** The namespace an action belongs to: the one it creates, the one whose deletion undoes it, the pod a CNI call is for, or where it runs. */
function home(a: Action): string | null {
  if (a.creates) return a.creates
  if (a.tool === 'cni' && a.env?.CNI_NETNS) return basename(a.env.CNI_NETNS)
  if (a.undo.kind === 'netns') return a.undo.netns
  return a.netns
}

/** The cable ends a root `ip link add` makes (`name X netns A … peer name Y netns B`): [A, X], [B, Y]. */
function endsOf(a: Action): [string, string][] {
  if (a.netns !== null || a.tool !== 'ip' || a.args[0] !== 'link' || a.args[1] !== 'add') return []
  const args = a.args
  return args.flatMap((w, i): [string, string][] => {
    const ns = w === 'name' ? args.indexOf('netns', i) : -1
    return ns > 0 ? [[args[ns + 1], args[i + 1]]] : []
  })
}

/** Cable ends made from the root namespace: "A\0X" → the namespace whose deletion removes them. */
function cableEnds(plan: Plan): Map<string, string> {
  const ends = new Map<string, string>()
  for (const a of plan.actions) {
    if (a.undo.kind !== 'netns') continue
    for (const [ns, dev] of endsOf(a)) ends.set(`${ns}\0${dev}`, a.undo.netns)
  }
  return ends
}

/** Deleting a cable end (and with it the whole cable) in the namespace that holds it. */
const unplug = ([netns, dev]: [string, string]): Command => ({tool: 'ip', netns, args: ['link', 'del', dev]})

/** The words of an action that may name a device: its arguments, or a sysctl key's parts. */
const deviceWords = (a: Action): string[] => (a.tool === 'sysctl' ? a.args[0].split('=')[0].split('.') : a.args)

/** The namespace whose deletion takes the device an action in a staying namespace is about (a node's end of a pod's cable), if any. */
function deviceOwner(a: Action, ends: Map<string, string>): string | undefined {
  if (a.netns === null) return undefined
  for (const w of deviceWords(a)) {
    const owner = ends.get(`${a.netns}\0${w}`)
    if (owner !== undefined && owner !== a.netns) return owner
  }
  return undefined
}

/**
 * The device an `ip link add` makes in a namespace ("netns\0name"), if the action is one: inside
 * it, or from the root namespace straight into it (a bridge; not a cable, whose ends go with
 * their namespaces).
 */
function linkMade(a: Action): string | undefined {
  if (a.tool !== 'ip' || a.args[0] !== 'link' || a.args[1] !== 'add') return undefined
  const into = a.args.indexOf('netns')
  const netns = a.netns ?? (into > 0 && !a.args.includes('peer') ? a.args[into + 1] : null)
  return netns === null ? undefined : `${netns}\0${a.args[2] === 'name' ? a.args[3] : a.args[2]}`
}

/**
 * Of `actions` (in a namespace that stays), those about a device that one of them makes (its
 * address, its state, its settings: the bridge a node has only while it has pods): they come and
 * go with the device, which is made or deleted as one.
 */
function withDevices(actions: Action[]): Map<Action, string> {
  const made = new Set(actions.map(linkMade).filter((d) => d !== undefined))
  const out = new Map<Action, string>()
  for (const a of actions) {
    const dev =
      linkMade(a) ??
      (a.netns === null
        ? undefined
        : deviceWords(a)
            .map((w) => `${a.netns}\0${w}`)
            .find((d) => made.has(d)))
    if (dev !== undefined) out.set(a, dev)
  }
  return out
}

/** What `after` has that `before` had under the same name but made differently (a pod moved to another node, an external host given another address): deleted and made again. */
function replaced(before: LabModel, after: LabModel): Set<string> {
  const out = new Set<string>()
  const pods = new Map(before.nodes.flatMap((n) => n.pods.map((p) => [p.netns, `${p.node} ${p.ip} ${p.mac}`])))
  for (const p of after.nodes.flatMap((n) => n.pods)) {
    const was = pods.get(p.netns)
    if (was !== undefined && was !== `${p.node} ${p.ip} ${p.mac}`) out.add(p.netns)
  }
  const ext = new Map(before.external.map((e) => [e.netns, `${e.ip} ${e.vpc} ${e.segment}`]))
  for (const e of after.external) {
    const was = ext.get(e.netns)
    if (was !== undefined && was !== `${e.ip} ${e.vpc} ${e.segment}`) out.add(e.netns)
  }
  return out
}

interface Sides {
  oldPlan: Plan
  newPlan: Plan
  /** namespaces that leave (or are made again) and that come (or are made again) */
  gone: Set<string>
  fresh: Set<string>
  oldEnds: Map<string, string>
  newEnds: Map<string, string>
}

function sides(before: LabModel, after: LabModel, owner: string | undefined): Sides {
  const oldPlan = compilePlan(before, {owner})
  const newPlan = compilePlan(after, {owner})
  const made = (p: Plan) => new Set(p.actions.filter((a) => a.creates).map((a) => a.creates!))
  const [was, now] = [made(oldPlan), made(newPlan)]
  const again = replaced(before, after)
  const gone = new Set([...was].filter((ns) => !now.has(ns) || again.has(ns)))
  const fresh = new Set([...now].filter((ns) => !was.has(ns) || again.has(ns)))
  return {oldPlan, newPlan, gone, fresh, oldEnds: cableEnds(oldPlan), newEnds: cableEnds(newPlan)}
}

/** Which namespace an action of a plan goes with when namespaces come or go: its own, or the one that owns the device it is about. */
function unitOf(a: Action, ends: Map<string, string>, moving: Set<string>): string | undefined {
  // the device's owner first: a node's line about its pod's cable is built again with the pod, once the cable is there
  const d = deviceOwner(a, ends)
  if (d !== undefined && moving.has(d)) return d
  const h = home(a)
  return h !== null && moving.has(h) ? h : undefined
}

const cannot = (a: Action) =>
  new UsageError(
    `netlab apply cannot change this in place: ${a.tool} ${a.args.join(' ')} (${a.why}) in ${a.netns ?? 'the root namespace'}; it needs "netlab down" and "netlab up"`,
  )

/** The inverse of an action in a namespace that stays, or a UsageError: the change cannot be made in place. */
function inverseOf(a: Action): Command[] {
  const inv = driver(a.tool).inverse?.(a)
  if (!inv) throw cannot(a)
  return inv.map(command) // the commands alone: nothing of the action (its id, its phase) comes along
}

/** Per staying namespace: its table-writing actions in a plan, in order. */
function tablesBy(plan: Plan, tool: (t: string) => boolean, moving: Set<string>): Map<string, Action[]> {
  const out = new Map<string, Action[]>()
  for (const a of plan.actions) {
    if (a.netns === null || !tool(a.tool) || moving.has(a.netns)) continue
    out
      .set(a.netns, out.get(a.netns) ?? [])
      .get(a.netns)!
      .push(a)
  }
  return out
}

const sameList = (x: Action[] | undefined, y: Action[] | undefined) => (x ?? []).map(keyOf).join('\n') === (y ?? []).map(keyOf).join('\n')

const NFT_RESET = 'add table ip kube-proxy\ndelete table ip kube-proxy\n'
const nftText = (as: Action[] | undefined) => NFT_RESET + (as ?? []).map((a) => (a.stdin ?? '').replace(/\n?$/, '\n')).join('')

export function compileApply(before: LabModel, after: LabModel, opts: {owner?: string} = {}): ApplyPlan {
  const s = sides(before, after, opts.owner)
  const {oldPlan, newPlan} = s
  const b = new PlanBuilder(after.lab)
  const oldKeys = new Set(oldPlan.actions.map(keyOf))
  const newKeys = new Set(newPlan.actions.map(keyOf))
  removals(b, s, newKeys)
  additions(b, s, oldKeys)
  tables(b, s)
  return {plan: b.build(), changes: changesOf(before, after), full: newPlan}
}

/** How a leaving namespace is named in the change's words: the first part of its creation's why ("pod a (on node-0)"). */
const memberOf = (acts: Action[], ns: string) => acts.find((a) => a.creates)?.why.split(';')[0] ?? ns

/** A leaving namespace's actions that build it again: it, and what deleting it undoes. */
const rebuildOf = (acts: Action[]) => acts.filter((a) => a.creates || a.undo.kind === 'netns').map(command)

/** A leaving namespace's cable ends in namespaces that stay (a fabric port, a node's end of a pod's cable): deleted first. */
function unplugsOf(ns: string, s: Sides): Command[] {
  return [...s.oldEnds]
    .filter(([end, owner]) => owner === ns && !s.gone.has(end.split('\0')[0]))
    .map(([end]) => unplug(end.split('\0') as [string, string]))
}

/** Everything that leaves: actions of staying namespaces taken back, then each leaving namespace (its CNI DELs, then itself). */
function removals(b: PlanBuilder, s: Sides, newKeys: Set<string>): void {
  const {oldPlan, gone, oldEnds} = s
  const units = new Map<string, Action[]>()
  const takeBack: Action[] = []
  for (const a of oldPlan.actions) {
    const unit = unitOf(a, oldEnds, gone)
    if (unit !== undefined)
      units
        .set(unit, units.get(unit) ?? [])
        .get(unit)!
        .push(a)
    else if (!newKeys.has(keyOf(a)) && !(a.netns !== null && isTable(a.tool))) takeBack.push(a)
  }
  if (takeBack.length === 0 && units.size === 0) return
  // last made, first deleted: pods before their node; each namespace's own undo steps (CNI DELs) before it
  const order = [...units.keys()].sort((x, y) => units.get(y)![0].id - units.get(x)![0].id)
  const unplugs = new Map(order.map((ns) => [ns, unplugsOf(ns, s)]))
  const devices = withDevices(takeBack)
  const back = (a: Action) => (a.undo.kind === 'commands' ? a.undo.commands : inverseOf(a))
  const unroute = takeBack.filter((x) => !devices.has(x)).reverse()
  if (unroute.length > 0) {
    b.phase({
      id: 'apply-unroute',
      title: 'Take back what pointed at what leaves',
      why:
        'On the namespaces that stay, each route, neighbour, forwarding entry or setting that the ' +
        "new topology no longer has is taken back: the route controller withdrawing a node's " +
        'route, a VPC route table losing its entry, a VXLAN peer forgotten.',
      scope: 'lab',
    })
    for (const a of unroute) back(a).forEach((c, i) => b.change(c, `no longer: ${a.why}`, i === 0 ? [command(a)] : []))
  }
  // each leaving namespace's own undo steps (CNI DELs): a phase of their own, so they all end before any namespace goes
  const dels = order.flatMap((ns) =>
    units
      .get(ns)!
      .filter((a) => a.undo.kind === 'commands' && !a.creates)
      .reverse(),
  )
  if (dels.length > 0) {
    b.phase({
      id: 'apply-cni-del',
      title: "Call the CNI plugins' DEL for the pods that leave",
      why:
        "The kubelet's runtime calls DEL for each plugin of the chain, last first, before it " +
        "deletes a pod's namespace: the bridge plugin removes the pod's cable, host-local frees " +
        'its address, and the cached result goes.',
      scope: 'lab',
    })
    for (const a of dels) if (a.undo.kind === 'commands') a.undo.commands.forEach((c) => b.change(c, `no longer: ${a.why}`, [command(a)]))
  }
  const made = [...devices.keys()].filter((x) => linkMade(x) !== undefined).reverse()
  if (order.length === 0 && made.length === 0) return
  // The first step that takes a namespace away carries the undo of them all: each leaving
  // namespace deleted if it is still there and built again as the old plan built it, first
  // made first (a node before its pods, whose cables plug into it). It is undone even if it
  // failed itself: the steps of one phase run side by side, another may have run.
  const deletion = (ns: string) => {
    const creator = units.get(ns)!.find((a) => a.creates)
    return creator?.undo.kind === 'commands' ? creator.undo.commands : []
  }
  // (unplugged first: the old cable's end in a staying namespace would linger and block the new one)
  const remake = [...order].reverse().flatMap((ns) => [...unplugs.get(ns)!, ...deletion(ns), ...rebuildOf(units.get(ns)!)])
  let first = true
  const step = (c: Command, why: string) => {
    b.copy(c, why, {kind: 'commands', commands: first ? remake : []}, first)
    first = false
  }
  if ([...unplugs.values()].some((u) => u.length > 0)) {
    b.phase({
      id: 'apply-unplug',
      title: 'Unplug what leaves the lab',
      why:
        "Each pod, node or host that leaves is first unplugged: its cable's end on a node or the " +
        'fabric, which stays, is deleted at once. Left to the deletion of its namespace, it would ' +
        'linger a moment (the kernel cleans a deleted namespace up in the background), and a cable ' +
        'of the same name made again would find it there.',
      scope: 'lab',
    })
    for (const ns of order)
      for (const c of unplugs.get(ns)!) step(c, `${memberOf(units.get(ns)!, ns)} leaves the lab: first its cable's end in ${c.netns}`)
  }
  b.phase({
    id: 'apply-delete',
    title: 'Delete the namespaces that leave',
    why:
      'Each pod, node or host that leaves goes with its namespace, and its namespace takes with it ' +
      'every interface inside it. A device a staying node had only for what left (its bridge, ' +
      'once its last pod is gone) is deleted too.',
    scope: 'lab',
  })
  for (const ns of order) {
    const creator = units.get(ns)!.find((a) => a.creates)
    if (creator?.undo.kind !== 'commands') continue
    for (const c of creator.undo.commands)
      step(c, `${memberOf(units.get(ns)!, ns)} leaves the lab: its namespace goes, with everything in it`)
  }
  // deleted whole after what was cabled to it; undone by making it again as before
  for (const a of made) {
    const remake = [...devices].filter(([, d]) => d === linkMade(a)).map(([x]) => command(x))
    back(a).forEach((c, i) => b.change(c, `no longer: ${a.why}`, i === 0 ? remake : []))
  }
}

/** Everything new, in the new plan's phases and words. */
function additions(b: PlanBuilder, s: Sides, oldKeys: Set<string>): void {
  const {newPlan, fresh, newEnds} = s
  const added = newPlan.actions
    .map((a) => [a, unitOf(a, newEnds, fresh)] as const)
    .filter(([a, unit]) => unit !== undefined || !(oldKeys.has(keyOf(a)) || (a.netns !== null && isTable(a.tool))))
  // in a namespace that stays, what is about a device made here (a node's first pod: its bridge) goes with it
  const devices = withDevices(added.filter(([, unit]) => unit === undefined).map(([a]) => a))
  let phase: string | undefined
  for (const [a, unit] of added) {
    if (a.phase !== phase) {
      b.phase(newPlan.phases.find((p) => p.id === a.phase)!)
      phase = a.phase
    }
    if (a.creates) b.createNetns(a.creates, a.why)
    else if (a.undo.kind === 'commands' || (a.undo.kind === 'netns' && fresh.has(a.undo.netns))) {
      // a new cable to a namespace that stays is undone by deleting it there, at once (see removals)
      const staying = endsOf(a).filter(([ns]) => !fresh.has(ns))
      const undo = staying.length > 0 && a.undo.kind === 'netns' ? {kind: 'commands' as const, commands: staying.map(unplug)} : a.undo
      b.copy(command(a), a.why, undo, a.undoFailed)
    } else if (unit !== undefined || (devices.has(a) && linkMade(a) === undefined))
      b.change(command(a), a.why, []) // about a cable end of a new namespace, or a new device: it goes with it
    else b.change(command(a), a.why, inverseOf(a))
  }
}

/** Staying namespaces whose firewall or kube-proxy rules differ: their tables written again, whole, in one commit each. */
function tables(b: PlanBuilder, s: Sides): void {
  const moving = new Set([...s.gone, ...s.fresh])
  const ipt = (p: Plan) => tablesBy(p, (t) => TABLE_TOOLS.has(t), moving)
  const nft = (p: Plan) => tablesBy(p, (t) => t === 'nft', moving)
  const [oldIpt, newIpt, oldNft, newNft] = [ipt(s.oldPlan), ipt(s.newPlan), nft(s.oldPlan), nft(s.newPlan)]
  const netns = [...new Set([...oldIpt.keys(), ...newIpt.keys(), ...oldNft.keys(), ...newNft.keys()])]
  const changed = netns.filter((ns) => !sameList(oldIpt.get(ns), newIpt.get(ns)) || !sameList(oldNft.get(ns), newNft.get(ns)))
  if (changed.length === 0) return
  b.phase({
    id: 'apply-tables',
    title: 'Rewrite the firewall and kube-proxy tables that changed',
    why:
      "A Service's endpoints or a policy's peers changed, so these nodes' rules change: each node's " +
      'filter and nat tables are written again whole with iptables-restore, in one commit per table, ' +
      "as kube-proxy's full sync does (and kube-proxy's nftables table in one nft transaction). The " +
      'undo writes the old tables back the same way.',
    scope: 'netns',
  })
  for (const ns of changed) {
    if (!sameList(oldIpt.get(ns), newIpt.get(ns))) {
      const [was, now] = [wholeTables(oldIpt.get(ns) ?? []), wholeTables(newIpt.get(ns) ?? [])]
      b.change({tool: 'iptables-restore', netns: ns, args: [], stdin: now}, `${ns}: its filter and nat tables, as a fresh up writes them`, [
        {tool: 'iptables-restore', netns: ns, args: [], stdin: was},
      ])
    }
    if (!sameList(oldNft.get(ns), newNft.get(ns)))
      b.change(
        {tool: 'nft', netns: ns, args: ['-f', '-'], stdin: nftText(newNft.get(ns))},
        `${ns}: kube-proxy's nftables table, written again`,
        [{tool: 'nft', netns: ns, args: ['-f', '-'], stdin: nftText(oldNft.get(ns))}],
      )
  }
}

/** What changes, one line each, for the user. */
function changesOf(before: LabModel, after: LabModel): string[] {
  const out: string[] = []
  const name = <T extends {name: string}>(list: T[]) => new Map(list.map((x) => [x.name, x]))
  const [n0, n1] = [name(before.nodes), name(after.nodes)]
  for (const n of after.nodes) if (!n0.has(n.name)) out.push(`+ node ${n.name} (${n.ip}, pods ${n.podCIDR})`)
  for (const n of before.nodes) if (!n1.has(n.name)) out.push(`- node ${n.name} (${n.ip}) and its pods`)
  const [p0, p1] = [name(before.nodes.flatMap((n) => n.pods)), name(after.nodes.flatMap((n) => n.pods))]
  for (const p of p1.values()) {
    const was = p0.get(p.name)
    if (!was) out.push(`+ pod ${p.name} on ${p.node} (${p.ip})`)
    else if (was.node !== p.node || was.ip !== p.ip) out.push(`~ pod ${p.name}: ${was.node} ${was.ip} → ${p.node} ${p.ip}`)
    else if (canonical([was.labels, was.ports]) !== canonical([p.labels, p.ports])) out.push(`~ pod ${p.name}: labels or ports`)
  }
  for (const p of p0.values()) if (!p1.has(p.name)) out.push(`- pod ${p.name} (was on ${p.node}, ${p.ip})`)
  const [e0, e1] = [name(before.external), name(after.external)]
  for (const e of after.external) if (!e0.has(e.name)) out.push(`+ external ${e.name} (${e.ip})`)
  for (const e of before.external) if (!e1.has(e.name)) out.push(`- external ${e.name} (${e.ip})`)
  if (canonical(before.policies ?? null) !== canonical(after.policies ?? null)) out.push('~ network policies')
  if (canonical(before.services ?? null) !== canonical(after.services ?? null)) out.push('~ Services (or their endpoints)')
  if (canonical(before.namespaces ?? null) !== canonical(after.namespaces ?? null)) out.push('~ namespaces')
  return out
}
