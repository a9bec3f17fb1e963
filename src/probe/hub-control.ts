// Start and stop the echo hub (src/probe/hub.ts): one process for the whole lab, launched through
// assets/netlab-bind.pl, which leaves it a listening socket inside each target namespace.
// It is registered as a lab process, so `netlab down` stops it if the probe could not.
import {spawn} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {NetlabError} from '../cli/errors.js'
import {findTool} from '../lab/preflight.js'
import {isOurs, registerLabProcess, stopProcess, unregisterLabProcess} from '../lab/processes.js'
import {files} from '../state/paths.js'
import type {Endpoint} from './types.js'

const HERE = dirname(fileURLToPath(import.meta.url))
/** dist/src/probe → the package root */
export const BIND_SCRIPT = join(HERE, '..', '..', '..', 'assets', 'netlab-bind.pl')
export const HUB_SCRIPT = join(HERE, 'hub.js')
const READY_TIMEOUT_MS = 15_000
const NAME_PREFIX = 'echo-hub-'

export interface Hub {
  pid: number
  port: number
  marker: string
  name: string
  lab: string
  stop(): Promise<void>
}

export function hubMarker(lab: string, owner = process.pid): string {
  return `netlab-echo-hub:${lab}:${owner}`
}

/** A port per probe run, so two probes of one lab never collide; lab namespaces hold nothing else. */
export function hubPort(owner = process.pid): number {
  return 20000 + (owner % 20000)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Hubs left by a probe that died (SIGKILL): stop them, by PID and marker. Returns how many. */
export async function reapStaleHubs(lab: string): Promise<number> {
  let entries: string[]
  try {
    entries = readdirSync(files.pids(lab)).filter((f) => f.startsWith(NAME_PREFIX) && f.endsWith('.json'))
  } catch {
    return 0
  }
  let stopped = 0
  for (const f of entries) {
    const owner = Number(f.slice(NAME_PREFIX.length, -'.json'.length))
    if (!Number.isInteger(owner) || alive(owner)) continue
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

/** The soft limit on open files of this process (children inherit it). */
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

export async function startHub(lab: string, targets: Endpoint[], opts: {clientsInFlight: number}): Promise<Hub> {
  const marker = hubMarker(lab)
  const port = hubPort()
  const name = `${NAME_PREFIX}${process.pid}`
  const binds = [...new Map(targets.map((t) => [`${t.netns}=${t.ip}`, t])).keys()]
  const perl = findTool('perl')
  if (!perl) throw new NetlabError('missing perl: install with: sudo apt-get install -y perl')
  const hubArgs = [BIND_SCRIPT, marker, String(port), '--', process.execPath, HUB_SCRIPT, marker]
  // a socket per target, plus the connections in flight, plus Node's own
  const needed = binds.length + opts.clientsInFlight + 256
  const limit = openFilesLimit()
  const prlimit = findTool('prlimit')
  const [file, args] =
    needed > limit.soft && prlimit ? [prlimit, [`--nofile=${needed}:${Math.max(needed, limit.hard)}`, perl, ...hubArgs]] : [perl, hubArgs]

  const child = spawn(file, args, {
    detached: true, // its own process group: a Ctrl-C reaches the probe, which stops the hub itself
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', NETLAB_HUB_BIND: binds.join(',')},
  })
  if (child.pid === undefined) {
    const err = await new Promise<Error>((resolve) => child.once('error', resolve))
    throw new NetlabError(`could not start the echo hub: ${err.message}`)
  }
  const pid = child.pid
  registerLabProcess(lab, name, pid, marker)
  const hub: Hub = {
    pid,
    port,
    marker,
    name,
    lab,
    async stop() {
      await stopProcess(pid, marker)
      unregisterLabProcess(lab, name)
    },
  }
  try {
    await new Promise<void>((resolve, reject) => {
      let out = ''
      let err = ''
      const timer = setTimeout(() => reject(new Error(`not ready after ${READY_TIMEOUT_MS} ms${err ? `: ${err.trim()}` : ''}`)), READY_TIMEOUT_MS)
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        if (/^ready\b/m.test(out)) {
          clearTimeout(timer)
          resolve()
        }
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`exited (${signal ?? `code ${code}`}) before it was ready${err ? `: ${err.trim()}` : ''}`))
      })
      child.once('error', (e) => {
        clearTimeout(timer)
        reject(e)
      })
    })
  } catch (error) {
    await hub.stop()
    throw new NetlabError(`the echo hub did not start: ${(error as Error).message}`)
  }
  // From here on nobody reads its output: let go of the pipes so they never keep us alive.
  child.stdout!.destroy()
  child.stderr!.destroy()
  child.unref()
  return hub
}
