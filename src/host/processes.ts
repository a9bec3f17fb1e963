// Processes a lab starts (the probe's engines, the pods' workload). Each is recorded under a name
// with a marker that must appear on its command line, so a recycled PID is never mistaken for
// ours. The record is written before the process starts (marker only) and again once its PID is
// known: a starter stopped in between (SIGSTOP) still leaves `netlab down` a way to find it.
import {mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {files} from '../state/paths.js'
import {isProcessMarkerOf} from '../core/names.js'
import {NetlabError} from '../core/errors.js'
import {findTool} from './preflight.js'

interface ProcessRecord {
  /** missing while the process is being started */
  pid?: number
  marker: string
}

interface LabProcess extends ProcessRecord {
  /** the record's name, e.g. "probe-engine-1234" */
  name: string
}

/** Record a lab process: first without a PID (just before starting it), then with it. */
export function registerLabProcess(lab: string, name: string, marker: string, pid?: number): void {
  mkdirSync(files.pids(lab), {recursive: true})
  const path = join(files.pids(lab), `${name}.json`)
  // written whole or not at all: `down` may read it at any moment
  writeFileSync(`${path}.tmp`, JSON.stringify({pid, marker} satisfies ProcessRecord))
  renameSync(`${path}.tmp`, path)
}

export function unregisterLabProcess(lab: string, name: string): void {
  rmSync(join(files.pids(lab), `${name}.json`), {force: true})
}

/**
 * Every process record of a lab: the one walk over them, for `down` and for the probe's
 * clean-up of a dead probe's leftovers. A record that cannot be read names nothing we could
 * safely stop: it comes back without a marker.
 */
function labProcesses(lab: string): (LabProcess | {name: string; marker?: undefined})[] {
  let entries: string[]
  try {
    entries = readdirSync(files.pids(lab)).filter((f) => f.endsWith('.json'))
  } catch {
    return []
  }
  return entries.sort().map((f) => {
    const name = f.slice(0, -'.json'.length)
    try {
      const rec = JSON.parse(readFileSync(join(files.pids(lab), f), 'utf8')) as ProcessRecord
      // a marker of another lab, or of no lab (an edited record naming sshd, say) names nothing of ours
      if (typeof rec.marker !== 'string' || !isProcessMarkerOf(rec.marker, lab)) return {name}
      return {name, marker: rec.marker, ...(Number.isInteger(rec.pid) && rec.pid! > 0 ? {pid: rec.pid} : {})}
    } catch {
      return {name}
    }
  })
}

/** What /proc/PID/stat says about a process that matters here. */
export interface ProcStat {
  /** R running, S sleeping, D uninterruptible, T stopped, Z zombie, X dead, ... */
  state: string
  ppid: number
  /** threads still alive; a zombie whose threads have all exited counts 1 (itself) or 0 */
  threads: number
  /** start time after boot, in clock ticks: tells a recycled PID from the process we saw */
  start: number
}

/** Parse /proc/PID/stat. The name (field 2) may hold spaces and parentheses: fields are read after its last ')'. */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')')
  if (close < 0) return undefined
  const f = text
    .slice(close + 2)
    .trim()
    .split(' ')
  // f[0] is field 3 (state); field n is f[n - 3]
  const [state, ppid, threads, start] = [f[0], Number(f[1]), Number(f[17]), Number(f[19])]
  if (!state || !Number.isInteger(ppid) || !Number.isInteger(threads) || !Number.isInteger(start)) return undefined
  return {state, ppid, threads, start}
}

export function procStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return undefined
  }
}

/**
 * Has the process finished? A zombie whose threads have all exited has: it holds no socket, no
 * file, no memory, only its exit status until its parent reaps it — and a parent that is stopped
 * (a stuck probe) reaps nothing until it runs again, so waiting for the PID to vanish could
 * last for ever.
 */
export function finished(st: ProcStat | undefined): boolean {
  return st === undefined || st.state === 'X' || (st.state === 'Z' && st.threads <= 1)
}

/** Is a process with this PID running (whoever it belongs to)? A zombie is not. */
export function alive(pid: number): boolean {
  return !finished(procStat(pid))
}

function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
  } catch {
    return []
  }
}

/** Is `pid` alive and still the process we started (its command line holds the marker)? */
function isOurs(pid: number, marker: string): boolean {
  // a whole argument, not a part of one: the marker of probe 123 is a prefix of probe 1234's
  return commandLine(pid).includes(marker)
}

/**
 * The PID of the lab's recorded process `name` when it is running and still ours (its record's
 * marker names this lab and is on its command line); undefined otherwise.
 */
