// A Service's address translated: kube-proxy's DNAT, read from a node's nat table the way the
// kernel walks it (nat PREROUTING for a packet that comes in, nat OUTPUT for one the node makes
// itself) — KUBE-SERVICES → KUBE-SVC-… → KUBE-SEP-… DNAT, or KUBE-NODEPORTS → KUBE-EXT-… for a
// node port —, which endpoint the random choice (statistic) or the ClientIP affinity (recent)
// gives, and whether kube-proxy marked the packet for masquerade (KUBE-MARK-MASQ, done later by
// KUBE-POSTROUTING) and why. Only a connection's first packet is translated by the rules; its
// replies are by conntrack. Pure.
import type {LabModel, Member} from '../model/types.js'
import {evaluate, inCidr, parseSave, type Rule, type Table, type Verdict} from './iptables.js'
import {evaluateNft, nftCandidates, parseNft} from './nft.js'
import type {Candidate, Packet, Snapshot, TraceResult, Translation} from './types.js'

/** /proc/net/xt_recent as `grep -r . /proc/net/xt_recent` prints it: each list's source addresses. */
export function parseRecent(text: string | undefined): Map<string, Set<string>> {
  const lists = new Map<string, Set<string>>()
  for (const line of (text ?? '').split('\n')) {
    const m = /xt_recent\/([^:]+):src=(\S+)/.exec(line)
    if (m) lists.set(m[1], (lists.get(m[1]) ?? new Set()).add(m[2]))
  }
  return lists
}

const option = (r: Rule, name: string): string | undefined => {
  const i = r.args.indexOf(name)
  return i >= 0 ? r.args[i + 1] : undefined
}

/** Where a KUBE-SEP chain sends the packet: its DNAT's --to-destination. */
function dnatOf(nat: Table, chain: string): string | undefined {
  const r = nat.chains.get(chain)?.find((x) => option(x, '-j') === 'DNAT')
  return r && option(r, '--to-destination')
}

/**
 * The endpoints a Service's chain (KUBE-SVC/KUBE-SVL) chooses from, with the chance of each:
 * rule i of n is taken with its probability of what the rules before it left (1/n, 1/(n−1), …,
 * the last without a statistic match), after the affinity rules (recent --rcheck) had their say.
 */
function candidatesOf(nat: Table, chain: string): {candidates: Candidate[]; affinitySeconds?: number} {
  const out: Candidate[] = []
  let left = 1
  let affinitySeconds: number | undefined
  for (const r of nat.chains.get(chain) ?? []) {
    const target = option(r, '-j')
    const to = target && dnatOf(nat, target)
    if (!target || !to) continue
    if (r.args.includes('--rcheck')) {
      affinitySeconds = Number(option(r, '--seconds')) || affinitySeconds
      if (!out.some((c) => c.chain === target)) out.push({chain: target, to})
      continue
    }
    const p = option(r, '--probability')
    const chance = p === undefined ? left : left * Number(p)
    left -= chance
    const rule = p === undefined ? {} : {ruleProbability: Number(p)}
    const known = out.find((c) => c.chain === target)
    if (known) Object.assign(known, {probability: chance, ...rule})
    else out.push({chain: target, to, probability: chance, ...rule})
  }
  return {candidates: out, affinitySeconds}
}

/** Why kube-proxy marked the packet for masquerade, from the rule that jumped to KUBE-MARK-MASQ. */
function masqueradeWhy(r: Rule, packet: Packet): string {
  // an iptables rule's comment, or an nftables rule's (at the end of its text)
  const comment = option(r, '--comment') ?? /comment "([^"]*)"$/.exec(r.text)?.[1] ?? ''
  if (r.chain.startsWith('KUBE-SEP-') || r.chain.startsWith('endpoint-'))
    return (
      `hairpin: the endpoint is the client itself (${packet.src}); masqueraded, its reply comes back to this node ` +
      `to be un-translated instead of going straight to itself`
    )
  if (comment.startsWith('masquerade LOCAL') || comment === 'masquerade local traffic')
    return `the source ${packet.src} is this node's own address (addrtype LOCAL): the endpoint answers the node`
  if (r.chain.startsWith('KUBE-EXT-') || r.chain.startsWith('external-'))
    return (
      `to a node port with externalTrafficPolicy Cluster: the endpoint, maybe on another node, must answer through ` +
      `this node, so it sees this node's address and not the client's`
    )
  const outside =
    (r.args.indexOf('-s') > 0 && r.args[r.args.indexOf('-s') - 1] === '!' ? option(r, '-s') : undefined) ??
    /ip saddr != (\S+)/.exec(r.text)?.[1]
  const not = r.chain.startsWith('KUBE-') ? '! -s' : 'ip saddr !='
  if (outside)
    return `the source ${packet.src} is outside the cluster's pod range ${outside} (${not}): the endpoint answers this node, which un-translates the reply`
  return comment ? `"${comment}"` : r.text
}

