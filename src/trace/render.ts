// A trace as text: one numbered hop a member, what the kernel does with the packet there (and a
// Service's translation), the firewall rule that decides it, where and why it stops, and a
// translated packet's way back. Pure.
import {translationText} from './nat.js'
import type {Hop, TraceResult} from './types.js'

/** The one-line verdict: "web-0 → db: stops at node-1: …", "…: arrives, but at node-0: …", "…: arrives (web-0 → node-0 → …)". */
export function summarize(from: string, to: string, hops: Hop[], delivered: boolean, problem: TraceResult['problem']): string {
  const path = `${from} → ${to}`
  if (!problem) return `${path}: arrives (${hops.map((h) => h.member).join(' → ')})`
  const verdict = !delivered ? 'stops at' : problem.kind === 'mtu' ? 'arrives, but at' : 'trace says it arrives, but at'
  return `${path}: ${verdict} ${problem.member}: ${problem.reason}`
}

export function renderTrace(t: TraceResult): string {
  // the packet as sent: before a Service's translation, if one was made on the way
  const p = t.hops.find((h) => h.translation)?.translation?.before ?? t.packet
  const what = p.proto === 'icmp' ? 'ping (icmp)' : `${p.proto}${p.port !== undefined ? `/${p.port}` : ''}`
  const to = t.to.includes(p.dst) ? t.to : `${t.to} (${p.dst})`
  const lines = [`trace ${t.from} → ${to}, ${what}, lab ${t.lab}: read from each namespace's kernel state`, '']
  t.hops.forEach((h, i) => {
    lines.push(`${i + 1}. ${h.member} (${h.kind})${h.in ? `, in by ${h.in}` : ''}`)
    if (h.translation) lines.push(...translationText(h.translation).map((l) => `   ${l}`))
    if (!h.problem || h.problem.kind === 'mtu' || h.problem.kind === 'unseen') lines.push(`   ${h.text}`)
    if (h.firewall) lines.push(`   iptables: ${h.firewall}`)
    if (h.counted) lines.push(`   seen: ${h.counted}`)
    if (h.problem)
      lines.push(
        `   ✗ ${h.problem.kind === 'mtu' ? 'problem' : h.problem.kind === 'unseen' ? 'seen stopping here' : 'stops here'}: ${h.problem.reason}`,
      )
  })
  if (t.reply) lines.push('', t.reply.text)
  lines.push('', t.summary)
  return lines.join('\n')
}
