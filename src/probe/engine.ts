// Drive the probe's engines (assets/netlab-probe.pl): one per core (more when a share would not fit
// the open-files limit: engineLayout), each serving its share of the targets (the echo service)
// and running the clients of its share of the source namespaces, all from sockets it opened
// inside the lab's namespaces. Each is registered as a lab process, so `netlab down`
// stops it if the probe could not; each stops by itself when the probe is gone.
//
// Why one engine per core instead of a client process per source: a probe check costs the kernel
// a fraction of a millisecond (its packets cross several namespaces); a process per source cost
// more than that in fork, exec and start-up (a client process per source and a Node echo server
// took about twice the CPU of the same checks done here; docs/performance.md). The kernel's part runs in the process that sends,
// so one engine per core keeps every core busy.
import type {ChildProcess} from 'node:child_process'
import {once} from 'node:events'
import type {Writable} from 'node:stream'
import {cpus} from 'node:os'
import {NetlabError} from '../core/errors.js'
import {protocolRefusal} from '../core/protocol.js'
import {startProcess} from '../exec/runner.js'
import {findPerl, perlModuleError, perlModules} from '../host/preflight.js'
import {openFilesCeiling, registerLabProcess, stopProcess, unregisterLabProcess, withOpenFiles} from '../host/processes.js'
import {workloadKey} from '../lab/workload.js'
import {assetPath, processMarker, processName} from './owned.js'
import type {Observation, Probe, ServeTarget} from './types.js'

export const ENGINE_SCRIPT = assetPath('netlab-probe.pl')
/** The line protocol spoken with ENGINE_SCRIPT (docs/runner-protocol.md); the script has the same constant and refuses any other. */
export const PROBE_PROTOCOL = 1
const READY_TIMEOUT_MS = 15_000
/** client probes one engine keeps in flight (netlab-probe.pl's IN_FLIGHT) */
const IN_FLIGHT = 400

/**
 * The echo port: one per probe run, so two probes of one lab never collide. Below 32768, the
 * start of Linux's ephemeral range: a pod's own outgoing connections (from an earlier probe,
 * in TIME_WAIT) never hold it. A port a policy names is probed as such: never the echo port.
 */
export function echoPort(owner = process.pid, attempt = 0, avoid: readonly number[] = []): number {
  for (let k = attempt; ; k++) {
    const port = 20000 + ((owner + k * 3571) % 10000)
    if (!avoid.includes(port)) return port
  }
}

/** A namespace, or a namespace and a port a policy names ("tcp/5432"): where the echo service may be missing. */
function unboundKey(netns: string, port?: string): string {
  return port ? `${netns} ${port}` : netns
}

/** Engines at the least: one per core (NETLAB_PROBE_ENGINES=N sets it, for tests). */
function coreEngines(): number {
  const fromEnv = Number(process.env.NETLAB_PROBE_ENGINES)
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.max(1, cpus().length)
}

/**
 * The open files one engine of `engines` needs: its `services` echo sockets; its clients in
 * flight, and the connections every engine's clients make to its sockets; a raw ICMP socket per
 * source with pings in flight (at most IN_FLIGHT); one namespace at a time, stdio and Perl's own.
 */
export function engineFiles(services: number, engines: number): number {
  return services + IN_FLIGHT * (engines + 2) + 64
}

/**
 * How many engines: one per core, or more where one engine's share of the echo sockets would
 * not fit `maxFiles` (a 10,000-pod lab's 10,100 sockets and their connections: each engine
 * serves its share of the targets, so more engines need fewer files each). undefined when no
 * number of engines fits (a limit below what a handful of sockets need).
 */
export function engineLayout(services: Map<string, ServeTarget>, cores: number, maxFiles: number): number | undefined {
  for (let n = cores; n <= Math.max(cores, 64); n++) {
    const largest = Math.max(...shareTargets(services, n).map((s) => s.length))
    if (engineFiles(largest, n) <= maxFiles) return n
  }
  return undefined
}

/**
 * Split the echo services among the engines, a target namespace's sockets all to one (it
 * enters each namespace once), the namespaces dealt out in turn.
 */
export function shareTargets(services: Map<string, ServeTarget>, engines: number): string[][] {
  const engineOf = new Map<string, number>()
  const shares: string[][] = Array.from({length: engines}, () => [])
  for (const [key, s] of services) {
    if (!engineOf.has(s.netns)) engineOf.set(s.netns, engineOf.size % engines)
    shares[engineOf.get(s.netns)!].push(key)
  }
  return shares
}

