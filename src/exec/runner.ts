// The only place netlab starts programs. Argument arrays only: nothing goes through a shell.
// Children run in their own process group, so a Ctrl-C at the terminal reaches netlab (which
// then rolls back) but never kills an `ip -batch` halfway through its lines.
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
    env: {LC_ALL: 'C'},
  })
  return {exitCode: r.exitCode ?? (r.signal ? 128 : 1), stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), command: [file, ...args].join(' ')}
}
