// The processes a probe starts and registers with its lab (its engines), so
// that `netlab down` stops them even if the probe could not: each is recorded as
// "<kind>-<probe pid>" with a marker on its command line that names the lab and the probe.
import {alive, stopLabProcesses} from '../host/processes.js'
import {processMarker as labProcessMarker} from '../core/names.js'

export {asset as assetPath} from '../core/paths.js'

/** The processes a probe registers with the lab, each named "<kind>-<probe pid>[.<index>]". */
const KINDS = ['probe-engine'] as const
export type ProbeProcessKind = (typeof KINDS)[number]

/** The unique marker on a probe process's command line: how `netlab down` recognises it. */
export function processMarker(kind: ProbeProcessKind, lab: string, owner = process.pid): string {
  return labProcessMarker(kind, lab, owner)
}

/** "<kind>-<probe pid>", and ".<index>" for the second and later of a kind (one engine per core). */
export function processName(kind: ProbeProcessKind, owner = process.pid, index = 0): string {
  return `${kind}-${owner}${index > 0 ? `.${index}` : ''}`
}

/** The probe that registered a record named "<kind>-<probe pid>"; undefined for any other record. */
function probeOwner(name: string): number | undefined {
  const m = /^([a-z-]+)-(\d+)(?:\.\d+)?$/.exec(name)
  // and the kinds earlier versions registered (an echo hub and a job runner), should one be left
  return m && [...KINDS, 'echo-hub', 'probe-jobs'].includes(m[1]) ? Number(m[2]) : undefined
}

/** Processes left by a probe that died (SIGKILL): stop them, by PID and marker. Returns how many. */
export async function reapStale(lab: string): Promise<number> {
  const stale = (p: {name: string}) => {
    const owner = probeOwner(p.name)
    return owner !== undefined && owner !== process.pid && !alive(owner)
  }
  return (await stopLabProcesses(lab, stale)).stopped
}