/** Is `c` the endpoint named: by its KUBE-SEP chain, its address:port, or its address. */
export const isEndpoint = (c: Candidate, name: string): boolean => c.chain === name || c.to === name || c.to.split(':')[0] === name

/**
 * The DNAT a packet gets in this namespace, if any: `first` (made here) walks nat OUTPUT, else
 * nat PREROUTING. `prefer` names the KUBE-SEP chain (or the endpoint ip:port) the random choice
 * is to take; by default the first. undefined: no rule translates it.
 */
export function destinationNat(
  snap: Pick<Snapshot, 'iptables' | 'links' | 'recent' | 'nft'>,
  packet: Packet,
  iif: string | undefined,
  prefer?: string,
): Translation | undefined {
  if (packet.established) return undefined
  const tables = parseSave(snap.iptables)
  const nat = tables.get('nat')
  const local = new Set(snap.links.flatMap((l) => (l.addr_info ?? []).map((a) => a.local!)))
  const recent = parseRecent(snap.recent)
  const where = {iif, local, recent}
  const chain = iif === undefined ? 'OUTPUT' : 'PREROUTING'
  let v = nat && evaluate(tables, 'nat', chain, packet, where)
  if (v?.verdict !== 'dnat' || !v.toDestination) return nftDestinationNat(snap, packet, iif, prefer)
  const dispatch = v.path.at(-2)
  const {candidates, affinitySeconds} = dispatch && nat ? candidatesOf(nat, dispatch) : {candidates: []}
  const wanted = prefer ? candidates.find((c) => isEndpoint(c, prefer)) : undefined
  if (wanted && wanted.chain !== v.path.at(-1)) {
    const again = evaluate(tables, 'nat', chain, packet, {...where, prefer: wanted.chain})
    if (again?.verdict === 'dnat' && again.toDestination) v = again
  }
  return describe(v, packet, candidates, affinitySeconds)
}

/** The same, from kube-proxy's nftables table (nat prerouting/output: services → service-… → endpoint-… dnat). */
function nftDestinationNat(
  snap: Pick<Snapshot, 'links' | 'nft'>,
  packet: Packet,
  iif: string | undefined,
  prefer?: string,
): Translation | undefined {
  const table = parseNft(snap.nft)
  if (!table) return undefined
  const local = new Set(snap.links.flatMap((l) => (l.addr_info ?? []).map((a) => a.local!)))
  const hook = iif === undefined ? 'output' : 'prerouting'
  let v = evaluateNft(table, 'nat', hook, packet, {iif, local})
  if (v?.verdict !== 'dnat' || !v.toDestination) return undefined
  const dispatch = v.path.at(-2)
  const candidates = dispatch ? nftCandidates(table, dispatch) : []
  const wanted = prefer ? candidates.find((c) => isEndpoint(c, prefer)) : undefined
  if (wanted && wanted.chain !== v.path.at(-1)) {
    const again = evaluateNft(table, 'nat', hook, packet, {iif, local, prefer: wanted.chain})
    if (again?.verdict === 'dnat' && again.toDestination) v = again
  }
  const t = describe(v, packet, candidates)
  // the affinity sets: a client found in one goes to its endpoint (ip saddr @affinity-… goto endpoint-…)
  const affinity = v.via.at(-1)?.text.includes('@affinity-')
  const service = dispatch?.replace(/^(service|local|external)-[A-Z2-7]{8}-/, '')
  return {...t, how: affinity ? 'affinity' : t.how, service}
}

