// A job runner for the probe's client programs: one long-lived `perl assets/netlab-jobs.pl`
// that forks, enters the job's lab namespace (setns) and execs the program (argument lists,
// never a shell), a bounded number at once. It cannot run anything in the host's own namespace.
//
// Why not run() + pool(): Node's spawn() blocks its thread until the child has exec()ed. With a
// thousand short jobs on a busy two-core machine that wait serialised the probe (measured: 14.7 s
// of a 27 s 50×10 probe spent blocked in spawn). A fork in a small perl process returns at once.
import type {ChildProcess} from 'node:child_process'
import {startProcess} from '../exec/runner.js'
import {findPerl} from '../lab/preflight.js'
import type {RunResult} from '../exec/runner.js'
import {assetPath} from './owned.js'

export const JOBS_SCRIPT = assetPath('netlab-jobs.pl')

const NETNS_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

export function encodeJob(id: number, netns: string, argv: string[], timeoutMs: number): Buffer {
  if (!NETNS_NAME.test(netns)) throw new Error(`bad namespace name: ${JSON.stringify(netns)}`)
  if (argv.length === 0 || !argv[0]) throw new Error('empty command')
  for (const a of argv) if (a.includes('\0')) throw new Error(`argument with a NUL byte: ${JSON.stringify(a)}`)
  const args = Buffer.from([netns, ...argv].map((a) => `${a}\0`).join(''), 'utf8')
  return Buffer.concat([Buffer.from(`${id} ${Math.max(1, Math.round(timeoutMs))} ${args.length}\n`), args])
}

export interface JobResult {
  id: number
  code: number
  signal: number
  timedOut: boolean
  stdout: string
  stderr: string
}

/** Complete result frames at the start of `buf`; returns them and the bytes left over. */
export function decodeResults(buf: Buffer): {results: JobResult[]; rest: Buffer} {
  const results: JobResult[] = []
  let at = 0
  for (;;) {
    const nl = buf.indexOf(10, at)
    if (nl < 0) break
    const m = /^(\d+) (-?\d+) (\d+) ([01]) (\d+) (\d+)$/.exec(buf.toString('latin1', at, nl))
    if (!m) throw new Error(`bad result header from netlab-jobs: ${buf.toString('latin1', at, Math.min(nl, at + 80))}`)
    const outLen = Number(m[5])
    const errLen = Number(m[6])
    const end = nl + 1 + outLen + errLen
    if (buf.length < end) break
    results.push({
      id: Number(m[1]),
      code: Number(m[2]),
      signal: Number(m[3]),
      timedOut: m[4] === '1',
      stdout: buf.toString('utf8', nl + 1, nl + 1 + outLen),
      stderr: buf.toString('utf8', nl + 1 + outLen, end),
    })
    at = end
  }
  return {results, rest: buf.subarray(at)}
}

export class JobRunner {
  private nextId = 0
  private pending = new Map<number, {resolve: (r: RunResult) => void; command: string}>()
  /** jobs not yet handed to the runner: it gets only a few more than it may run, so it stays
   *  small, and a fork of a small process is cheap (a big queue in perl made forks cost 15%) */
  private backlog: Buffer[] = []
  private handedOver = 0
  private buf: Buffer = Buffer.alloc(0)
  private dead?: Error
  private exited: Promise<void>

  private constructor(
    private child: ChildProcess,
    private window: number,
  ) {
    child.stdout!.on('data', (chunk: Buffer) => this.onData(chunk))
    child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(chunk))
    child.stdin!.on('error', () => {}) // it died: reported through 'exit'
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.fail(new Error(`the job runner exited (${signal ?? `code ${code}`})`))
        resolve()
      })
      child.once('error', (error) => {
        this.fail(error)
        resolve()
      })
    })
  }

  /**
   * Start a runner: at most `busy` jobs that want a CPU at once; jobs that only wait for a
   * timeout stop counting, up to `total` jobs in all (`leaseMs`: see netlab-jobs.pl).
   */
  static start(marker: string, limits: {busy: number; total: number; leaseMs: number}): JobRunner {
    const perl = findPerl() // its modules: checked by the probe's preflight (requirePerl)
    // its own process group: a Ctrl-C reaches netlab, which then stops the runner itself
    const child = startProcess(
      perl,
      [JOBS_SCRIPT, marker, String(limits.busy), String(Math.max(limits.busy, limits.total)), String(limits.leaseMs)],
      {
        stdin: 'pipe',
        env: {PATH: process.env.PATH || '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', NETLAB_PROBE_PID: String(process.pid)},
      },
    )
    return new JobRunner(child, Math.max(limits.busy, limits.total) + 8)
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  /** Run one program inside `netns`; resolves like run() (never rejects for the program's own failure). */
  run(netns: string, argv: string[], opts: {timeoutMs?: number} = {}): Promise<RunResult> {
    const command = `(in ${netns}) ${argv.join(' ')}`
    const id = this.nextId++
    const job = encodeJob(id, netns, argv, opts.timeoutMs ?? 120_000) // throws on a bad name
    if (this.dead) return Promise.resolve({exitCode: 127, stdout: '', stderr: this.dead.message, command})
    return new Promise((resolve) => {
      this.pending.set(id, {resolve, command})
      this.backlog.push(job)
      this.handOver()
    })
  }

  private handOver(): void {
    while (this.handedOver < this.window && this.backlog.length > 0 && !this.dead) {
      this.child.stdin!.write(this.backlog.shift()!)
      this.handedOver++
    }
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk])
    let decoded: {results: JobResult[]; rest: Buffer}
    try {
      decoded = decodeResults(this.buf)
    } catch (error) {
      this.fail(error as Error)
      this.child.kill('SIGKILL')
      return
    }
    this.buf = decoded.rest
    for (const r of decoded.results) {
      this.handedOver--
      const p = this.pending.get(r.id)
      if (!p) continue
      this.pending.delete(r.id)
      const why = r.timedOut ? `timed out, killed\n` : r.signal ? `killed by signal ${r.signal}\n` : ''
      p.resolve({
        exitCode: r.code >= 0 ? r.code : 128 + r.signal,
        stdout: r.stdout.replace(/\n$/, ''),
        stderr: (r.stderr + why).replace(/\n$/, ''),
        command: p.command,
      })
    }
    this.handOver()
  }

  private fail(error: Error): void {
    this.dead ??= error
    this.backlog = []
    for (const [, p] of this.pending) p.resolve({exitCode: 127, stdout: '', stderr: error.message, command: p.command})
    this.pending.clear()
  }

  /** No more jobs: let the ones given finish, then the runner exits. */
  async close(): Promise<void> {
    while (this.backlog.length > 0 && !this.dead) await new Promise((r) => setTimeout(r, 10))
    this.child.stdin!.end()
    await this.exited
  }

  /** Stop now: the runner kills the jobs it started and exits. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM')
    await this.exited
  }
}
