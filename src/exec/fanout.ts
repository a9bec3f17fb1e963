// Runs jobs inside namespaces through assets/netlab-nsexec.pl: one small process that enters
// each namespace with setns(2) and does the job there (see the script for why). Used for the
// in-namespace lanes of a stage, and for the final wait until every link is running.
import {accessSync, constants, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {NetlabError} from '../core/errors.js'
import {asset} from '../core/paths.js'
import {outcome, prepare, type BatchOutcome, type Prepared} from './batch.js'
import {notRun, succeeded} from '../tools/outcome.js'
import type {Step} from '../tools/types.js'
import {protocolRefusal} from '../core/protocol.js'
import {run} from './runner.js'
import type {Lane} from './schedule.js'

export const NSEXEC = asset('netlab-nsexec.pl')
/** The job-line protocol spoken with NSEXEC (docs/runner-protocol.md); the script has the same constant and refuses any other. */
export const NSEXEC_PROTOCOL = 1

export interface FanoutOptions {
  parallel: number
  workDir: string
  faultAt?: number
  signal?: AbortSignal
}

type JobResult =
  | {state: 'ok'}
  | {state: 'failed'; step: number; code: number; stderr: string; at?: number; also?: number[]}
  | {state: 'unknown'}
  | {state: 'not-run'}

/** Run one job per entry (its steps in order, inside its namespace); `dir` holds step files and error output. */
async function nsexec(jobs: {netns: string; steps: string[]}[], dir: string, opts: FanoutOptions): Promise<JobResult[]> {
  const input = jobs.map((j, i) => [String(i), j.netns, ...j.steps].join('\t')).join('\n') + '\n'
  const r = await run('perl', [NSEXEC, String(opts.parallel), dir], {
    input,
    cancelSignal: opts.signal,
    timeoutMs: 600_000,
    env: {NETLAB_NSEXEC_PROTOCOL: String(NSEXEC_PROTOCOL)},
  })
  const started = new Set<number>()
  const ok = new Set<number>()
  const failed = new Map<number, {step: number; code: number; at?: number; also?: number[]}>()
  for (const line of r.stdout.split('\n')) {
    const [kind, id, step, code, at, also] = line.split(' ')
    if (kind === 'start') started.add(Number(id))
    else if (kind === 'ok') ok.add(Number(id))
    else if (kind === 'fail')
      failed.set(Number(id), {step: Number(step), code: Number(code), at: at ? Number(at) : undefined, also: also?.split(',').map(Number)})
  }
  if (r.exitCode !== 0 && started.size === 0 && !opts.signal?.aborted) {
    const refused = protocolRefusal(r.stderr)
    if (refused) throw new NetlabError(refused)
    throw new Error(`netlab-nsexec failed: ${r.stderr || `exit ${r.exitCode}`}`)
  }
  return jobs.map((_, i) => {
    if (ok.has(i)) return {state: 'ok'}
    const f = failed.get(i)
    if (f) {
      let stderr = ''
      try {
        stderr = readFileSync(join(dir, `${i}.${f.step}.err`), 'utf8')
      } catch {
        // the step wrote nothing
      }
      return {state: 'failed', step: f.step, code: f.code, stderr, at: f.at, also: f.also}
    }
    // Never started (interrupted first): nothing ran. Started but no word back: unknown.
    return started.has(i) ? {state: 'unknown'} : {state: 'not-run'}
  })
}

function withDir<T>(workDir: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(workDir, 'nsexec-'))
  return fn(dir).finally(() => rmSync(dir, {recursive: true, force: true}))
}

/** record and unit separators: a step's op records, inline on its job line */
const RS = String.fromCharCode(0x1e)
const US = String.fromCharCode(0x1f)

/** What a pipe takes without its writer waiting for the reader (Linux: 64 KiB); half of it, to be safe. */
const PIPE_INPUT = 32 * 1024

/** Fields that can go inline on a job line: no record, unit or line separator in them. */
const inlineSafe = (fields: string[]) => fields.every((f) => !f.includes(RS) && !f.includes(US) && !f.includes('\n'))

