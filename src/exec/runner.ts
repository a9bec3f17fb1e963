// The only place netlab starts programs. Argument arrays only: nothing goes through a shell.
// Children run in their own process group, so a Ctrl-C at the terminal reaches netlab (which
// then rolls back) but never kills an `ip -batch` halfway through its lines.
import {spawn, type ChildProcess} from 'node:child_process'
import {constants as osConstants} from 'node:os'
import {execa} from 'execa'

export interface RunResult {
  exitCode: number
  stdout: string
  stderr: string
  /** the command as one readable line, for error messages */
  command: string
}

export interface RunOptions {
  input?: string
  timeoutMs?: number
  /** on abort the child gets SIGTERM (and is expected to wind down by itself) */
  cancelSignal?: AbortSignal
  /** extra environment variables */
  env?: Record<string, string>
}

export async function run(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await execa(file, args, {
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : 'pipe',
    reject: false,
    detached: true,
    timeout: opts.timeoutMs ?? 120_000,
    cancelSignal: opts.cancelSignal,
    forceKillAfterDelay: false,
    stripFinalNewline: true,
    env: {...opts.env, LC_ALL: 'C'},
  })
  return {
    exitCode: r.exitCode ?? (r.signal ? 128 : 1),
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    command: [file, ...args].join(' '),
  }
}

/**
 * Start a long-lived helper (the probe's engines) and hand back the child to
 * talk to over its pipes. Same rules: an argument array, no shell, its own process group.
 */
export function startProcess(file: string, args: string[], opts: {stdin: 'pipe' | 'ignore'; env: Record<string, string>}): ChildProcess {
  return spawn(file, args, {detached: true, stdio: [opts.stdin, 'pipe', 'pipe'], env: opts.env})
}

/**
 * Start a daemon that outlives netlab (BIRD): its own session, stdin closed, its stdout and
 * stderr into an open file (what it says before its own log is open). Returns its PID.
 */
export function startDaemon(file: string, args: string[], opts: {env: Record<string, string>; outFd: number}): number | undefined {
  const child = spawn(file, args, {detached: true, stdio: ['ignore', opts.outFd, opts.outFd], env: opts.env})
  child.on('error', () => {}) // no PID: the caller reports it
  child.unref()
  return child.pid
}

export interface AttachedOptions {
  /** extra environment variables */
  env?: Record<string, string>
  /** an open file to take the program's stdout instead of the terminal (a pcap from tcpdump -w -) */
  stdoutFd?: number
}

/**
 * Run a program on netlab's own terminal (stdin, stdout and stderr inherited): `netlab exec`,
 * `netlab shell`, `netlab capture`. It stays in netlab's process group, so an interactive shell
 * owns the terminal; while it runs netlab ignores Ctrl-C and Ctrl-\ as a shell does (the program
 * gets them and decides) and passes SIGTERM and SIGHUP on. Resolves to its exit code, or
 * 128 + the signal's number when a signal ended it.
 */
export function runAttached(file: string, args: string[], opts: AttachedOptions = {}): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, {stdio: ['inherit', opts.stdoutFd ?? 'inherit', 'inherit'], env: {...process.env, ...opts.env}})
    const ignore = () => {}
    const pass = (signal: NodeJS.Signals) => child.kill(signal)
    const handlers: [NodeJS.Signals, (s: NodeJS.Signals) => void][] = [
      ['SIGINT', ignore],
      ['SIGQUIT', ignore],
      ['SIGTERM', pass],
      ['SIGHUP', pass],
    ]
    for (const [s, h] of handlers) process.on(s, h)
    const done = () => handlers.forEach(([s, h]) => process.off(s, h))
    child.on('error', (error) => (done(), reject(error)))
    child.on('close', (code, signal) => {
      done()
      resolvePromise(code ?? 128 + (signal ? osConstants.signals[signal] : 0))
    })
  })
}
