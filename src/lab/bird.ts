// routing bgp's daemons: one BIRD per speaker (every node; the router of a multi-segment underlay),
// each inside its own namespace (entered by setns, never the host's: assets/netlab-exec-in.pl), its
// config, control socket, pid file and log under the lab's state directory (bird/), and a process
// record ("bird-NAME", src/host/processes.ts) so that `down` and `up`'s rollback stop it. BIRD is
// started through perl's exec with the record's marker as its argv[0]: the marker is then on its
// command line, and its PID is the one recorded (perl enters the namespace and execs: no fork).
import {closeSync, mkdirSync, openSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setImmediate, setTimeout as sleep} from 'node:timers/promises'
import {NetlabError} from '../core/errors.js'
import {asset} from '../core/paths.js'
import {labOfNetns, processMarker} from '../core/names.js'
import {plural} from '../core/plural.js'
import {readInNamespaces} from '../exec/fanout.js'
import {run, startDaemon} from '../exec/runner.js'
import {findPerl, findTool} from '../host/preflight.js'
import {
  procStat,
  recordedProcessExited,
  registerLabProcess,
  runningLabProcess,
  stopLabProcesses,
  unregisterLabProcess,
  type StopReport,
} from '../host/processes.js'
import {bgpSessions, bgpSpeakers, birdConfig, birdFiles, type BgpSpeaker} from '../modes/bgp-peers.js'
import type {LabModel} from '../model/types.js'
import {labDir} from '../state/paths.js'

const RECORD_PREFIX = 'bird-'
/** a unix socket's path must fit sockaddr_un (108 bytes with its NUL) */
const MAX_SOCKET_PATH = 107

const birdDir = (lab: string) => join(labDir(lab), 'bird')
const recordOf = (name: string) => `${RECORD_PREFIX}${name}`

/** Every BIRD of the lab's model: what `up` starts and `status` asks. */
export function speakers(model: LabModel): BgpSpeaker[] {
  return model.bgp ? bgpSpeakers(model) : []
}

/** Starts a program inside a lab namespace without `ip netns exec`'s copy of the mount table (the script says why). */
export const EXEC_IN = asset('netlab-exec-in.pl')