/** The transport an echo probe uses (HTTP runs over TCP). */
const protoOf = (p: Probe): 'tcp' | 'udp' => (p.tool === 'udp' ? 'udp' : 'tcp')

/** One probe as an engine line (tab-separated). */
export function jobLine(p: Probe, echo: number): string {
  const cls = p.expect.reply ? 'a' : 's'
  if (p.tool === 'ping') return `ping\t${p.id}\t${p.src.netns}\t${p.dst.ip}\t${cls}`
  return `${protoOf(p)}\t${p.id}\t${p.src.netns}\t${p.dst.ip}\t${p.port ?? echo}\t${cls}`
}

/** An engine's result line, as an Observation and the probe it belongs to; undefined for any other line. */
export function parseResult(line: string): {id: number; observation: Observation} | undefined {
  const f = line.split('\t')
  const id = Number(f[1])
  if (!Number.isInteger(id)) return undefined
  const ms = Number(f[2])
  const took = Number.isFinite(ms) ? {ms: Math.round(ms * 100) / 100} : {}
  const local = (s: string | undefined) => (s && s !== '-' ? {local: s} : {})
  if (f[0] === 'ok' && f.length === 4) return {id, observation: {reply: true, ttl: Number(f[3]), ...took}}
  if (f[0] === 'ok' && f.length === 6)
    return {id, observation: {reply: true, seen: f[3], ...(f[4] !== '-' ? {servedBy: f[4]} : {}), ...local(f[5]), ...took}}
  if (f[0] === 'fail' && f.length >= 5) return {id, observation: {reply: false, ...local(f[3]), detail: f.slice(4).join('\t'), ...took}}
  return undefined
}

/** "addrs NETNS LABEL=IP ...": a namespace's IPv4 addresses, as the engine read them there (SIOCGIFCONF). */
export function parseAddrsLine(line: string): {netns: string; addrs: {label: string; ip: string}[]} | undefined {
  const [tag, netns, ...rest] = line.trim().split(/\s+/)
  if (tag !== 'addrs' || !netns) return undefined
  const addrs = rest.flatMap((a) => {
    const m = /^(.+)=(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a)
    return m ? [{label: m[1], ip: m[2]}] : []
  })
  return {netns, addrs}
}

/** The addresses of eth0 (including labelled aliases such as eth0:1). */
export function eth0Addresses(addrs: {label: string; ip: string}[]): string[] {
  return addrs.filter((a) => a.label === 'eth0' || a.label.startsWith('eth0:')).map((a) => a.ip)
}

/** A failed echo probe to a target where the echo service could not listen: say so, not "refused". */
export function withUnbound(p: Probe, o: Observation, unbound: Map<string, string>): Observation {
  if (o.reply || p.tool === 'ping') return o
  if (p.serves) {
    // a Service's probe: the endpoints where its target port could not be served
    const missing = p.serves.flatMap((t) => unbound.get(unboundKey(t.netns, `${t.proto}/${t.port}`)) ?? [])
    return missing.length > 0
      ? {...o, detail: `${o.detail ?? 'no reply'}; no echo service in ${missing.length} of its endpoints: ${missing[0]}`}
      : o
  }
  const service = p.port === undefined ? undefined : `${protoOf(p)}/${p.port}`
  const why = unbound.get(unboundKey(p.dst.netns, service)) ?? unbound.get(p.dst.netns)
  return why ? {...o, detail: `no echo service in ${p.dst.name}: ${why}`} : o
}

/** Split the sources among the engines: each source's probes to one engine, the loads even. */
export function shareSources(probes: Probe[], engines: number): Probe[][] {
  const bySource = new Map<string, Probe[]>()
  for (const p of probes) {
    const list = bySource.get(p.src.netns)
    if (list) list.push(p)
    else bySource.set(p.src.netns, [p])
  }
  const shares: Probe[][] = Array.from({length: engines}, () => [])
  // largest first, each to the engine with the least so far
  for (const list of [...bySource.values()].sort((a, b) => b.length - a.length)) {
    let least = shares[0]
    for (const s of shares) if (s.length < least.length) least = s
    for (const p of list) least.push(p)
  }
  return shares.filter((s) => s.length > 0)
}

export interface EngineRun {
  /** IPv4 addresses read in the namespaces asked for (the self-address check) */
  addresses: Map<string, {label: string; ip: string}[]>
}

