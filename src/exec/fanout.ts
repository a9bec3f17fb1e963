// Runs jobs inside namespaces through assets/netlab-nsexec.pl: one small process that enters
// each namespace with setns(2) and does the job there (see the script for why). Used for the
// in-namespace lanes of a stage, and for the final wait until every link is running.
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {asset} from '../paths.js'
import {failedAt, interpret, prepare, succeeded, type BatchOutcome, type Prepared} from './batch.js'
import {run} from './runner.js'
import type {Lane} from './schedule.js'

export const NSEXEC = asset('netlab-nsexec.pl')

export interface FanoutOptions {
  parallel: number
  workDir: string
  faultAt?: number
  signal?: AbortSignal
}

export type JobResult = {state: 'ok'} | {state: 'failed'; step: number; code: number; stderr: string} | {state: 'unknown'} | {state: 'not-run'}

/** Run one job per entry (its steps in order, inside its namespace); `dir` holds step files and error output. */
async function nsexec(jobs: {netns: string; steps: string[]}[], dir: string, opts: FanoutOptions): Promise<JobResult[]> {
  const input = jobs.map((j, i) => [String(i), j.netns, ...j.steps].join('\t')).join('\n') + '\n'
  const r = await run('perl', [NSEXEC, String(opts.parallel), dir], {input, cancelSignal: opts.signal, timeoutMs: 600_000})
  const started = new Set<number>()
  const ok = new Set<number>()
  const failed = new Map<number, {step: number; code: number}>()
  for (const line of r.stdout.split('\n')) {
    const [kind, id, step, code] = line.split(' ')
    if (kind === 'start') started.add(Number(id))
    else if (kind === 'ok') ok.add(Number(id))
    else if (kind === 'fail') failed.set(Number(id), {step: Number(step), code: Number(code)})
  }
  if (r.exitCode !== 0 && started.size === 0 && !opts.signal?.aborted) throw new Error(`netlab-nsexec failed: ${r.stderr || `exit ${r.exitCode}`}`)
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
      return {state: 'failed', step: f.step, code: f.code, stderr}
    }
    // Never started (interrupted first): nothing ran. Started but no word back: unknown.
    return started.has(i) ? {state: 'unknown'} : {state: 'not-run'}
  })
}

function withDir<T>(workDir: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(workDir, 'nsexec-'))
  return fn(dir).finally(() => rmSync(dir, {recursive: true, force: true}))
}

interface Step {
  batch: number
  /** index of the action within its batch (sysctl steps are one per action), else 0 */
  action: number
}

/** One outcome list per lane, one outcome per batch of the lane. */
export function runInNamespaces(lanes: Lane[], opts: FanoutOptions): Promise<BatchOutcome[][]> {
  return withDir(opts.workDir, async (dir) => {
    const prepared: Prepared[][] = []
    const steps: Step[][] = []
    const jobs = lanes.map((lane, i) => {
      if (!lane.netns) throw new Error('runInNamespaces: lane without a namespace')
      const ps = lane.batches.map((b) => prepare(b, opts.faultAt))
      const ss: Step[] = []
      const texts: string[] = []
      ps.forEach((p, j) => {
        if (p.batch.tool === 'sysctl') {
          p.settings.forEach((s, k) => (ss.push({batch: j, action: k}), texts.push(`sysctl:${s}`)))
        } else {
          const file = join(dir, `${i}.${j}.${p.batch.tool}`)
          writeFileSync(file, p.input)
          ss.push({batch: j, action: 0})
          texts.push(`${p.batch.tool}:${file}`)
        }
      })
      prepared.push(ps)
      steps.push(ss)
      return {netns: lane.netns, steps: texts}
    })
    const results = await nsexec(jobs, dir, opts)
    return prepared.map((ps, i): BatchOutcome[] => {
      const r = results[i]
      if (r.state === 'ok') return ps.map(succeeded)
      if (r.state === 'failed') {
        const step = steps[i][r.step]
        return ps.map((p, j) => {
          if (j < step.batch) return succeeded(p)
          if (j > step.batch) return {applied: [], notRun: p.batch.actions, unknown: []}
          return p.batch.tool === 'sysctl' ? failedAt(p, step.action, r.stderr.trim()) : interpret(p, r.code || 1, r.stderr)
        })
      }
      return ps.map((p) => (r.state === 'unknown' ? {applied: [], notRun: [], unknown: p.batch.actions} : {applied: [], notRun: p.batch.actions, unknown: []}))
    })
  })
}

/** Wait until every interface that is up in these namespaces is running; returns the problems. */
export function settle(namespaces: string[], opts: FanoutOptions & {timeoutMs: number}): Promise<string[]> {
  return withDir(opts.workDir, async (dir) => {
    const results = await nsexec(namespaces.map((netns) => ({netns, steps: [`settle:${opts.timeoutMs}`]})), dir, opts)
    return results.flatMap((r, i) => (r.state === 'ok' ? [] : [`${namespaces[i]}: ${r.state === 'failed' ? r.stderr.trim() : r.state}`]))
  })
}

/** The ownership mark (the alias of lo) of each namespace; undefined where it could not be read. */
export function readMarks(namespaces: string[], opts: Omit<FanoutOptions, 'faultAt'>): Promise<(string | undefined)[]> {
  return withDir(opts.workDir, async (dir) => {
    const results = await nsexec(namespaces.map((netns) => ({netns, steps: ['alias:']})), dir, opts)
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
