// One batch = many plan actions of one tool in one namespace, run by one process. The tool's
// driver (src/tools) turns the batch into steps for a runner and reads the runner's answer back
// into exactly which actions were applied, which failed, and which never ran. Both runners (the
// root namespace's, below, and the in-namespace fan-out) share this.
import {driver} from '../tools/index.js'
import {succeeded} from '../tools/outcome.js'
import type {BatchOutcome, Prepared, StepFailure} from '../tools/types.js'
import type {Batch} from './schedule.js'
import {run} from './runner.js'

export type {BatchOutcome, Prepared}

export interface PrepareOptions {
  /** test-only: the plan action id to replace with a command that really fails */
  faultAt?: number
  /** false: never speak rtnetlink directly, always run ip (NETLAB_NSEXEC_NO_NETLINK=1) */
  netlink?: boolean
}

export function prepare(batch: Batch, opts: PrepareOptions = {}): Prepared {
  const fault = opts.faultAt === undefined ? -1 : batch.actions.findIndex((a) => a.id === opts.faultAt)
  return driver(batch.tool).prepare(batch.actions, batch.netns, {fault, netlink: opts.netlink ?? !process.env.NETLAB_NSEXEC_NO_NETLINK})
}

/** The batch's outcome once its runner has said how it went (no failure = every step succeeded). */
export function outcome(p: Prepared, failure?: StepFailure): BatchOutcome {
  return failure ? driver(p.tool).interpret(p, failure) : succeeded(p)
}

/** Run a batch from the root namespace, each step as its own process (root steps are programs: ip -batch). */
export async function runBatchDirect(batch: Batch, opts: PrepareOptions = {}): Promise<BatchOutcome> {
  const p = prepare(batch, opts)
  for (const [i, step] of p.steps.entries()) {
    if (step.kind !== 'exec') throw new Error(`runBatchDirect: a ${step.kind} step runs inside a namespace`)
    const r = await run(step.argv[0], step.argv.slice(1), {input: step.stdin, env: step.env})
    if (r.exitCode !== 0) return outcome(p, {step: i, exitCode: r.exitCode, stderr: r.stderr})
  }
  return succeeded(p)
}