export interface EngineOptions {
  lab: string
  probes: Probe[]
  /** ports policies name, served too in every target: TCP (HTTP echo) and UDP (datagram echo) */
  extra?: {tcp: number[]; udp: number[]}
  /**
   * sockets the lab's workload serves already (workloadKey): not served again (the port is the
   * workload's alone); its answers are the probe's own
   */
  workload?: ReadonlySet<string>
  /** namespaces whose addresses to read (pods, for the self-address check) */
  addrs: string[]
  onResult: (id: number, o: Observation) => void
  /** aborted: stop the engines now */
  signal: AbortSignal
}

/**
 * Write to `stream`; when it is full, wait until it drains, closes, or `gone` settles. The waits
 * that lose the race are cancelled: left behind, each kept a 'close' and an 'error' listener on
 * the stream, thousands of them in a --full run (Node warned of a leak on stderr).
 */
export async function writeWaiting(stream: Writable, text: string, gone: Promise<unknown>): Promise<void> {
  if (stream.destroyed || !stream.writable) return
  if (stream.write(text)) return
  const done = new AbortController()
  const wait = (event: string) => once(stream, event, {signal: done.signal}).catch(() => {})
  try {
    await Promise.race([wait('drain'), wait('close'), gone])
  } finally {
    done.abort()
  }
}

class Engine {
  private buf = ''
  /** what its output lines mean depends on the phase: set anew for each */
  onLine: (line: string) => void = () => {}
  readonly exited: Promise<{code: number | null; signal: string | null}>
  stderr = ''

  constructor(
    readonly child: ChildProcess,
    readonly name: string,
  ) {
    child.stdout!.setEncoding('utf8')
    child.stdout!.on('data', (d: string) => {
      const parts = (this.buf + d).split('\n')
      this.buf = parts.pop()!
      for (const line of parts) this.onLine(line)
    })
    child.stderr!.on('data', (d: Buffer) => {
      if (this.stderr.length < 4096) this.stderr += d.toString()
    })
    child.stdin!.on('error', () => {}) // it died: reported through 'exit'
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve({code, signal}))
      child.once('error', () => resolve({code: 127, signal: null}))
    })
  }

  /** Write, waiting while the pipe is full (a --full run writes half a million lines); an engine
   *  that is gone takes nothing more (its exit is reported where it is awaited). */
  write(text: string): Promise<void> {
    return writeWaiting(this.child.stdin!, text, this.exited)
  }

  /** The next output line that `match` accepts: rejects if the engine exits first or `ms` pass. */
  waitFor(match: (line: string) => boolean, other: (line: string) => void, ms: number, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ${what} after ${ms} ms`)), ms)
      this.onLine = (line) => {
        if (!match(line)) return other(line)
        clearTimeout(timer)
        this.onLine = () => {}
        resolve()
      }
      void this.exited.then(({code, signal}) => {
        clearTimeout(timer)
        reject(new Error(`exited (${signal ?? `code ${code}`}) before it was ${what}${this.stderr ? `: ${this.stderr.trim()}` : ''}`))
      })
    })
  }
}

/** Run every probe; resolves once every engine has reported each of its probes. */
export async function runEngines(opts: EngineOptions): Promise<EngineRun> {
  // never a port a policy names, nor a Service's target port the probe serves (either protocol:
  // --udp serves the echo port over UDP too)
  const taken = new Set([...(opts.extra?.tcp ?? []), ...(opts.extra?.udp ?? [])])
  for (const p of opts.probes) for (const x of p.serves ?? []) taken.add(x.port)
  const avoid = [...taken]
  for (let attempt = 0; ; attempt++) {
    const port = echoPort(process.pid, attempt, avoid)
    const r = await runOnce(opts, port)
    // the echo port is taken (by something that does not share it): once more with another
    if (r !== 'port-taken') return r
    if (attempt >= 2) throw new NetlabError(`the probe's echo service found its port taken three times (last ${port})`)
  }
}

/**
 * The echo services: the echo port (TCP; UDP too for --udp's datagrams) in every target of an echo probe, and the ports policies
 * name; a Service's probe: the sockets its endpoints need (its target port). None where the lab's
 * workload serves the port already.
 */
export function echoServices(
  probes: Probe[],
  port: number,
  extra: EngineOptions['extra'],
  workload: ReadonlySet<string> = new Set(),
): Map<string, ServeTarget> {
  const services = new Map<string, ServeTarget>()
  const add = (s: ServeTarget) => {
    if (!workload.has(workloadKey(s.netns, s.proto, s.port))) services.set(`${s.netns}\t${s.ip}\t${s.proto}\t${s.port}`, s)
  }
  const done = new Set<readonly ServeTarget[]>() // one list shared by every probe of a Service port
  for (const p of probes) {
    if (p.serves) {
      if (!done.has(p.serves)) p.serves.forEach(add)
      done.add(p.serves)
      continue
    }
    if (p.tool === 'ping') continue
    add({netns: p.dst.netns, ip: p.dst.ip, proto: 'tcp', port})
    // --udp: the no-NAT checks' datagrams go to the echo port too
    if (p.tool === 'udp' && p.port === undefined) add({netns: p.dst.netns, ip: p.dst.ip, proto: 'udp', port})
    for (const tcp of extra?.tcp ?? []) add({netns: p.dst.netns, ip: p.dst.ip, proto: 'tcp', port: tcp})
    for (const udp of extra?.udp ?? []) add({netns: p.dst.netns, ip: p.dst.ip, proto: 'udp', port: udp})
  }
  return services
}

