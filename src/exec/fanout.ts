// Runs the lanes of a stage inside their namespaces through assets/netlab-nsexec.pl: one
// small process forks a child per namespace, the child setns()es and runs the lane's batches
// there. This replaces hundreds of `ip -n NS ...` start-ups (see the script for why).
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {failedAt, interpret, prepare, succeeded, type BatchOutcome, type Prepared} from './batch.js'
import {run} from './runner.js'
import type {Lane} from './schedule.js'

export const NSEXEC = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'assets', 'netlab-nsexec.pl')

interface Step {
  batch: number
  /** index of the action within its batch (sysctl steps are one per action), else 0 */
  action: number
  text: string
}

export interface FanoutOptions {
  parallel: number
  workDir: string
  faultAt?: number
  signal?: AbortSignal
}

/** One outcome list per lane, one outcome per batch of the lane. */
export async function runInNamespaces(lanes: Lane[], opts: FanoutOptions): Promise<BatchOutcome[][]> {
  const dir = mkdtempSync(join(opts.workDir, 'stage-'))
  try {
    const prepared: Prepared[][] = []
    const steps: Step[][] = []
    const jobs: string[] = []
    lanes.forEach((lane, i) => {
      if (!lane.netns) throw new Error('runInNamespaces: lane without a namespace')
      const ps = lane.batches.map((b) => prepare(b, opts.faultAt))
      const ss: Step[] = []
      ps.forEach((p, j) => {
        if (p.batch.tool === 'sysctl') p.settings.forEach((s, k) => ss.push({batch: j, action: k, text: `sysctl:${s}`}))
        else {
          const file = join(dir, `${i}.${j}.${p.batch.tool}`)
          writeFileSync(file, p.input)
          ss.push({batch: j, action: 0, text: `${p.batch.tool}:${file}`})
        }
      })
      prepared.push(ps)
      steps.push(ss)
      jobs.push([String(i), lane.netns, ...ss.map((s) => s.text)].join('\t'))
    })
    const r = await run('perl', [NSEXEC, String(opts.parallel), dir], {input: jobs.join('\n') + '\n', cancelSignal: opts.signal, timeoutMs: 600_000})
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
    return prepared.map((ps, i) => {
      if (ok.has(i)) return ps.map(succeeded)
      const f = failed.get(i)
      if (f) {
        const step = steps[i][f.step]
        let stderr = ''
        try {
          stderr = readFileSync(join(dir, `${i}.${f.step}.err`), 'utf8')
        } catch {
          // the step wrote nothing
        }
        return ps.map((p, j) => {
          if (j < step.batch) return succeeded(p)
          if (j > step.batch) return {applied: [], notRun: p.batch.actions, unknown: []}
          return p.batch.tool === 'sysctl' ? failedAt(p, step.action, stderr.trim()) : interpret(p, f.code || 1, stderr)
        })
      }
      // Never started (interrupted first): nothing ran. Started but no word back: unknown.
      return ps.map((p) => (started.has(i) ? {applied: [], notRun: [], unknown: p.batch.actions} : {applied: [], notRun: p.batch.actions, unknown: []}))
    })
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}
