// A trace as text: one numbered hop a member, what the kernel does with the packet there, the
// firewall rule that decides it, and where and why it stops. Pure.
import type {TraceResult} from './types.js'

export function renderTrace(t: TraceResult): string {
  const p = t.packet
  const what = p.proto === 'icmp' ? 'ping (icmp)' : `${p.proto}${p.port !== undefined ? `/${p.port}` : ''}`
  const lines = [`trace ${t.from} → ${t.to} (${p.dst}), ${what}, lab ${t.lab}: read from each namespace's kernel state`, '']
  t.hops.forEach((h, i) => {
    lines.push(`${i + 1}. ${h.member} (${h.kind})${h.in ? `, in by ${h.in}` : ''}`)
    if (!h.problem || h.problem.kind === 'mtu') lines.push(`   ${h.text}`)
    if (h.firewall) lines.push(`   iptables: ${h.firewall}`)
    if (h.counted) lines.push(`   seen: ${h.counted}`)
    if (h.problem) lines.push(`   ✗ ${h.problem.kind === 'mtu' ? 'problem' : 'stops here'}: ${h.problem.reason}`)
  })
  lines.push('', t.summary)
  return lines.join('\n')
}
