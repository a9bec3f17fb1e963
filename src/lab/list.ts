// `netlab ls` (and `netlab status --all`): every lab this state directory knows, one line each.
import {netlabCmd} from '../core/invocation.js'
import {allPods} from '../model/types.js'
import {existingNetns, listLabs, readState} from '../state/store.js'

export interface LabLine {
  lab: string
  /** up; building (being built, or its `up` died: netlab down removes it); degraded (namespaces missing); unknown (no saved state) */
  state: 'up' | 'building' | 'degraded' | 'unknown'
  routing?: string
  nodes?: number
  pods?: number
  /** namespaces of the lab (all kinds), and how many of them exist */
  namespaces?: number
  missing?: number
  topology?: string
  startedAt?: string
}

export function listLabLines(): LabLine[] {
  const present = existingNetns()
  return listLabs().map((lab): LabLine => {
    const s = readState(lab)
    if (!s) return {lab, state: 'unknown'}
    const m = s.model
    const missing = m.members.filter((x) => !present.has(x.netns)).length
    return {
      lab,
      state: s.status === 'building' ? 'building' : missing > 0 ? 'degraded' : 'up',
      routing: m.routing,
      nodes: m.nodes.length,
      pods: allPods(m).length,
      namespaces: m.members.length,
      missing,
      topology: s.topology,
      startedAt: s.startedAt,
    }
  })
}

export function renderLabLines(lines: LabLine[]): string {
  if (lines.length === 0) return `no lab is up (start one with: ${netlabCmd()} up)`
  const rows = [['LAB', 'STATE', 'ROUTING', 'NODES', 'PODS', 'NAMESPACES', 'SINCE', 'TOPOLOGY']]
  for (const l of lines) {
    if (l.state === 'unknown')
      rows.push([l.lab, l.state, '-', '-', '-', '-', '-', `no saved state: ${netlabCmd()} down ${l.lab} removes what is left`])
    else
      rows.push([
        l.lab,
        l.state,
        l.routing!,
        String(l.nodes),
        String(l.pods),
        l.missing ? `${l.namespaces! - l.missing}/${l.namespaces}` : String(l.namespaces),
        since(l.startedAt),
        l.topology ?? '',
      ])
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)))
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

/** When a lab came up: the time of day if today, else the date. */
function since(iso: string | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const today = new Date().toDateString() === d.toDateString()
  return today ? d.toTimeString().slice(0, 8) : d.toISOString().slice(0, 10)
}
