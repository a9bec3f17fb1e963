// `netlab trace --confirm`: see the path, not only predict it. One real ping goes from the
// source to the destination (a lab address: nothing leaves the lab), and each hop's interface
// packet counters (`ip -j -s link`) are read before and after, all namespaces in one fan-out
// each time; a hop whose way in counted the packet but whose way out did not is where it stopped.
// The counts are evidence: where they contradict the verdict (0 packets where trace says it
// passes, or no reply to a packet trace says arrives), the verdict changes (./reconcile below).
// Through a Service, the real packet is one connection (tcp or udp, from the source to the
// Service's address) instead of the ping, and the counters of kube-proxy's DNAT rules at the node that translates are read
// before and after: which endpoint the kernel really chose.
import {tmpdir} from 'node:os'
import {readInNamespaces} from '../exec/fanout.js'
import type {LabModel} from '../model/types.js'
import {ownerOf} from './hop.js'
import {parseSave} from './iptables.js'
import {summarize} from './render.js'
import type {Hop, TraceResult, Translation} from './types.js'
import {plural} from '../core/plural.js'

type Problem = NonNullable<TraceResult['problem']>

/** interface name -> packets received and sent */
export type Counters = Map<string, {rx: number; tx: number}>

export function parseCounters(json: string): Counters {
  const out: Counters = new Map()
  try {
    for (const l of JSON.parse(json) as {ifname: string; stats64?: {rx?: {packets?: number}; tx?: {packets?: number}}}[])
      out.set(l.ifname, {rx: l.stats64?.rx?.packets ?? 0, tx: l.stats64?.tx?.packets ?? 0})
  } catch {
    // unreadable: no counters for this hop
  }
  return out
}

/** A hop's counters' change: packets in by its way in, out by its way out (undefined: not read, or not asked). */
export interface Seen {
  in?: number
  out?: number
}

export function countedAt(hop: Hop, before: Counters, after: Counters): Seen {
  const delta = (dev: string | undefined, dir: 'rx' | 'tx') =>
    dev && before.has(dev) && after.has(dev) ? after.get(dev)![dir] - before.get(dev)![dir] : undefined
  return {in: delta(hop.in, 'rx'), out: hop.problem && hop.problem.kind !== 'mtu' ? undefined : delta(hop.out, 'tx')}
}

/** "in by cni0: 1 packet, out eth0: 1 packet" — the counters' change at one hop (ARP counts too) */
export function countedText(hop: Hop, before: Counters, after: Counters): string | undefined {
  const seen = countedAt(hop, before, after)
  const n = (k: number) => plural(k, 'packet')
  const parts: string[] = []
  if (seen.in !== undefined) parts.push(`in by ${hop.in}: ${n(seen.in)}`)
  if (seen.out !== undefined) parts.push(`out ${hop.out}: ${n(seen.out)}`)
  return parts.length ? parts.join(', ') : undefined
}

/**
 * Where a real packet's counts contradict the trace: the first way in or out it should have passed
 * that counted nothing (a count above 0 may be ARP; 0 is certain), or, all counted, a ping trace
 * says arrives that got no reply. Pure; undefined when they agree.
 */
export function contradiction(t: TraceResult, seen: Seen[], replied: boolean, what = 'ping'): {problem: Problem; hop?: number} | undefined {
  const unseen = (member: string, reason: string, hop?: number) => ({problem: {member, kind: 'unseen' as const, reason}, hop})
  const model = 'something trace does not model stops it there'
  for (const [i, h] of t.hops.entries()) {
    if (h.problem && h.problem.kind !== 'mtu') break // the verdict already says it stops here
    const prev = t.hops[i - 1]
    if (seen[i].in === 0)
      return unseen(
        h.member,
        `a real packet never came in: ${h.member}'s ${h.in} counted 0 packets` +
          (prev?.out ? ` (${prev.member} sent it out ${prev.out})` : '') +
          `; ${model}`,
        i,
      )
    if (i < t.hops.length - 1 && seen[i].out === 0)
      return unseen(h.member, `a real packet came in but never went out: ${h.member}'s ${h.out} counted 0 packets; ${model}`, i)
  }
  if (t.delivered && !t.problem && !replied)
    return unseen(
      t.to,
      `a real ${what} got no reply, though every hop counted packets (ARP counts too): it or its reply is lost ` +
        `where trace cannot see — try trace ${t.to} ${t.from}`,
    )
  return undefined
}

/** The packet counts of the DNAT rules of a translation's endpoints (KUBE-SEP chain -> packets), from `iptables-save -c`. */
export function dnatCounts(save: string, t: Translation): Map<string, number> {
  const nat = parseSave(save).get('nat')
  return new Map(t.candidates.map((c) => [c.chain, nat?.chains.get(c.chain)?.find((r) => r.args.includes('DNAT'))?.packets ?? 0]))
}

/**
 * What one real connection's counts say of a translation: which endpoint's DNAT rule counted it
 * (kube-proxy's real choice), or that none did (the rules trace read did not translate it). Pure.
 */
