// Start programs for the benchmark and time them from the outside (wall clock, process start-up
// included). Every child is remembered by PID while it runs, so an interrupted benchmark can
// signal exactly the processes it started, and nothing else.
import {spawn, type ChildProcess} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

/** The repository root (this file runs as dist/bench/proc.js). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BIN = join(ROOT, 'bin', 'run.js')

export interface Timed {
  /** exit code; 128+N when killed by signal N (-1 when it could not start) */
  code: number
  stdout: string
  stderr: string
  /** wall clock from spawn to exit */
  ms: number
  /** with sampleTree: the largest memory (summed Pss) of the child and all its descendants, KB */
  peakTreeKB?: number
}

export interface RunOpts {
  input?: string
  env?: Record<string, string>
  /** SIGTERM after this long (default 10 minutes) */
  timeoutMs?: number
  /** throw away stdout (the naive script prints a line per sysctl) */
  quiet?: boolean
  /**
   * What stops this child when the benchmark is interrupted (default SIGTERM). netlab gets
   * SIGINT, as from Ctrl-C: it then rolls back. Not SIGINT for bash: bash ignores a SIGINT
   * that its running command survived, and would go on with the script.
   */
  interrupt?: NodeJS.Signals
  /** sample the memory of the child's whole process tree every 100 ms (a probe: Node and its engines) */
  sampleTree?: boolean
}

/**
 * Memory of `root` and every process below it right now, KB: the sum of their proportional set
 * sizes (Pss: a page shared by n processes counts 1/n in each), so a library shared by the
 * processes is counted once, as the machine pays for it.
 */
export function treeRssKB(root: number): number {
  const children = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1')
      // the command name may hold spaces: the fields after it start past the last ')'
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)])
    } catch {
      // gone meanwhile
    }
  }
  let sum = 0
  const todo = [root]
  while (todo.length > 0) {
    const pid = todo.pop()!
    try {
      sum += Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'))?.[1] ?? 0)
    } catch {
      // gone meanwhile
    }
    todo.push(...(children.get(pid) ?? []))
  }
  return sum
}

const running = new Map<ChildProcess, NodeJS.Signals>()

/** Stop every child this benchmark is running right now, each by its PID, with its own signal. */
export function interruptRunning(): void {
  for (const [c, sig] of running) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, sig)
      } catch {
        // already gone
      }
    }
  }
}

const SIGNALS: Record<string, number> = {SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15}

export function runTimed(cmd: string, args: string[], opts: RunOpts = {}): Promise<Timed> {
  return new Promise((done) => {
    const started = performance.now()
    let child: ChildProcess
    try {
      child = spawn(cmd, args, {
        cwd: ROOT,
        env: {...process.env, NO_COLOR: '1', ...opts.env},
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', opts.quiet ? 'ignore' : 'pipe', 'pipe'],
      })
    } catch (error) {
      done({code: -1, stdout: '', stderr: (error as Error).message, ms: 0})
      return
    }
    running.set(child, opts.interrupt ?? 'SIGTERM')
    let peakTreeKB: number | undefined
    const sampler =
      opts.sampleTree && child.pid !== undefined
        ? setInterval(() => (peakTreeKB = Math.max(peakTreeKB ?? 0, treeRssKB(child.pid!))), 100)
        : undefined
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout?.on('data', (d: Buffer) => out.push(d))
    child.stderr?.on('data', (d: Buffer) => err.push(d))
    const timer = setTimeout(() => {
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGTERM')
        } catch {
          // gone
        }
      }
    }, opts.timeoutMs ?? 600_000)
    let ms = 0
    let code = -1
    let finished = false
    const finish = () => {
      if (finished) return
      finished = true
      clearTimeout(timer)
      clearInterval(sampler)
      running.delete(child)
      done({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms,
        ...(peakTreeKB !== undefined ? {peakTreeKB} : {}),
      })
    }
    child.on('error', (e) => {
      err.push(Buffer.from(String(e.message)))
      ms = performance.now() - started
      finish()
    })
    child.on('exit', (c, sig) => {
      ms = performance.now() - started
      code = c ?? 128 + (sig ? (SIGNALS[sig] ?? 0) : 0)
      // Output is complete on 'close'; but a grandchild that kept our pipe open (it should not)
      // must not hang the benchmark.
      setTimeout(() => {
        child.stdout?.destroy()
        child.stderr?.destroy()
        finish()
      }, 3000).unref()
    })
    child.on('close', () => finish())
    if (opts.input !== undefined) child.stdin?.end(opts.input)
  })
}

/** Run the netlab CLI (node bin/run.js ...). */
export function netlab(args: string[], opts: RunOpts = {}): Promise<Timed> {
  return runTimed(process.execPath, [BIN, ...args], {interrupt: 'SIGINT', ...opts})
}

/** The first JSON value printed on stdout, or undefined. */
export function parseJson<T>(text: string): T | undefined {
  const start = text.indexOf('{')
  if (start < 0) return undefined
  try {
    return JSON.parse(text.slice(start)) as T
  } catch {
    return undefined
  }
}

export function firstLine(s: string): string {
  return (
    s
      .split('\n')
      .find((l) => l.trim().length > 0)
      ?.trim() ?? ''
  )
}
