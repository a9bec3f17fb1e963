// The journal: an append-only record, written before each batch starts and after it ends, of
// which plan actions were applied. If netlab dies at any point (even SIGKILL), the journal
// tells `down` everything that may exist. One JSON object per line.
import {appendFileSync, readFileSync} from 'node:fs'

export type JournalEntry =
  | {t: 'begin'; ids: number[]}
  | {t: 'done'; ids: number[]}
  /** a batch failed: `applied` ran, `failed` did not, the rest of the batch never started */
  | {t: 'failed'; applied: number[]; failed: number | null; notRun: number[]}
  | {t: 'undone'; ids: number[]}

export class Journal {
  constructor(private path: string) {}

  write(entry: JournalEntry): void {
    appendFileSync(this.path, JSON.stringify(entry) + '\n')
  }
}

export interface JournalSummary {
  /** actions known to have been applied and not undone */
  applied: Set<number>
  /** actions that began but whose outcome was never recorded (netlab died meanwhile) */
  maybe: Set<number>
  /** actions that failed (and were not undone since): some are undone even so (Action.undoFailed) */
  failed: Set<number>
}

export function summarize(entries: JournalEntry[]): JournalSummary {
  const applied = new Set<number>()
  const maybe = new Set<number>()
  const failed = new Set<number>()
  for (const e of entries) {
    if (e.t === 'begin') e.ids.forEach((id) => maybe.add(id))
    else if (e.t === 'done') e.ids.forEach((id) => (maybe.delete(id), applied.add(id)))
    else if (e.t === 'failed') {
      e.applied.forEach((id) => (maybe.delete(id), applied.add(id)))
      if (e.failed !== null) {
        maybe.delete(e.failed)
        failed.add(e.failed)
      }
      e.notRun.forEach((id) => maybe.delete(id))
    } else if (e.t === 'undone') e.ids.forEach((id) => (applied.delete(id), maybe.delete(id), failed.delete(id)))
  }
  return {applied, maybe, failed}
}

const ids = (v: unknown) => Array.isArray(v) && v.every((id) => Number.isInteger(id))

/** An entry as this netlab writes it; anything else in the file is not acted on. */
function wellFormed(e: unknown): e is JournalEntry {
  if (typeof e !== 'object' || e === null) return false
  const x = e as Record<string, unknown>
  if (x.t === 'begin' || x.t === 'done' || x.t === 'undone') return ids(x.ids)
  return x.t === 'failed' && ids(x.applied) && ids(x.notRun) && (x.failed === null || Number.isInteger(x.failed))
}

export function readJournal(path: string): JournalEntry[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return []
  }
  const out: JournalEntry[] = []
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    try {
      const entry: unknown = JSON.parse(line)
      if (wellFormed(entry)) out.push(entry)
    } catch {
      // a line cut short by a crash: everything before it still counts
    }
  }
  return out
}