/** Write a speaker's config (fault: one BIRD refuses, test-only) and start its daemon; returns its PID. */
function startSpeaker(model: LabModel, s: BgpSpeaker, fault = false): number {
  // only ever inside one of this lab's namespaces (a saved model is read back from disk)
  if (labOfNetns(s.netns) !== model.lab) throw new NetlabError(`refusing to start BIRD in ${s.netns}: not a namespace of lab ${model.lab}`)
  const dir = birdDir(model.lab)
  mkdirSync(dir, {recursive: true, mode: 0o700})
  const f = birdFiles(dir, s.name)
  if (f.ctl.length > MAX_SOCKET_PATH)
    throw new NetlabError(
      `BIRD's control socket ${f.ctl} is longer than a socket path may be (${MAX_SOCKET_PATH}): use a shorter NETLAB_STATE_DIR`,
    )
  writeFileSync(f.conf, birdConfig(model, s, dir) + (fault ? 'protocol netlab-injected-fault;\n' : ''))
  const [bird, perl] = [findTool('bird'), findPerl()]
  if (!bird) throw new NetlabError('missing bird: install with: sudo apt-get install -y bird2')
  const marker = processMarker('bird', model.lab, process.pid)
  registerLabProcess(model.lab, recordOf(s.name), marker) // before it exists: see registerLabProcess
  const out = openSync(`${dir}/${s.name}.out`, 'w')
  let pid: number | undefined
  try {
    // argv[0] of BIRD is the marker; -f: it stays this PID
    pid = startDaemon(perl, [EXEC_IN, s.netns, bird, marker, '-f', '-c', f.conf, '-s', f.ctl, '-P', `${dir}/${s.name}.pid`], {
      env: {PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C'},
      outFd: out,
    })
  } finally {
    closeSync(out)
  }
  if (pid === undefined) {
    unregisterLabProcess(model.lab, recordOf(s.name))
    throw new NetlabError(`could not start BIRD for ${s.name} (${bird})`)
  }
  registerLabProcess(model.lab, recordOf(s.name), marker, pid)
  return pid
}

/**
 * netlab apply, before its plan runs: stop the BIRD of each speaker that leaves (its namespace is
 * about to go). The other speakers notice at once: the kernel closes its sessions.
 */
export async function stopLeavingSpeakers(before: LabModel, after: LabModel): Promise<void> {
  const staying = new Set(speakers(after).map((s) => s.netns))
  const leaving = new Set(
    speakers(before)
      .filter((s) => !staying.has(s.netns))
      .map((s) => recordOf(s.name)),
  )
  if (leaving.size > 0) await stopLabProcesses(before.lab, (p) => leaving.has(p.name))
}

/** Does a change of the lab from `before` to `after` change its speakers: one comes or goes, or one's config changes (its peers)? */
export function speakersChange(before: LabModel, after: LabModel): boolean {
  const dir = birdDir(after.lab)
  const conf = (m: LabModel) => new Map(speakers(m).map((s) => [s.name, birdConfig(m, s, dir)]))
  const [was, now] = [conf(before), conf(after)]
  return was.size !== now.size || [...now].some(([name, text]) => was.get(name) !== text)
}

/**
 * Make the lab's speakers those of `model` (netlab apply, once its plan ran; or its rollback, back
 * to the old model): a speaker without a running BIRD is started; one whose config changed (a
 * full mesh's peers) gets it rewritten and reloaded (`birdc configure`, as calico's confd does);
 * speakers `model` does not have are stopped. Then wait until every node has learned every block.
 */
export async function settleSpeakers(model: LabModel, signal?: AbortSignal): Promise<void> {
  const all = speakers(model)
  const names = new Set(all.map((s) => recordOf(s.name)))
  await stopLabProcesses(model.lab, (p) => p.name.startsWith(RECORD_PREFIX) && !names.has(p.name))
  const dir = birdDir(model.lab)
  for (const s of all) {
    if (runningLabProcess(model.lab, recordOf(s.name)) === undefined) {
      startSpeaker(model, s)
      continue
    }
    const f = birdFiles(dir, s.name)
    const conf = birdConfig(model, s, dir)
    if (readFileSync(f.conf, 'utf8') === conf) continue
    writeFileSync(f.conf, conf)
    const r = await birdc(model, s.name, ['configure'])
    if (!r.ok) throw new NetlabError(`BIRD of ${s.name} did not take its new config: ${r.text.trim().split('\n').pop()}`)
  }
  await waitConverged(model, performance.now(), signal)
}

/** birdc's answer through a speaker's control socket (it needs no namespace: the socket is a file). */
export async function birdc(model: LabModel, name: string, command: string[]): Promise<{ok: boolean; text: string}> {
  const r = await run(findTool('birdc') ?? 'birdc', ['-s', birdFiles(birdDir(model.lab), name).ctl, ...command], {timeoutMs: 5000})
  // its first line is the banner ("BIRD 2.0.12 ready.")
  const text = r.stdout.replace(/^BIRD [^\n]* ready\.\n?/, '')
  return {ok: r.exitCode === 0 && !/^Unable to connect/m.test(r.stdout + r.stderr), text: text || r.stderr}
}

/** The blocks a speaker has learned by BGP: the prefixes of `show route where source = RTS_BGP`. */
async function learnedBlocks(model: LabModel, name: string): Promise<Map<string, string> | undefined> {
  const r = await birdc(model, name, ['show', 'route', 'where', 'source', '=', 'RTS_BGP'])
  if (!r.ok) return undefined
  const out = new Map<string, string>()
  // "10.244.1.0/24        unicast [to_node_1 10:31:02.123 from 192.168.50.3] * (100) [i]" then "	via 192.168.50.3 on eth0"
  let last: string | undefined
  for (const line of r.text.split('\n')) {
    const m = /^(\d+\.\d+\.\d+\.\d+\/\d+)\s/.exec(line)
    if (m) last = m[1]
    const via = /^\s+via (\S+) on /.exec(line)
    if (via && last && !out.has(last)) out.set(last, via[1])
  }
  return out
}

/** A route of a namespace's table, as `ip -j route` gives it (protocol: who wrote it). */
interface KernelRoute {
  dst: string
  protocol?: string
  gateway?: string
}

/**
 * Each namespace's IPv4 main table (`bird`: only the routes BIRD wrote, proto bird); undefined
 * where it could not be read. One netlab-nsexec for all of them, not a program per namespace.
 */
export async function routeTables(netns: string[], only?: 'bird'): Promise<(KernelRoute[] | undefined)[]> {
  const argv = ['ip', '-4', '-j', 'route', 'show', ...(only ? ['proto', only] : ['table', 'main'])]
  const read = await readInNamespaces(
    netns.map((ns) => ({netns: ns, argv})),
    {parallel: 4, workDir: tmpdir()},
  )
  return read.map((r) => {
    if (r.code !== 0) return undefined
    try {
      return (JSON.parse(r.out || '[]') as KernelRoute[]).map(({dst, protocol, gateway}) => ({
        dst,
        ...(protocol ? {protocol} : {}),
        ...(gateway ? {gateway} : {}),
      }))
    } catch {
      return undefined
    }
  })
}

/** What a speaker must learn: every other node's block. */
function expectedBlocks(model: LabModel, s: BgpSpeaker): string[] {
  return model.nodes.filter((n) => n.name !== s.name).map((n) => n.podCIDR)
}

/** How long `up` waits for every speaker to learn every block: BIRD's first connect comes after 1 s, then about a second. */
function convergenceLimitMs(model: LabModel): number {
  return 10_000 + 100 * speakers(model).length
}

/**
 * Start every BIRD of the lab and wait until each has learned every other node's block. Resolves
 * with how long that took; throws (one line: the first speaker that did not, and BIRD's reason)
 * when one exits or the wait runs out. The daemons may be running then: the caller's rollback
 * stops them (stopBgp). `fault` (test-only, NETLAB_TEST_FAULT_AT=bird): the last speaker's
 * config is refused.
 */
export async function startBgp(
  model: LabModel,
  opts: {fault?: boolean; signal?: AbortSignal} = {},
): Promise<{ms: number; sessions: number; daemons: number}> {
  const all = speakers(model)
  const t0 = performance.now()
  for (const [i, s] of all.entries()) {
    startSpeaker(model, s, opts.fault === true && i === all.length - 1)
    // a Ctrl-C is heard between starts (1,000 speakers take seconds)
    if (i % 50 === 49) await setImmediate()
    if (opts.signal?.aborted) throw new NetlabError(`interrupted by ${String(opts.signal.reason)} while BIRD started`)
  }
  await waitConverged(model, t0, opts.signal)
  return {ms: Math.round(performance.now() - t0), sessions: bgpSessions(model).length, daemons: all.length}
}

/** Wait (bounded, from t0; `signal`: up's, a Ctrl-C ends the wait) until every speaker has learned every other node's block; throws why not. */
async function waitConverged(model: LabModel, t0 = performance.now(), signal?: AbortSignal): Promise<void> {
  const all = speakers(model)
  const waiting = new Set(all.map((s) => s.name))
  const limit = convergenceLimitMs(model)
  for (;;) {
    for (const s of all.filter((x) => waiting.has(x.name)))
      if (recordedProcessExited(model.lab, recordOf(s.name))) throw new NetlabError(exitedReason(model, s))
    const pending = all.filter((x) => waiting.has(x.name))
    // learned where it counts: in the kernel
    const tables = await routeTables(
      pending.map((x) => x.netns),
      'bird',
    )
    pending.forEach((x, i) => {
      const learned = new Set((tables[i] ?? []).map((r) => r.dst))
      if (expectedBlocks(model, x).every((b) => learned.has(b))) waiting.delete(x.name)
    })
    if (waiting.size === 0) return
    if (signal?.aborted) throw new NetlabError(`interrupted by ${String(signal.reason)} while BGP converged`)
    if (performance.now() - t0 > limit) throw new NetlabError(await notConvergedReason(model, all, waiting, limit))
    await sleep(50)
  }
}

function exitedReason(model: LabModel, s: BgpSpeaker): string {
  let said = ''
  try {
    said =
      readFileSync(`${birdDir(model.lab)}/${s.name}.out`, 'utf8')
        .trim()
        .split('\n')
        .pop() ?? ''
  } catch {
    // nothing written
  }
  return `BIRD of ${s.name} exited${said ? `: ${said}` : ''}`
}

async function notConvergedReason(model: LabModel, all: BgpSpeaker[], waiting: Set<string>, limit: number): Promise<string> {
  const first = all.find((s) => waiting.has(s.name))!
  const learned = (await learnedBlocks(model, first.name)) ?? new Map()
  const missing = expectedBlocks(model, first).filter((b) => !learned.has(b))
  const down = (await bgpSessionStates(model, first.name)).filter((x) => x.state !== 'Established')
  const why =
    down.length > 0
      ? `; its sessions: ${down.map((d) => `${d.peer}: ${d.state}${d.info ? ` (${d.info})` : ''}`).join(', ')}`
      : '; its sessions are established, but no peer announces them'
  return (
    `BGP did not converge within ${limit / 1000} s: ${first.name} has not learned ${missing.join(', ')}${why}` +
    (waiting.size > 1 ? ` (and ${plural(waiting.size - 1, 'other speaker')} are waiting)` : '')
  )
}

/** One BGP session as a speaker's BIRD sees it. */
export interface SessionState {
  /** the peer's name in the lab (its address when no speaker holds it) */
  peer: string
  address: string
  /** BIRD's BGP state: Established, Active, Connect, Idle, … */
  state: string
  /** BIRD's last error, if any */
  info?: string
}

/**
 * A speaker's BGP sessions (`show protocols all`): configured ones and the dynamic ones that
 * peers made; the passive templates that only wait are left out.
 */
export async function bgpSessionStates(model: LabModel, name: string): Promise<SessionState[]> {
  const r = await birdc(model, name, ['show', 'protocols', 'all'])
  if (!r.ok) return []
  const out: SessionState[] = []
  for (const block of r.text.split(/\n(?=\S)/)) {
    if (!/^\S+\s+BGP\s/.test(block)) continue
    const address = /Neighbor address:\s+(\S+)/.exec(block)?.[1]
    if (!address || address.includes('/')) continue // a range: the passive protocol itself
    const state = /BGP state:\s+(\S+)/.exec(block)?.[1] ?? 'Down'
    const info = /Last error:\s+(.+)/.exec(block)?.[1]?.trim()
    out.push({peer: speakerAt(model, address), address, state, ...(info ? {info} : {})})
  }
  return out
}

/** Stop every BIRD of the lab (rollback; `down` stops every lab process itself). */
export function stopBgp(lab: string): Promise<StopReport> {
  return stopLabProcesses(lab, (p) => p.name.startsWith(RECORD_PREFIX))
}

/**
 * Freeze one speaker's BIRD (SIGSTOP), as a node that goes quiet: its sockets stay open but it
 * sends nothing, not even a keepalive, so its peers drop it only when their hold time runs out
 * (a killed BIRD would be noticed at once: the kernel closes its TCP connections). The fault
 * bgp-down. False when it was not running.
 */
export function freezeSpeaker(lab: string, name: string): boolean {
  const pid = runningLabProcess(lab, recordOf(name))
  if (pid === undefined) return false
  process.kill(pid, 'SIGSTOP')
  return true
}

/** A speaker's BIRD: running, frozen (stopped by a signal: it sends nothing) or gone. */
export function speakerState(lab: string, name: string): 'running' | 'frozen' | 'gone' {
  const pid = runningLabProcess(lab, recordOf(name))
  if (pid === undefined) return 'gone'
  return procStat(pid)?.state === 'T' ? 'frozen' : 'running'
}

/**
 * Start one speaker's BIRD afresh (fix of bgp-down): a frozen one is stopped first (its sessions
 * are dead on the other side), then the lab waits until it has converged again.
 */
export async function restartSpeaker(model: LabModel, name: string): Promise<void> {
  const s = speakers(model).find((x) => x.name === name)
  if (!s) throw new NetlabError(`lab ${model.lab} has no BGP speaker ${name}`)
  if (speakerState(model.lab, name) === 'frozen') {
    const report = await stopLabProcesses(model.lab, (p) => p.name === recordOf(name))
    if (report.stuck.length > 0) throw new NetlabError(`BIRD of ${name} (pid ${report.stuck[0].pid}) ${report.stuck[0].why}`)
  }
  if (speakerState(model.lab, name) === 'gone') startSpeaker(model, s)
  await waitConverged(model)
}

/** The PID of a speaker's BIRD while it runs. */
export function speakerPid(lab: string, name: string): number | undefined {
  return runningLabProcess(lab, recordOf(name))
}

/** What `status` says of routing bgp: each daemon, its sessions and what it has learned. */
export interface BgpStatus {
  asNumber: number
  routeReflectors: string[]
  speakers: {
    name: string
    as: number
    /** its BIRD's PID, when it runs */
    pid?: number
    /** stopped by a signal (netlab break bgp-down): it answers nothing, sends nothing */
    frozen?: boolean
    sessions: SessionState[]
    /** the blocks it has learned, each with the next hop and who that is */
    learned: {block: string; via: string; from: string}[]
  }[]
}

/** The name of the speaker that holds `ip` (a node, or a leg of the router); the address itself when none does. */
export function speakerAt(model: LabModel, ip: string): string {
  return model.nodes.find((n) => n.ip === ip)?.name ?? (model.router?.legs.some((l) => l.ip === ip) ? model.router.name : ip)
}

export async function bgpStatus(model: LabModel): Promise<BgpStatus | undefined> {
  if (!model.bgp) return undefined
  const each = await Promise.all(
    speakers(model).map(async (s) => {
      const pid = runningLabProcess(model.lab, recordOf(s.name))
      if (pid === undefined) return {name: s.name, as: s.as, sessions: [], learned: []}
      if (speakerState(model.lab, s.name) === 'frozen') return {name: s.name, as: s.as, pid, frozen: true, sessions: [], learned: []}
      const [sessions, learned] = await Promise.all([bgpSessionStates(model, s.name), learnedBlocks(model, s.name)])
      const routes = [...(learned ?? new Map<string, string>())].map(([block, via]) => ({block, via, from: speakerAt(model, via)}))
      return {name: s.name, as: s.as, pid, sessions, learned: routes}
    }),
  )
  return {asNumber: model.bgp.asNumber, routeReflectors: model.bgp.routeReflectors, speakers: each}
}

/** status's lines for routing bgp: a line per daemon (running or not, its sessions, what it learned). */
export function renderBgpStatus(b: BgpStatus): string[] {
  const layout = b.routeReflectors.length > 0 ? `route reflectors ${b.routeReflectors.join(', ')}` : 'full mesh'
  return [
    `BGP: AS ${b.asNumber}, ${layout} (netlab bgp LAB NODE shows BIRD's own view)`,
    ...b.speakers.map((s) => {
      if (s.pid === undefined) return `  ${s.name}: BIRD NOT running`
      if (s.frozen) return `  ${s.name}: BIRD FROZEN (pid ${s.pid}, stopped: it sends and answers nothing)`
      const up = s.sessions.filter((x) => x.state === 'Established').length
      const down = s.sessions.filter((x) => x.state !== 'Established').map((x) => `${x.peer} ${x.state}`)
      return (
        `  ${s.name}: BIRD running (pid ${s.pid}), ${up}/${plural(s.sessions.length, 'session')} established` +
        (down.length ? ` (not: ${down.join(', ')})` : '') +
        `; learned ${s.learned.length ? s.learned.map((l) => `${l.block} from ${l.from}`).join(', ') : 'nothing'}`
      )
    }),
  ]
}
