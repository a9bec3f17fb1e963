// Start and stop the echo hub (src/probe/hub.ts): one process for the whole lab, launched through
// assets/netlab-bind.pl, which leaves it a listening socket inside each target namespace.
// It is registered as a lab process, so `netlab down` stops it if the probe could not.
import {startProcess} from '../exec/runner.js'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {packageRoot} from '../paths.js'
import {NetlabError} from '../cli/errors.js'
import {findPerl, findTool} from '../lab/preflight.js'
import {registerLabProcess, stopProcess, unregisterLabProcess} from '../lab/processes.js'
import {assetPath, processMarker, processName} from './owned.js'
import {parseAddrsLine} from './tools.js'
import type {Endpoint} from './types.js'

export const BIND_SCRIPT = assetPath('netlab-bind.pl')
/** the hub runs from the build (dist/src/probe/hub.js), beside this module */
/** the hub runs as its own Node process, from the tsc output (not the bundle) */
export const HUB_SCRIPT = join(packageRoot(), 'dist', 'src', 'probe', 'hub.js')
const READY_TIMEOUT_MS = 15_000

export interface Hub {
  pid: number
  port: number
  /** IPv4 addresses in each namespace the hub listens in, as its launcher found them there */
  addresses: Map<string, {label: string; ip: string}[]>
  /** where it could not listen, and why (e.g. the address is not there), by unboundKey() */
  unbound: Map<string, string>
  marker: string
  name: string
  lab: string
  stop(): Promise<void>
}

/**
 * The hub's port: one per probe run, so two probes of one lab never collide. Below 32768, the
 * start of Linux's ephemeral range: a pod's own outgoing connections (from an earlier probe,
 * in TIME_WAIT) never hold it.
 */
export function hubPort(owner = process.pid, attempt = 0, avoid: readonly number[] = []): number {
  // a port a policy names is probed as such: the echo port must be one no policy names
  for (let k = attempt; ; k++) {
    const port = 20000 + ((owner + k * 3571) % 10000)
    if (!avoid.includes(port)) return port
  }
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

export interface HubOptions {
  clientsInFlight: number
  /** ports policies name, served too in every target: TCP (HTTP echo) and UDP (datagram echo) */
  extra?: {tcp: number[]; udp: number[]}
}

/** A namespace, or a namespace and a port a policy names ("tcp/5432"): where the hub may be missing. */
export function unboundKey(netns: string, port?: string): string {
  return port ? `${netns} ${port}` : netns
}

export async function startHub(lab: string, targets: Endpoint[], opts: HubOptions): Promise<Hub> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await launchHub(lab, targets, hubPort(process.pid, attempt, opts.extra?.tcp), opts)
    } catch (error) {
      if (attempt >= 2 || !/Address already in use/.test((error as Error).message)) throw error
    }
  }
}

async function launchHub(lab: string, targets: Endpoint[], port: number, opts: HubOptions): Promise<Hub> {
  const marker = processMarker('echo-hub', lab)
  const name = processName('echo-hub')
  const binds = [...new Map(targets.map((t) => [`${t.netns}=${t.ip}`, t])).keys()]
  const perl = findPerl() // its modules: checked by the probe's preflight
  const hubArgs = [BIND_SCRIPT, marker, String(port), '--', process.execPath, HUB_SCRIPT, marker]
  const extra = [...(opts.extra?.tcp ?? []).map((p) => `tcp/${p}`), ...(opts.extra?.udp ?? []).map((p) => `udp/${p}`)]
  // a socket per target and port, plus the connections in flight, plus Node's own
  const needed = binds.length * (1 + extra.length) + opts.clientsInFlight + 256
  const limit = openFilesLimit()
  const prlimit = findTool('prlimit')
  const [file, args] =
    needed > limit.soft && prlimit ? [prlimit, [`--nofile=${needed}:${Math.max(needed, limit.hard)}`, perl, ...hubArgs]] : [perl, hubArgs]

  registerLabProcess(lab, name, marker) // before it exists: see registerLabProcess
  // its own process group: a Ctrl-C reaches the probe, which stops the hub itself
  const child = startProcess(file, args, {
    stdin: 'ignore',
    env: {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      LC_ALL: 'C',
      NETLAB_HUB_BIND: binds.join(','),
      ...(extra.length > 0 ? {NETLAB_HUB_EXTRA: extra.join(',')} : {}),
      NETLAB_PROBE_PID: String(process.pid),
    },
  })
  if (child.pid === undefined) {
    unregisterLabProcess(lab, name)
    const err = await new Promise<Error>((resolve) => child.once('error', resolve))
    throw new NetlabError(`could not start the echo hub: ${err.message}`)
  }
  const pid = child.pid
  registerLabProcess(lab, name, marker, pid)
  const hub: Hub = {
    pid,
    port,
    addresses: new Map(),
    unbound: new Map(),
    marker,
    name,
    lab,
    async stop() {
      // a hub that outlives SIGKILL keeps its record, for `netlab down` to report
      if ((await stopProcess(pid, marker)).outcome !== 'stuck') unregisterLabProcess(lab, name)
    },
  }
  try {
    await new Promise<void>((resolve, reject) => {
      let out = ''
      let err = ''
      const timer = setTimeout(
        () => reject(new Error(`not ready after ${READY_TIMEOUT_MS} ms${err ? `: ${err.trim()}` : ''}`)),
        READY_TIMEOUT_MS,
      )
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        const lines = out.split('\n')
        out = lines.pop()!
        for (const line of lines) {
          const addrs = parseAddrsLine(line)
          if (addrs) hub.addresses.set(addrs.netns, addrs.addrs)
          const unbound = /^unbound (\S+) (\S+) (.*)$/.exec(line)
          // "ip" for the echo port, "ip:tcp/5432" for a port a policy names
          if (unbound)
            hub.unbound.set(unboundKey(unbound[1], unbound[2].split(':')[1]), `cannot listen on ${unbound[2]} there: ${unbound[3]}`)
          if (/^ready\b/.test(line)) {
            clearTimeout(timer)
            resolve()
          }
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