/** Records (tab-separated fields) inline: \x1e between records, \x1f for each tab. */
const inline = (records: string[]) => records.map((r) => r.replaceAll('\t', US)).join(RS)

/** A runner step as nsexec reads it: `netlink-ops:OPS`, `exec-ops:SPEC`, `sysctl:KEY=VALUE` (see the script). */
function stepText(step: Step, file: string): string {
  if (step.kind === 'sysctl') return `sysctl:${step.key}=${step.value}`
  // inline, not a file per namespace: 1,000 files cost a second on a busy disk (/run is not always a tmpfs)
  if (step.kind === 'netlink') {
    if (inlineSafe(step.ops)) return `netlink-ops:${inline(step.ops)}`
    writeFileSync(file, step.ops.join('\n') + '\n')
    return `netlink:${file}`
  }
  const spec = [['argv', ...step.argv].join('\t'), ...Object.entries(step.env ?? {}).map(([k, v]) => `env\t${k}=${v}`)]
  // a program's input inline, as hex (any bytes); nsexec gives it to the program through a pipe,
  // which holds PIPE_INPUT at once: a longer one (kube-proxy's rules for a node: ~0.5 MB at 200
  // Services) would keep nsexec writing, every other namespace waiting, until the program had
  // read it all, so it goes in a file the program reads by itself
  if (inlineSafe(spec) && (step.stdin === undefined || step.stdin.length <= PIPE_INPUT)) {
    if (step.stdin !== undefined) spec.push(`input\t${Buffer.from(step.stdin).toString('hex')}`)
    return `exec-ops:${inline(spec)}`
  }
  if (step.stdin !== undefined) {
    writeFileSync(`${file}.in`, step.stdin)
    spec.push(`stdin\t${file}.in`)
  }
  writeFileSync(file, spec.join('\n') + '\n')
  return `exec:${file}`
}

export interface FanoutResult {
  /** one outcome list per lane, one outcome per batch of the lane */
  outcomes: BatchOutcome[][]
  /** batches of ip lines that went to the ip program because the runner does not speak them */
  fallbacks: number
}

/** Lanes turned into nsexec's job lines, ready to run (files, if any, in `dir`). */
export interface NamespaceJobs {
  dir: string
  jobs: {netns: string; steps: string[]}[]
  prepared: Prepared[][]
  /** for each lane, each runner step: [batch index, step index within the batch] */
  where: [number, number][][]
}

/**
 * The job lines for these lanes: pure work for this process, so the executor does it for the
 * next stage while the current one runs in other processes (a big lab's stages: bench/README.md).
 */
export function prepareJobs(lanes: Lane[], opts: Pick<FanoutOptions, 'workDir' | 'faultAt'>): NamespaceJobs {
  const dir = mkdtempSync(join(opts.workDir, 'nsexec-'))
  const prepared: Prepared[][] = []
  const where: [number, number][][] = []
  const jobs = lanes.map((lane, i) => {
    if (!lane.netns) throw new Error('runInNamespaces: lane without a namespace')
    const ps = lane.batches.map((b) => prepare(b, {faultAt: opts.faultAt}))
    const texts: string[] = []
    const w: [number, number][] = []
    ps.forEach((p, j) => p.steps.forEach((step, k) => (w.push([j, k]), texts.push(stepText(step, join(dir, `${i}.${j}.${k}`))))))
    prepared.push(ps)
    where.push(w)
    return {netns: lane.netns, steps: texts}
  })
  return {dir, jobs, prepared, where}
}