export function runningLabProcess(lab: string, name: string): number | undefined {
  const rec = labProcesses(lab).find((p) => p.name === name)
  if (rec?.marker === undefined || !('pid' in rec) || rec.pid === undefined) return undefined
  return alive(rec.pid) && isOurs(rec.pid, rec.marker) ? rec.pid : undefined
}

/**
 * Has the lab's recorded process `name`, started by this process, exited? Its recorded PID is
 * gone. Not runningLabProcess's test: a daemon just started may still be on its way to the
 * program that carries the marker (perl's setns, then its exec), and is not gone for that.
 */
export function recordedProcessExited(lab: string, name: string): boolean {
  const rec = labProcesses(lab).find((p) => p.name === name)
  return rec === undefined || !('pid' in rec) || rec.pid === undefined || !alive(rec.pid)
}

/** Processes but this one with a command-line argument `match` accepts, each with that argument: one walk over /proc. */
export function processesWithArg(match: (arg: string) => boolean): {pid: number; arg: string}[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    .flatMap((d) => {
      const arg = commandLine(Number(d)).find(match)
      return arg === undefined ? [] : [{pid: Number(d), arg}]
    })
}

/** PIDs of the processes whose command line holds `marker` (for a record written before its PID was known). */
function processesWith(marker: string): number[] {
  return processesWithArg((a) => a === marker).map((p) => p.pid)
}

/** The inodes of the sockets a process holds open ("socket:[INODE]" among its fds); empty when it is gone. */
export function socketInodes(pid: number): Set<number> {
  const held = new Set<number>()
  let fds: string[]
  try {
    fds = readdirSync(`/proc/${pid}/fd`)
  } catch {
    return held
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (m) held.add(Number(m[1]))
    } catch {
      // closed meanwhile
    }
  }
  return held
}

/** The owner (real user id) of a process, from /proc/PID/status; undefined when it is gone. */
export function processUid(pid: number): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Uid:'))
    return line === undefined ? undefined : Number(line.split(/\s+/)[1])
  } catch {
    return undefined
  }
}

const STATE_NAMES: Record<string, string> = {
  R: 'running',
  S: 'sleeping',
  D: 'uninterruptible sleep, waiting in the kernel',
  T: 'stopped',
  t: 'stopped by a tracer',
  Z: 'zombie, threads still exiting',
}

export interface StopLimits {
  /** how long a process gets to exit after SIGTERM before SIGKILL */
  termMs: number
  /** how long to wait after SIGKILL before giving up on it */
  killMs: number
}
const STOP_LIMITS: StopLimits = {termMs: 1500, killMs: 5000}

export type StopResult = {pid: number; outcome: 'not-running' | 'stopped'} | {pid: number; outcome: 'stuck'; why: string}

/**
 * Stop our process `pid` (recognised by its marker) and return only once it has finished
 * (see finished()): SIGTERM (and SIGCONT, so a stopped process can act on it), then SIGKILL,
 * each with a bounded wait. 'stuck' when it outlived SIGKILL, with its state.
 */
export async function stopProcess(pid: number, marker: string, limits: StopLimits = STOP_LIMITS): Promise<StopResult> {
  const first = procStat(pid)
  if (finished(first) || !isOurs(pid, marker)) return {pid, outcome: 'not-running'}
  const gone = () => {
    const st = procStat(pid)
    return finished(st) || st!.start !== first!.start // its PID already belongs to another process
  }
  for (const [signals, ms] of [
    [['SIGTERM', 'SIGCONT'], limits.termMs],
    [['SIGKILL'], limits.killMs],
  ] as const) {
    for (const s of signals) {
      try {
        process.kill(pid, s)
      } catch {
        // ESRCH: it exited (and was reaped) meanwhile
      }
    }
    for (const t0 = performance.now(); !gone() && performance.now() - t0 < ms;) await sleep(10)
    if (gone()) return {pid, outcome: 'stopped'}
  }
  const st = procStat(pid)!
  return {
    pid,
    outcome: 'stuck',
    why: `still there ${limits.killMs / 1000} s after SIGKILL, in state ${st.state} ` + `(${STATE_NAMES[st.state] ?? 'unknown'})`,
  }
}

export interface StopReport {
  /** processes that were running and are gone now */
  stopped: number
  /** processes that refused to die: their records are kept, for the next try */
  stuck: {name: string; pid: number; why: string}[]
}

/**
 * Stop the lab's recorded processes that `which` picks (all by default), all at once, and
 * return when every one of them has finished or proved stuck. Records of finished processes
 * (and unreadable records) are removed.
 */