export function connectionSeen(
  t: Translation,
  before: Map<string, number>,
  after: Map<string, number>,
): {text: string; unseen?: string; followed?: boolean} {
  const counted = t.candidates.filter((c) => (after.get(c.chain) ?? 0) > (before.get(c.chain) ?? 0))
  const real = t.before.proto === 'udp' ? 'a real datagram' : 'a real connection'
  const followed = t.path.at(-1)
  if (counted.length === 0)
    return {
      text: `${real}: no DNAT rule of the Service counted it`,
      unseen: `${real} to ${t.before.dst}:${t.before.port} was not translated by ${t.path.slice(1).join(' → ')} (its DNAT rules counted nothing); something trace does not model took it`,
    }
  const names = counted.map((c) => `${c.chain} (DNAT to ${c.to})`).join(', ')
  const other = counted.every((c) => c.chain !== followed)
  return {
    text:
      `${real} went through ${names}: its DNAT rule counted it` +
      (other ? ` (kube-proxy chose another endpoint than the one traced; --endpoint ${counted[0].to} follows it)` : ''),
    followed: !other,
  }
}

/** One real connection to the Service (what the translating hop's counters are read around): bash's /dev/tcp, /dev/udp. */
function connectArgv(t: Translation): string[] {
  const script = t.before.proto === 'udp' ? 'echo netlab-trace >/dev/udp/$0/$1' : 'exec 3<>/dev/tcp/$0/$1'
  return ['timeout', '2', 'bash', '-c', script, t.before.dst, String(t.before.port)]
}

/** Send one ping along the trace and put each hop's counted packets on it; false when the destination is not the lab's. */
export async function confirmTrace(model: LabModel, t: TraceResult): Promise<boolean> {
  const src = model.members.find((m) => m.name === t.from)
  if (!src || (!ownerOf(model, t.packet.dst) && !model.services?.list.some((x) => x.clusterIP === t.packet.dst))) return false
  const netns = [...new Set(t.hops.map((h) => model.members.find((m) => m.name === h.member)!.netns))]
  const opts = {parallel: 4, workDir: tmpdir()}
  const read = async () =>
    (
      await readInNamespaces(
        netns.map((ns) => ({netns: ns, argv: ['ip', '-j', '-s', 'link', 'show']})),
        opts,
      )
    ).map((r) => parseCounters(r.out))
  // through a Service the real packet is a connection to it (a ping is not translated), and the DNAT counters are read around it
  const at = t.hops.findIndex((h) => h.translation?.before.port !== undefined)
  const tr = t.hops[at]?.translation
  const natNetns = tr && model.members.find((m) => m.name === t.hops[at].member)!.netns
  const save = async () => dnatCounts((await readInNamespaces([{netns: natNetns!, argv: ['iptables-save', '-c']}], opts))[0].out, tr!)
  const dnatBefore = tr && (await save())
  const before = await read()
  const argv = tr ? connectArgv(tr) : ['ping', '-c', '1', '-W', '1', '-n', t.packet.dst]
  const [sent] = await readInNamespaces([{netns: src.netns, argv}], opts)
  const after = await read()
  const seen = t.hops.map((h) => {
    const i = netns.indexOf(model.members.find((m) => m.name === h.member)!.netns)
    h.counted = countedText(h, before[i], after[i])
    return countedAt(h, before[i], after[i])
  })
  // a tcp connect answered (accepted, or refused: no server there) had its answer; a udp datagram's is not waited for
  const replied = sent.code === 0 || (!!tr && /refused/i.test(sent.err))
  t.confirm = {reply: replied}
  let c: ReturnType<typeof contradiction>
  if (tr && tr.path[0].startsWith('nat-'))
    // kube-proxy's nftables rules keep no counters: the interfaces' are all there is
    t.hops[at].counted = [t.hops[at].counted, "kube-proxy's nftables rules keep no counters: which endpoint the kernel chose is not seen"]
      .filter(Boolean)
      .join('; ')
  else if (tr) {
    const conn = connectionSeen(tr, dnatBefore!, await save())
    t.hops[at].counted = [t.hops[at].counted, conn.text].filter(Boolean).join('; ')
    // the interfaces' counts speak of the traced path only when the kernel chose the traced endpoint
    if (conn.unseen) c = {problem: {member: t.hops[at].member, kind: 'unseen', reason: conn.unseen}, hop: at}
    else if (conn.followed && t.packet.proto === 'tcp') c = contradiction(t, seen, replied, 'connection')
  } else if (t.packet.proto === 'icmp') c = contradiction(t, seen, replied)
  // (otherwise the ping is not the traced packet: a policy may pass tcp/5432 and refuse a ping)
  if (c) {
    // the counts win over the model: where a hop counted nothing, the packet stops there
    t.problem = c.problem
    if (c.hop !== undefined) {
      t.hops[c.hop].problem = {kind: 'unseen', reason: c.problem.reason}
      t.delivered = false
    }
    t.summary = summarize(t.from, t.to, t.hops, t.delivered, c.problem)
  }
  return true
}