async function runOnce(opts: EngineOptions, port: number): Promise<EngineRun | 'port-taken'> {
  const {lab, probes, signal} = opts
  const services = echoServices(probes, port, opts.extra, opts.workload)
  const cores = coreEngines()
  const count = engineLayout(services, cores, openFilesCeiling()) ?? cores // none fits: startEngines says so
  const shares = shareSources(probes, count)
  if (shares.length === 0 && opts.addrs.length > 0) shares.push([])
  // the layout's shares of the targets; fewer sources than engines: an engine with targets serves without clients
  const dealt = shareTargets(services, count)
  while (shares.length > 0 && dealt[shares.length]?.length) shares.push([])
  const targets = dealt.slice(0, shares.length) // the rest are empty (namespaces are dealt in turn)
  const run: EngineRun = {addresses: new Map()}
  /** where the echo service could not listen, and why, by unboundKey() */
  const unbound = new Map<string, string>()
  if (shares.length === 0) return run // nothing to probe (a lab of one node without pods)

  const perl = findPerl() // its modules: checked by the probe's preflight
  const marker = processMarker('probe-engine', lab)
  const engines: Engine[] = []
  try {
    startEngines(engines, {lab, perl, marker, shares, targets})
    const aborted = new Promise<'aborted'>((resolve) =>
      signal.aborted ? resolve('aborted') : signal.addEventListener('abort', () => resolve('aborted'), {once: true}),
    )
    const setup = await serveTargets(engines, {port, targets, addrs: opts.addrs, run, unbound}, aborted)
    if (setup !== 'ready') return setup === 'port-taken' ? 'port-taken' : run
    if ((await loadJobs(engines, shares, port, signal, aborted)) === 'aborted') return run
    await runClients(engines, opts, unbound, aborted)
    return run
  } finally {
    await stopEngines(engines, lab, marker)
  }
}

/**
 * Start an engine per share, each registered with the lab as it starts (into `engines`, so that
 * the caller stops the ones started when a later one fails).
 */
function startEngines(engines: Engine[], o: {lab: string; perl: string; marker: string; shares: Probe[][]; targets: string[][]}): void {
  const {lab, perl, marker, shares, targets} = o
  shares.forEach((_, i) => {
    const needed = engineFiles(targets[i].length, shares.length)
    const [file, args] = withOpenFiles('the probe', needed, [perl, ENGINE_SCRIPT, marker])
    const name = processName('probe-engine', process.pid, i)
    registerLabProcess(lab, name, marker) // before it exists: see registerLabProcess
    // its own process group: a Ctrl-C reaches the probe, which stops the engines itself
    const child = startProcess(file, args, {
      stdin: 'pipe',
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        LC_ALL: 'C',
        NETLAB_PROBE_PID: String(process.pid),
        NETLAB_PROBE_PROTOCOL: String(PROBE_PROTOCOL),
      },
    })
    if (child.pid === undefined) {
      unregisterLabProcess(lab, name)
      throw new NetlabError(`could not start the probe's engine (${perl})`)
    }
    registerLabProcess(lab, name, marker, child.pid)
    engines.push(new Engine(child, name))
  })
}

/**
 * 1. The echo service in every target, and the addresses (read by the first engine only, into
 * `run`). 'ready' once every engine is; 'port-taken' when the echo port is another program's.
 */
