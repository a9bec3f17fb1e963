// Helpers for integration tests: run the real CLI, write throw-away topologies, and make sure
// every lab a test creates is gone afterwards, even when the test fails.
import {execFileSync, spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {stringify} from 'yaml'
import {afterAll} from 'vitest'
import {BIN, cliEnv, ROOT, WAIT_MS} from './constants.js'

export {BIN, cliEnv, ROOT, smallTopology} from './constants.js'
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  ms: number
}

/** A private state directory per test file, so tests never see each other's labs. */
export function makeStateDir(): string {
  return mkdtempSync(join(tmpdir(), 'netlab-state-'))
}

export function netlab(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): CliResult {
  const started = performance.now()
  // a large lab's plan as JSON is several MB: more than spawnSync's default 1 MB of output
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: cliEnv({...env, NO_COLOR: '1'}),
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 256 * 1024 * 1024,
  })
  return {code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - started}
}

/** As netlab(), without blocking: for labs of one test file worked on side by side (their waits overlap). */
export function netlabAsync(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const started = performance.now()
  const child = netlabSpawn(args, env)
  let stdout = ''
  child.stdout?.on('data', (d) => (stdout += d))
  return exited(child).then(({code, stderr}) => ({code: code ?? -1, stdout, stderr, ms: performance.now() - started}))
}

/** Start the CLI without waiting (for signal tests). */
export function netlabSpawn(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: cliEnv({...env, NO_COLOR: '1'}),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

let counter = 0
/** Unique per test and per run: two runs of the suite never collide. */
export function uniqueLab(prefix: string): string {
  return `t${process.pid.toString(36)}${(counter++).toString(36)}-${prefix}`.slice(0, 24).replace(/-+$/, '')
}

export function writeTopology(dir: string, topo: Record<string, unknown>): string {
  const file = join(dir, `${String(topo.name)}.yaml`)
  writeFileSync(file, stringify(topo))
  return file
}

export function labNetns(lab: string): string[] {
  try {
    return readdirSync('/run/netns').filter((ns) => ns.startsWith(`netlab-${lab}.`))
  } catch {
    return []
  }
}

/** Last-resort cleanup: netlab down, then delete anything still named for the lab. */
export function destroyLab(lab: string, stateDir: string): void {
  netlab(['down', lab], {NETLAB_STATE_DIR: stateDir})
  for (const ns of labNetns(lab)) spawnSync('ip', ['netns', 'del', ns])
}

export function ipIn(netns: string, args: string[]): string {
  return execFileSync('ip', ['-n', netns, ...args], {encoding: 'utf8'})
}

/**
 * Everything about the root namespace that a lab must never change: links, addresses, routes,
 * rules, iptables (without its comment lines, which hold the time), the forwarding sysctls. Read
 * by one shell (a spawn from this large process costs more than the reads: the rollback test
 * takes a snapshot after each of ~300 faults).
 */
const ROOT_SNAPSHOT = [
  'ip -d link',
  'ip addr',
  'ip route show table all',
  'ip rule',
  "iptables-save | grep -v '^#'",
  'sysctl -n net.ipv4.ip_forward net.ipv4.conf.all.forwarding net.ipv6.conf.all.forwarding',
].join('; echo =====; ')

export function rootSnapshot(): string {
  const r = spawnSync('sh', ['-c', ROOT_SNAPSHOT], {encoding: 'utf8', maxBuffer: 64 * 1024 * 1024})
  if (r.status === null || r.error) throw new Error(`root snapshot: ${r.error?.message ?? r.signal}`)
  return r.stdout
}

/**
 * Resolves once `child` has exited and its output has closed, with its exit code and what it wrote
 * to stderr from this call on (call it right after starting the child to have all of it). With
 * `ms`, rejects if the child has not exited by then.
 */
export function exited(child: ChildProcess, ms?: number): Promise<{code: number | null; stderr: string}> {
  let stderr = ''
  child.stderr?.on('data', (d) => (stderr += d))
  const closed = [child.stdout, child.stderr].every((s) => !s || s.destroyed)
  if ((child.exitCode !== null || child.signalCode !== null) && closed) return Promise.resolve({code: child.exitCode, stderr})
  return new Promise((resolve, reject) => {
    const timer = ms === undefined ? undefined : setTimeout(() => reject(new Error(`pid ${child.pid} did not exit within ${ms} ms`)), ms)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({code, stderr})
    })
  })
}

/** Poll `cond` every 20 ms until it holds; throw after `ms`. */
export async function waitFor(cond: () => boolean, ms = WAIT_MS): Promise<void> {
  for (let t = 0; t < ms && !cond(); t += 20) await sleep(20)
  if (!cond()) throw new Error('timed out waiting')
}

export function removeDir(dir: string): void {
  rmSync(dir, {recursive: true, force: true})
}

/**
 * A private state directory for one describe block, and the labs it makes: every lab passed to
 * track() is torn down after the block, even when a test failed.
 */
export function labSandbox(): {stateDir: string; env: Record<string, string>; track: (lab: string) => string} {
  const stateDir = makeStateDir()
  const labs: string[] = []
  afterAll(() => {
    labs.forEach((lab) => destroyLab(lab, stateDir))
    removeDir(stateDir)
  })
  return {stateDir, env: {NETLAB_STATE_DIR: stateDir}, track: (lab) => (labs.push(lab), lab)}
}
