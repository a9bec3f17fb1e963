// Processes a lab starts (the probe's echo service). Recorded by PID with a marker that must
// appear in the process's command line, so a recycled PID is never mistaken for ours.
import {mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {files} from '../state/paths.js'

interface ProcessRecord {
  pid: number
  marker: string
}

export function registerLabProcess(lab: string, name: string, pid: number, marker: string): void {
  mkdirSync(files.pids(lab), {recursive: true})
  writeFileSync(join(files.pids(lab), `${name}.json`), JSON.stringify({pid, marker} satisfies ProcessRecord))
}

export function unregisterLabProcess(lab: string, name: string): void {
  rmSync(join(files.pids(lab), `${name}.json`), {force: true})
}

/** Is a process with this PID running (whoever it belongs to)? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Is `pid` alive and still the process we started (its command line holds the marker)? */
export function isOurs(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(marker)
  } catch {
    return false
  }
}

export async function stopProcess(pid: number, marker: string): Promise<void> {
  if (!isOurs(pid, marker)) return
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return
  }
  for (let i = 0; i < 50 && isOurs(pid, marker); i++) await sleep(20)
  if (isOurs(pid, marker)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone
    }
  }
}

/** Stop every recorded process of the lab; returns how many were running. */
export async function stopLabProcesses(lab: string): Promise<number> {
  let entries: string[]
  try {
    entries = readdirSync(files.pids(lab)).filter((f) => f.endsWith('.json'))
  } catch {
    return 0
  }
  let stopped = 0
  for (const f of entries) {
    const path = join(files.pids(lab), f)
    try {
      const rec = JSON.parse(readFileSync(path, 'utf8')) as ProcessRecord
      if (isOurs(rec.pid, rec.marker)) {
        stopped++
        await stopProcess(rec.pid, rec.marker)
      }
    } catch {
      // unreadable record: nothing we can safely kill
    }
    rmSync(path, {force: true})
  }
  return stopped
}
