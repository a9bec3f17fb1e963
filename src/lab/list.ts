// `netlab ls` (and `netlab status --all`): every lab this state directory knows, one line each:
// labs with a saved state, labs whose state is damaged, and labs whose marked namespaces are
// left without any state (orphaned). One lab's damage never hides the others.
import {netlabCmd} from '../core/invocation.js'
import {labOfNetns} from '../core/names.js'
import {allPods} from '../model/types.js'
import {existingNetns, hasPlan, listLabs, readLabState} from '../state/store.js'
import {findLabNetns} from './ownership.js'

export interface LabLine {
  lab: string
  /**
   * up; building (being built, or its `up` died: netlab down removes it); degraded (namespaces
   * missing); damaged (its saved state cannot be used: `reason`); orphaned (namespaces that carry
   * its mark, and no saved state)
   */
  state: 'up' | 'building' | 'degraded' | 'damaged' | 'orphaned'
  routing?: string
  nodes?: number
  pods?: number
  /** namespaces of the lab (all kinds), and how many of them exist; damaged, orphaned: those that carry its mark (root only: the marks are read from the kernel) */
  namespaces?: number
  missing?: number
  topology?: string
  startedAt?: string
  /** damaged, orphaned: what is wrong */
  reason?: string
  /** damaged, orphaned: the command that removes what is left of it */
  remove?: string
}

/** Every lab: the ones with a state directory, and the ones only their marked namespaces tell of. */
export async function listLabLines(): Promise<LabLine[]> {
  const present = existingNetns()
  const lines = listLabs()
    .map((lab) => lineOf(lab, present))
    .filter((l): l is LabLine => l !== undefined)
  const sound = new Set(lines.filter((l) => l.state !== 'damaged').map((l) => l.lab))
  const left = await leftNamespaces((lab) => !sound.has(lab))
  if (!left) return lines // not root: no mark can be read, so no namespace is known to be a lab's
  for (const line of lines) {
    if (line.state !== 'damaged') continue
    line.namespaces = left.get(line.lab) ?? 0
    left.delete(line.lab)
  }
  for (const [lab, n] of left)
    lines.push({
      lab,
      state: 'orphaned',
      namespaces: n,
      reason: `no saved state; ${n === 1 ? 'a namespace carries' : `${n} namespaces carry`} its mark`,
      remove: `${netlabCmd()} down ${lab}`,
    })
  return lines.sort((a, b) => a.lab.localeCompare(b.lab))
}

function lineOf(lab: string, present: Set<string>): LabLine | undefined {
  const r = readLabState(lab)
  // no state and no plan: only the locks and records of a probe of a lab built by hand (probe
  // --topology), not a damaged netlab lab; its marked namespaces list it as orphaned
  if (!r.ok && r.missing && !hasPlan(lab)) return undefined
  if (!r.ok) return {lab, state: 'damaged', reason: r.reason, remove: `${netlabCmd()} down ${lab}`}
  const s = r.state
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
}

/**
 * How many namespaces of each lab `which` picks carry its mark for this state directory, read
 * from the kernel as `down` does; undefined when the marks cannot be read (not root, or no perl:
 * a name alone proves nothing, and other state directories' labs have the same kind of names).
 */
export async function leftNamespaces(which: (lab: string) => boolean): Promise<Map<string, number> | undefined> {
  if (process.getuid?.() !== 0) return undefined
  let marked: string[]
  try {
    marked = (await findLabNetns(which)).marked
  } catch {
    return undefined
  }
  const byLab = new Map<string, number>()
  for (const ns of marked) byLab.set(labOfNetns(ns)!, (byLab.get(labOfNetns(ns)!) ?? 0) + 1)
  return byLab
}

export function renderLabLines(lines: LabLine[]): string {
  if (lines.length === 0) return `no lab is up (start one with: ${netlabCmd()} up)`
  const rows = [['LAB', 'STATE', 'ROUTING', 'NODES', 'PODS', 'NAMESPACES', 'SINCE', 'TOPOLOGY']]
  for (const l of lines) {
    if (l.state === 'damaged' || l.state === 'orphaned')
      rows.push([l.lab, l.state, '-', '-', '-', l.namespaces === undefined ? '-' : String(l.namespaces), '-', unsoundNote(l)])
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

/** A damaged or orphaned lab's last column: what is wrong, and the command that removes it (last: ready to paste). */
function unsoundNote(l: LabLine): string {
  return `${l.state}: ${l.reason}; remove it with: ${l.remove}`
}
