// The processes a probe starts and registers with its lab (the echo hub, the job runner), so
// that `netlab down` stops them even if the probe could not: each is recorded as
// "<kind>-<probe pid>" with a marker on its command line that names the lab and the probe.
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {alive, isOurs, stopProcess, unregisterLabProcess} from '../lab/processes.js'
import {files} from '../state/paths.js'

export {asset as assetPath} from '../paths.js'

/** The processes a probe registers with the lab, each named "<kind>-<probe pid>". */
const KINDS = ['echo-hub', 'probe-jobs'] as const
export type ProbeProcessKind = (typeof KINDS)[number]

/** The unique marker on a probe process's command line: how `netlab down` recognises it. */
export function processMarker(kind: ProbeProcessKind, lab: string, owner = process.pid): string {
  return `netlab-${kind}:${lab}:${owner}`
}

export function processName(kind: ProbeProcessKind, owner = process.pid): string {
  return `${kind}-${owner}`
}

/** Processes left by a probe that died (SIGKILL): stop them, by PID and marker. Returns how many. */
export async function reapStale(lab: string): Promise<number> {
  let entries: string[]
  try {
    entries = readdirSync(files.pids(lab))
  } catch {
    return 0
  }
  let stopped = 0
  for (const f of entries) {
    const m = /^([a-z-]+)-(\d+)\.json$/.exec(f)
    if (!m || !(KINDS as readonly string[]).includes(m[1])) continue
    const owner = Number(m[2])
    if (owner === process.pid || alive(owner)) continue
    try {
      const rec = JSON.parse(readFileSync(join(files.pids(lab), f), 'utf8')) as {pid: number; marker: string}
      if (isOurs(rec.pid, rec.marker)) {
        await stopProcess(rec.pid, rec.marker)
        stopped++
      }
    } catch {
      // unreadable record: nothing we can safely kill
    }
    unregisterLabProcess(lab, f.slice(0, -'.json'.length))
  }
  return stopped
}
