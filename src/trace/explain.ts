// `netlab probe` explains its failures with trace: one line per failed check, where the packet
// stops and why ("web-0 → db: stops at node-1: no route to 10.244.9.10"). A packet that gets
// through is followed back, to the address its destination saw (the reply may be what is lost). Cost is bounded: only failures, each
// distinct pair and protocol traced once, at most MAX_TRACED of them, a few at a time, and every
// namespace read once for all of them. A pod's own-address check that fails because its peers saw
// it rewritten is explained by the trace that found the rewrite.
import {pool} from '../exec/executor.js'
import type {LabModel, Member} from '../model/types.js'
import type {ProbeReport, ProbeResult} from '../probe/types.js'
import type {Cache} from './read.js'
import {traceLab} from './trace.js'
import type {Proto, TraceResult} from './types.js'

const MAX_TRACED = 20

/** a Service's probe says its port; a policy probe "tcp/5432" → tcp, 5432; anything else is a ping's path */
function protoOf(r: ProbeResult): {proto: Proto; port?: number} {
  if (r.service) return {proto: r.service.proto, port: r.service.port}
  const m = /^(tcp|udp)\/(\d+)/.exec(r.policy?.service ?? '')
  return m ? {proto: m[1] as Proto, port: Number(m[2])} : {proto: 'icmp'}
}

/** Explain the report's failures in place (`explanation` on each); returns how many were traced and not. */
export async function explainFailures(lab: string, model: LabModel, report: ProbeReport): Promise<ProbeReport['explained']> {
  const byKey = new Map<string, ProbeResult[]>()
  for (const c of report.checks)
    for (const r of c.results) {
      // a member's probe of itself is explained by its peers' (explainSelf), but a Service's is a path of its own
      if (r.ok || (r.src.name === r.dst.name && !r.service)) continue
      const {proto, port} = protoOf(r)
      const key = `${r.src.name}|${r.dst.name}|${r.dst.ip}|${proto}|${port}`
      byKey.set(key, [...(byKey.get(key) ?? []), r])
    }
  const keys = [...byKey.keys()]
  const cache: Cache = new Map()
  const member = (name: string) => model.members.find((m) => m.name === name)
  await pool(keys.slice(0, MAX_TRACED), 4, async (key) => {
    const results = byKey.get(key)!
    const r = results[0]
    const [from, to] = [member(r.src.name), member(r.dst.name)]
    // a Service (a ClusterIP, or a NodePort on a node) is no member: trace follows its DNAT, and the reply back through it, itself
    const service = r.dst.kind === 'service' || r.service !== undefined
    if (!from || (!to && !service)) return
    let line: string
    try {
      const there = await traceLab(lab, model, from, r.dst.ip, protoOf(r), cache)
      line = there.summary
      const ends = model.members.find((m) => m.name === there.hops.at(-1)?.member)
      // a Service's packet that no rule translated ends at the node whose address it was sent to
      if (service && there.delivered && !there.problem && ends?.kind === 'node')
        line += `: no kube-proxy rule sent ${protoOf(r).proto}/${protoOf(r).port} on to an endpoint, so it reached ${ends.name} itself, where nothing serves it`
      if (there.delivered && !there.problem && !service)
        line = await followReply(lab, model, there, {to: to!, src: r.src.ip, ...protoOf(r)}, cache)
    } catch (error) {
      line = `could not trace: ${(error as Error).message}`
    }
    for (const x of results) x.explanation = line
  })
  explainSelf(report)
  return {traced: Math.min(keys.length, MAX_TRACED), notTraced: Math.max(0, keys.length - MAX_TRACED)}
}

/**
 * A pod's own-address check (src = dst) fails because its peers saw another address: what rewrote
 * its packets is what the trace of one of its failing packets found (a masquerade, usually).
 */
function explainSelf(report: ProbeReport): void {
  const all = report.checks.flatMap((c) => c.results)
  for (const r of all) {
    if (r.ok || r.src.name !== r.dst.name || r.explanation) continue
    const peer = all.find(
      (x) => !x.ok && x.src.name === r.src.name && x.dst.name !== r.src.name && / masquerades \S+ → /.test(x.explanation ?? ''),
    )
    if (peer) r.explanation = `its peers see another address: ${peer.explanation}`
  }
}

/**
 * The reply to a packet that arrived: back to the address the destination saw. Masqueraded on
 * the way, that is the masquerading member's, where conntrack gives the reply its real
 * destination back and forwards it on: trace it to there, then on from there, as it comes in.
 */
async function followReply(
  lab: string,
  model: LabModel,
  there: TraceResult,
  back: {to: Member; src: string; proto: Proto; port?: number},
  cache: Cache,
): Promise<string> {
  const opts = {proto: back.proto, port: back.port}
  const seenAs = there.packet.src
  const natAt = there.hops.find((h, i) => i > 0 && h.src === seenAs && there.hops[i - 1].src !== seenAs)
  const masq = seenAs !== back.src && natAt ? model.members.find((m) => m.name === natAt.member) : undefined
  // to the address the destination saw: the one the source's kernel picked (a VXLAN node's flannel.1), or its masquerade
  const toNat = await traceLab(lab, model, back.to, seenAs, opts, cache)
  if (toNat.problem || !toNat.delivered || !masq)
    return toNat.problem || !toNat.delivered
      ? `${there.from} → ${there.to} arrives; the reply ${toNat.summary}`
      : `trace finds the path clear both ways (${there.hops.map((h) => h.member).join(' → ')}): the kernel's state does not explain it`
  const enter = {iif: toNat.hops.at(-1)!.in!, src: toNat.packet.src}
  const on = await traceLab(lab, model, masq, back.src, {...opts, enter}, cache)
  const via = `${there.from} → ${there.to} arrives as ${seenAs} (masqueraded by ${masq.name}); the reply comes back to ${masq.name}, which un-masquerades it`
  return on.problem || !on.delivered
    ? `${via}: ${on.summary}`
    : `trace finds the path clear both ways (${there.hops.map((h) => h.member).join(' → ')}, the reply through ${masq.name}): the kernel's state does not explain it`
}