export async function stopLabProcesses(
  lab: string,
  which: (p: {name: string}) => boolean = () => true,
  limits: StopLimits = STOP_LIMITS,
): Promise<StopReport & {pids: Set<number>}> {
  const records = labProcesses(lab).filter(which)
  // each process once: a record made before its PID was known is found by its marker, which the
  // other engines of the same probe carry too
  const targets = new Map<number, string>()
  const pidsOf = new Map<string, number[]>()
  for (const p of records) {
    if (p.marker === undefined) continue
    const pids = p.pid !== undefined ? [p.pid] : processesWith(p.marker)
    pidsOf.set(p.name, pids)
    for (const pid of pids) if (!targets.has(pid)) targets.set(pid, p.marker)
  }
  const results = new Map((await Promise.all([...targets].map(([pid, marker]) => stopProcess(pid, marker, limits)))).map((r) => [r.pid, r]))
  const report: StopReport = {stopped: [...results.values()].filter((r) => r.outcome === 'stopped').length, stuck: []}
  for (const p of records) {
    const stuck = (pidsOf.get(p.name) ?? []).flatMap((pid) => {
      const r = results.get(pid)
      return r?.outcome === 'stuck' ? [{name: p.name, pid, why: r.why}] : []
    })
    report.stuck.push(...stuck)
    if (stuck.length === 0) unregisterLabProcess(lab, p.name) // else kept: `down` again tries again
  }
  return {...report, pids: new Set(targets.keys())}
}

/** What `down` says about processes that refused to die. */
export function stuckMessage(lab: string, stuck: StopReport['stuck']): string {
  const each = stuck.map((s) => `process ${s.pid} (${s.name}) is ${s.why}`).join('; ')
  return (
    `lab ${lab}: ${each}; its record is kept: run netlab down ${lab} again once it has exited ` +
    `(cat /proc/PID/stack shows where it waits)`
  )
}

/** The soft and hard limits on open files of this process (children inherit them). */
function openFilesLimit(): {soft: number; hard: number} {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'))
    const [soft, hard] = (line ?? '').replace('Max open files', '').trim().split(/\s+/)
    const num = (s: string | undefined) => (s === 'unlimited' ? Infinity : Number(s))
    return {soft: num(soft), hard: num(hard)}
  } catch {
    return {soft: 1024, hard: 1024}
  }
}

/**
 * How to start `argv` when it needs about `needed` open files: as it is when the soft limit
 * allows that many, else under prlimit, which raises it (up to the hard limit). `who` names the
 * program in the error when neither can.
 */
export function withOpenFiles(who: string, needed: number, argv: [string, ...string[]]): [string, string[]] {
  const limit = openFilesLimit()
  if (needed <= limit.soft) return [argv[0], argv.slice(1)]
  const prlimit = findTool('prlimit')
  const most = maxOpenFiles()
  if (!prlimit || needed > most)
    throw new NetlabError(
      `${who} needs about ${needed} open files and may open ${limit.soft}: raise the limit (ulimit -n ${needed})` +
        (prlimit ? '' : ", or install prlimit (Debian's util-linux)"),
    )
  // with CAP_SYS_RESOURCE, a child's hard limit is raised too, up to fs.nr_open (a 10,000-pod probe needs ~32,000)
  return [prlimit, [`--nofile=${needed}:${Math.max(limit.hard, needed)}`, ...argv]]
}

/** The most open files withOpenFiles can give a child: the soft limit without prlimit, else maxOpenFiles. */
export function openFilesCeiling(): number {
  return findTool('prlimit') ? maxOpenFiles() : openFilesLimit().soft
}

/** CAP_SYS_RESOURCE: may raise a hard resource limit (root in a container may lack it) */
const CAP_SYS_RESOURCE = 24n

/**
 * The most open files a child of this process may be given: its hard limit; for a process that
 * may raise that (CAP_SYS_RESOURCE in its effective set), the kernel's ceiling fs.nr_open.
 */
export function maxOpenFiles(): number {
  const hard = openFilesLimit().hard
  try {
    const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]
    if (!eff || ((BigInt(`0x${eff}`) >> CAP_SYS_RESOURCE) & 1n) === 0n) return hard
    const nrOpen = Number(readFileSync('/proc/sys/fs/nr_open', 'utf8').trim())
    return Number.isFinite(nrOpen) && nrOpen > 0 ? Math.max(hard, nrOpen) : hard
  } catch {
    return hard
  }
}