function describe(v: Verdict, before: Packet, candidates: Candidate[], affinitySeconds?: number): Translation {
  const jump = v.via.at(-1)
  const how = jump?.args.includes('--rcheck') ? 'affinity' : candidates.length > 1 ? 'random' : 'only'
  // the masquerade mark: the last MARK that went through KUBE-MARK-MASQ, and the rule that jumped there
  const marked = [...v.marks]
    .reverse()
    .find((rules) => ['KUBE-MARK-MASQ', 'mark-for-masquerade'].includes(rules.at(-1)?.chain ?? '') && rules.length > 1)
  const by = marked?.at(-2)
  const comment = v.rule && option(v.rule, '--comment')
  return {
    before,
    packet: {...before, dst: v.toDestination!.ip, port: v.toDestination!.port ?? before.port},
    path: v.path,
    rule: v.rule!.text,
    ruleNum: v.rule!.num,
    service: comment && !comment.includes(' ') ? comment : undefined,
    candidates,
    how,
    ...(affinitySeconds !== undefined ? {affinitySeconds} : {}),
    mark: v.mark,
    ...(by ? {masquerade: {chain: by.chain, rule: by.text, why: masqueradeWhy(by, before)}} : {}),
  }
}

/** The translation in words, one line each: the chain walk and the DNAT, the choice of endpoint, the masquerade mark. */
export function translationText(t: Translation): string[] {
  const to = `${t.packet.dst}${t.packet.port !== undefined ? `:${t.packet.port}` : ''}`
  const from = `${t.before.dst}${t.before.port !== undefined ? `:${t.before.port}` : ''}`
  const nft = t.path[0].startsWith('nat-')
  const lines = [
    `kube-proxy translates ${from} → ${to}${t.service ? ` (Service ${t.service})` : ''}: ` +
      `${nft ? 'table ip kube-proxy' : 'nat'} ${t.path.join(' → ')} rule ${t.ruleNum}: ${nft ? 'dnat' : 'DNAT'} to ${to}`,
  ]
  // each rule's --probability is of what the rules before it left: 1/n, 1/(n−1), …, the last takes the rest
  const chance = (c: Candidate) =>
    c.probability === undefined
      ? ''
      : ` (${c.ruleProbability !== undefined ? `--probability ${c.ruleProbability}` : 'the rest'} → ${pct(c.probability)})`
  const others = t.candidates.map((c) => `${c.to}${chance(c)}`)
  if (t.how === 'affinity' && nft)
    lines.push(
      `ClientIP affinity: ${t.before.src} is in ${t.path.at(-1)!.replace(/^endpoint-/, 'affinity-')}, the endpoint's set (it was sent there ` +
        `before), so ip saddr @affinity-… sends it to ${to} again`,
    )
  else if (t.how === 'affinity')
    lines.push(
      `ClientIP affinity: ${t.before.src} is in ${t.path.at(-1)}'s recent list (it was sent there before), so recent --rcheck ` +
        `sends it to ${to} again${t.affinitySeconds ? ` (while it comes back within ${t.affinitySeconds} s)` : ''}`,
    )
  else if (t.how === 'random') {
    lines.push(
      nft
        ? `the endpoint is chosen at random by ${t.path.at(-2)}'s numgen random mod ${t.candidates.length} vmap: ` +
            `${t.candidates.map((c) => `${c.to} (${pct(c.probability ?? 0)})`).join(', ')}; trace follows ${to}`
        : `the endpoint is chosen at random by ${t.path.at(-2)}'s statistic rules, in order: ${others.join(', ')}; trace follows ${to}`,
    )
    if (t.affinitySeconds)
      lines.push(
        `ClientIP affinity: ${t.before.src} is in no endpoint's recent list yet; the one chosen remembers it (recent --set) ` +
          `and gets it again for ${t.affinitySeconds} s`,
      )
  } else if (t.affinitySeconds)
    lines.push(`ClientIP affinity: the only endpoint; it remembers ${t.before.src} (recent --set) for ${t.affinitySeconds} s`)
  if (t.masquerade)
    lines.push(
      nft
        ? `marked for masquerade (mark-for-masquerade, from ${t.masquerade.chain}): ${t.masquerade.why}; masquerading (nat-postrouting) masquerades it on the way out`
        : `marked for masquerade (KUBE-MARK-MASQ, from ${t.masquerade.chain}): ${t.masquerade.why}; KUBE-POSTROUTING masquerades it on the way out`,
    )
  return lines
}