/** Run prepared jobs; their directory is removed afterwards. */
export async function runJobs(nj: NamespaceJobs, opts: FanoutOptions): Promise<FanoutResult> {
  const {dir, jobs, prepared, where} = nj
  try {
    const results = await nsexec(jobs, dir, opts)
    const outcomes = prepared.map((ps, i): BatchOutcome[] => {
      const r = results[i]
      if (r.state === 'ok') return ps.map(succeeded)
      if (r.state === 'failed') {
        const [batch, step] = where[i][r.step] ?? [0, 0]
        return ps.map((p, j) =>
          j < batch
            ? succeeded(p)
            : j > batch
              ? notRun(p)
              : outcome(p, {step, exitCode: r.code || 1, stderr: r.stderr, at: r.at, also: r.also}),
        )
      }
      return ps.map((p) => (r.state === 'unknown' ? {applied: [], notRun: [], unknown: p.actions} : notRun(p)))
    })
    return {outcomes, fallbacks: prepared.flat().filter((p) => p.fallback).length}
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

export async function runInNamespaces(lanes: Lane[], opts: FanoutOptions): Promise<FanoutResult> {
  return runJobs(prepareJobs(lanes, opts), opts)
}

/** One step in each namespace; returns the problems, one `NETNS: MESSAGE` per job that did not end well. */
function inEach(namespaces: string[], step: string, opts: FanoutOptions): Promise<string[]> {
  return withDir(opts.workDir, async (dir) => {
    const results = await nsexec(
      namespaces.map((netns) => ({netns, steps: [step]})),
      dir,
      opts,
    )
    return results.flatMap((r, i) => (r.state === 'ok' ? [] : [`${namespaces[i]}: ${r.state === 'failed' ? r.stderr.trim() : r.state}`]))
  })
}

/** Wait until every interface that is up in these namespaces is running; returns the problems. */
export function settle(namespaces: string[], opts: FanoutOptions & {timeoutMs: number}): Promise<string[]> {
  return inEach(namespaces, `settle:${opts.timeoutMs}`, opts)
}

/**
 * Have the kernel's link watch handle, now, every link of these namespaces (`linksync` in the
 * script says why): a stage that brings thousands of new cables up then does not share the
 * kernel's link lock with a walk over all of them each time one comes up. Returns the problems.
 */
export function syncLinks(namespaces: string[], opts: FanoutOptions): Promise<string[]> {
  return inEach(namespaces, 'linksync:', opts)
}

/**
 * Where the marks are written, a small file per namespace: memory (/dev/shm) where there is one.
 * On a disk filesystem, creating 10,000 files just after as many were deleted is slow (ext4 looks
 * for recently deleted inodes on each: `down` of 10,000 pods spent 6 of its 9 s reading marks there).
 */
function marksDir(workDir: string): string {
  try {
    accessSync(SHM, constants.W_OK)
    return statSync(SHM).isDirectory() ? SHM : workDir
  } catch {
    return workDir
  }
}
const SHM = '/dev/shm'

/** The ownership mark (the alias of lo) of each namespace; undefined where it could not be read. */
export function readMarks(namespaces: string[], opts: Omit<FanoutOptions, 'faultAt'>): Promise<(string | undefined)[]> {
  return withDir(marksDir(opts.workDir), async (dir) => {
    const results = await nsexec(
      namespaces.map((netns) => ({netns, steps: ['alias:']})),
      dir,
      opts,
    )
    return results.map((r, i) => {
      if (r.state !== 'ok') return undefined
      try {
        return readFileSync(join(dir, `${i}.0.out`), 'utf8')
      } catch {
        return undefined
      }
    })
  })
}

/** One program per job, each run inside its namespace; what each printed (stdout, stderr) and its exit code. */
export function readInNamespaces(
  jobs: {netns: string; argv: string[]}[],
  opts: Omit<FanoutOptions, 'faultAt'>,
): Promise<{code: number; out: string; err: string}[]> {
  return withDir(opts.workDir, async (dir) => {
    const steps = jobs.map((j, i) => ({netns: j.netns, steps: [stepText({kind: 'exec', argv: j.argv}, join(dir, `spec-${i}`))]}))
    const results = await nsexec(steps, dir, opts)
    const read = (f: string) => {
      try {
        return readFileSync(join(dir, f), 'utf8')
      } catch {
        return ''
      }
    }
    return results.map((r, i) => ({
      code: r.state === 'ok' ? 0 : r.state === 'failed' ? r.code : 1,
      out: read(`${i}.0.out`),
      err: r.state === 'failed' ? r.stderr : read(`${i}.0.err`),
    }))
  })
}