async function serveTargets(
  engines: Engine[],
  o: {port: number; targets: string[][]; addrs: string[]; run: EngineRun; unbound: Map<string, string>},
  aborted: Promise<'aborted'>,
): Promise<'ready' | 'port-taken' | 'aborted'> {
  const {port, run, unbound} = o
  const serveText = o.targets.map((keys) => keys.map((k) => `serve\t${k}\n`).join(''))
  let portTaken = false
  const setup = (line: string) => {
    const addrs = parseAddrsLine(line)
    if (addrs) run.addresses.set(addrs.netns, addrs.addrs)
    const m = /^unbound\t(\S+)\t(\S+):(\S+)\t(.*)$/.exec(line)
    if (!m) return
    const [, netns, ip, service, why] = m
    const echo = service === `tcp/${port}` || service === `udp/${port}`
    if (echo && /Address already in use/.test(why)) portTaken = true
    unbound.set(unboundKey(netns, echo ? undefined : service), `cannot listen on ${ip}:${service} there: ${why}`)
  }
  const ready = engines.map((e) => e.waitFor((l) => l === 'ready', setup, READY_TIMEOUT_MS, 'ready'))
  engines.forEach((e, i) => void e.write(serveText[i] + (i === 0 ? o.addrs.map((n) => `addrs\t${n}\n`).join('') : '') + 'ready\n'))
  try {
    if ((await Promise.race([Promise.all(ready), aborted])) === 'aborted') return 'aborted'
  } catch (error) {
    throw notStarted(engines, error as Error)
  }
  return portTaken ? 'port-taken' : 'ready'
}

/** Why an engine did not get to "ready", as the user needs to read it. */
function notStarted(engines: Engine[], error: Error): NetlabError {
  // an engine of another netlab (a partial install): it says which protocol it speaks
  const refused = engines.map((e) => protocolRefusal(e.stderr)).find((line) => line !== undefined)
  if (refused) return new NetlabError(refused)
  // perl without the modules it uses (Debian's perl-base alone): say which package has them
  const missing = engines.find((e) => /Can't locate \S+\.pm in @INC/.test(e.stderr))
  if (missing) return new NetlabError(perlModuleError(missing.stderr, perlModules([ENGINE_SCRIPT])))
  return new NetlabError(`the probe's engine did not start: ${error.message}`)
}

/**
 * 2. The clients: each engine its share, then "end"; resolves once every engine has said
 * "loaded" (one still reading would not serve the others' connections to its sockets).
 */
async function loadJobs(
  engines: Engine[],
  shares: Probe[][],
  port: number,
  signal: AbortSignal,
  aborted: Promise<'aborted'>,
): Promise<'loaded' | 'aborted'> {
  const loaded = engines.map((e) =>
    e.waitFor(
      (l) => l === 'loaded',
      () => {},
      600_000,
      'loaded',
    ),
  )
  const load = Promise.all(
    engines.map(async (e, i) => {
      const share = shares[i]
      for (let at = 0; at < share.length && !signal.aborted; at += 2000)
        await e.write(
          share
            .slice(at, at + 2000)
            .map((p) => jobLine(p, port) + '\n')
            .join(''),
        )
      await e.write('end\n')
    }),
  )
  try {
    if ((await Promise.race([Promise.all([load, ...loaded]), aborted])) === 'aborted') return 'aborted'
  } catch (error) {
    throw new NetlabError(`the probe's engine stopped while taking its probes: ${(error as Error).message}`)
  }
  return 'loaded'
}

/** 3. "go" to all; each result as it comes; resolves once every engine is done (or stopped, or aborted). */
async function runClients(
  engines: Engine[],
  opts: EngineOptions,
  unbound: Map<string, string>,
  aborted: Promise<'aborted'>,
): Promise<void> {
  const {probes} = opts
  const stopped = (e: Engine) =>
    e.exited.then(({code, signal: sig}) => {
      throw new NetlabError(`the probe's engine stopped (${sig ?? `code ${code}`})${e.stderr ? `: ${e.stderr.trim()}` : ''}`)
    })
  let done = 0
  const allDone = new Promise<void>((resolve) => {
    for (const e of engines)
      e.onLine = (line) => {
        if (line === 'done') {
          if (++done === engines.length) resolve()
          return
        }
        const r = parseResult(line)
        if (r) opts.onResult(r.id, withUnbound(probes[r.id], r.observation, unbound))
      }
  })
  for (const e of engines) void e.write('go\n')
  await Promise.race([allDone, aborted, ...engines.map(stopped)])
}

/** Done (or interrupted): end their input, which stops them; stop any that does not go, by PID and marker. */
async function stopEngines(engines: Engine[], lab: string, marker: string): Promise<void> {
  for (const e of engines) e.child.stdin!.end()
  let timer: NodeJS.Timeout | undefined
  await Promise.race([Promise.all(engines.map((e) => e.exited)), new Promise((r) => (timer = setTimeout(r, 2000)))])
  clearTimeout(timer)
  await Promise.all(
    engines.map(async (e) => {
      if ((await stopProcess(e.child.pid!, marker)).outcome !== 'stuck') unregisterLabProcess(lab, e.name)
    }),
  )
}