const pct = (p: number) => `${Math.round(p * 1000) / 10}%`

/**
 * kube-proxy's nftables mode, its table not readable at this node (no nft, or no table: a node
 * whose rules are gone): a packet that mode would translate here — to a ClusterIP, or to a node
 * port of this node — stops the trace with that said, rather than be followed as if nothing
 * translated it. The reason, or undefined when the packet is none of those, the table is read, or
 * the lab's mode is iptables (read from iptables-save).
 */
export function unreadTranslation(model: LabModel, member: Member, packet: Packet, snap: Pick<Snapshot, 'nft'>): string | undefined {
  const services = model.services
  const node = model.nodes.find((n) => n.netns === member.netns)
  if (services?.proxy !== 'nftables' || !node || packet.established || packet.proto === 'icmp' || parseNft(snap.nft)) return undefined
  const toService = inCidr(packet.dst, services.serviceCIDR)
  const toNodePort = packet.dst === node.ip && services.list.some((s) => s.ports.some((p) => p.nodePort === packet.port))
  if (!toService && !toNodePort) return undefined
  return (
    `${member.name}'s kube-proxy (nftables mode) decides where ${packet.dst}:${packet.port} goes, but its table ip kube-proxy ` +
    `could not be read there (nft -j list table ip kube-proxy): see ip netns exec ${member.netns} nft list table ip kube-proxy`
  )
}

/**
 * A translated packet's reply, as traced back (`back`: from where it arrived to the address it
 * came from there, as a reply): it must pass the node that translated it, seen by its netfilter,
 * where conntrack gives it the Service's address back as its source (and, masqueraded, the
 * client's as its destination). A reply that goes another way — or only across that node's bridge
 * with br_netfilter off — reaches the client from an address it never sent to, and is dropped.
 */
export function replyVerdict(
  t: TraceResult,
  back: TraceResult,
): {reply: NonNullable<TraceResult['reply']>; problem?: TraceResult['problem']} {
  const natHop = t.hops.find((h) => h.translation)!
  const tr = natHop.translation!
  const service = `${tr.before.dst}${tr.before.port !== undefined ? `:${tr.before.port}` : ''}`
  const endpoint = `${t.packet.dst}${t.packet.port !== undefined ? `:${t.packet.port}` : ''}`
  const hops = back.hops.map((h) => h.member)
  const head = `the reply ${endpoint} → ${t.packet.src}`
  if (back.problem || !back.delivered) {
    const text = `${head}: ${back.summary}`
    return {reply: {text, hops}, problem: back.problem && {...back.problem, reason: `${head}: ${back.problem.reason}`}}
  }
  if (!back.hops.some((h) => h.member === natHop.member && !h.unfiltered)) {
    const by = hops.includes(natHop.member)
      ? `crossing ${natHop.member} (where the DNAT was made) only as a frame its bridge forwards, which its netfilter never sees (br_netfilter off)`
      : `not by ${natHop.member}, where the DNAT was made`
    const reason =
      `${head} goes ${hops.join(' → ')}, ${by}: conntrack there never gives it ${service} back as ` +
      `its source, so ${t.from} gets an answer from ${endpoint}, which it never asked, and drops it`
    return {reply: {text: reason, hops}, problem: {member: natHop.member, kind: 'reply', reason}}
  }
  const masq = t.packet.src !== tr.before.src
  const text =
    `${head} comes back ${hops.join(' → ')}; at ${natHop.member} conntrack undoes the translation ` +
    `(its source becomes ${service} again${masq ? `, its destination ${tr.before.src} again` : ''}), ` +
    (masq ? `and ${natHop.member} forwards it on to ${t.from}, ` : '') +
    `so ${t.from} gets its answer from the address it asked`
  return {reply: {text, hops}}
}
