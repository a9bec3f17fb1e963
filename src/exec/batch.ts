// Running one batch: many plan actions of one tool in one namespace, as one process.
// Each tool reports partial failure differently; every runner returns exactly which actions
// were applied, which one failed, and which never ran, so the journal stays exact.
import {argv, commandLine} from '../plan/command.js'
import type {Action} from '../plan/types.js'
import type {Batch} from './schedule.js'
import {run} from './runner.js'

export interface BatchOutcome {
  applied: Action[]
  /** the action that failed (undefined when the batch succeeded, or the tool cannot say which) */
  failed?: Action
  /** actions that certainly did not run */
  notRun: Action[]
  /** actions whose outcome the tool did not report (treated as possibly applied) */
  unknown: Action[]
  error?: {command: string; stderr: string}
}

/** Test-only fault injection: the action with this id fails for real, inside its batch. */
export interface BatchOptions {
  faultAt?: number
}

const INJECTED_IP_LINE = 'link set dev netlab-injected-fault up'
const INJECTED_SYSCTL = 'net.netlab.injected_fault=1'
const INJECTED_RULE = '-A NETLAB-INJECTED-FAULT -j ACCEPT'

export async function runBatch(batch: Batch, opts: BatchOptions = {}): Promise<BatchOutcome> {
  switch (batch.tool) {
    case 'ip':
      return runIpBatch(batch, opts)
    case 'sysctl':
      return runSysctlBatch(batch, opts)
    case 'iptables':
      return runIptablesBatch(batch, opts)
  }
}

function faultIndex(batch: Batch, opts: BatchOptions): number {
  return opts.faultAt === undefined ? -1 : batch.actions.findIndex((a) => a.id === opts.faultAt)
}

function failure(batch: Batch, k: number, command: string, stderr: string): BatchOutcome {
  return {applied: batch.actions.slice(0, k), failed: batch.actions[k], notRun: batch.actions.slice(k + 1), unknown: [], error: {command, stderr}}
}

function unknownFailure(batch: Batch, command: string, stderr: string): BatchOutcome {
  return {applied: [], notRun: [], unknown: batch.actions, error: {command, stderr}}
}

async function runIpBatch(batch: Batch, opts: BatchOptions): Promise<BatchOutcome> {
  const lines = batch.actions.map((a) => a.args.join(' '))
  const k = faultIndex(batch, opts)
  if (k >= 0) lines[k] = INJECTED_IP_LINE
  const args = batch.netns ? ['-n', batch.netns, '-batch', '-'] : ['-batch', '-']
  const r = await run('ip', args, {input: lines.join('\n') + '\n'})
  if (r.exitCode === 0) return {applied: batch.actions, notRun: [], unknown: []}
  // ip stops at the first failing line and says which: "Command failed -:N".
  const m = /Command failed -:(\d+)/.exec(r.stderr)
  const stderr = r.stderr.split('\n').filter((l) => !l.startsWith('Command failed')).join('\n').trim()
  if (!m) return unknownFailure(batch, `ip ${args.join(' ')}`, stderr)
  const failed = Number(m[1]) - 1
  const shown = failed === k ? `${commandLine(batch.actions[failed])}  (fault injected for a test: ran "${INJECTED_IP_LINE}")` : commandLine(batch.actions[failed])
  return failure(batch, failed, shown, stderr)
}

async function runSysctlBatch(batch: Batch, opts: BatchOptions): Promise<BatchOutcome> {
  const k = faultIndex(batch, opts)
  const actions = k >= 0 ? batch.actions.slice(0, k) : batch.actions
  const settings = actions.flatMap((a) => a.args)
  if (k >= 0) settings.push(INJECTED_SYSCTL)
  const r = await run('ip', ['netns', 'exec', batch.netns!, 'sysctl', '-q', '-w', ...settings])
  if (r.exitCode === 0 && k < 0) return {applied: batch.actions, notRun: [], unknown: []}
  if (k >= 0) return {applied: [], failed: batch.actions[k], notRun: batch.actions.slice(k + 1), unknown: actions, error: {command: `${commandLine(batch.actions[k])}  (fault injected for a test)`, stderr: r.stderr.trim()}}
  return unknownFailure(batch, argv(batch.actions[0]).slice(0, 6).join(' ') + ' ' + settings.join(' '), r.stderr.trim())
}

/** iptables-restore input for a batch: one section per table, chains (policies) before rules. */
export function restoreInput(actions: Action[], faultIndex = -1): string {
  const tables = new Map<string, {chains: string[]; rules: string[]}>()
  actions.forEach((a, i) => {
    let args = a.args
    let table = 'filter'
    if (args[0] === '-t') {
      table = args[1]
      args = args.slice(2)
    }
    if (!tables.has(table)) tables.set(table, {chains: [], rules: []})
    const t = tables.get(table)!
    if (i === faultIndex) t.rules.push(INJECTED_RULE)
    else if (args[0] === '-P') t.chains.push(`:${args[1]} ${args[2]} [0:0]`)
    else t.rules.push(args.join(' '))
  })
  return [...tables].map(([name, t]) => [`*${name}`, ...t.chains, ...t.rules, 'COMMIT'].join('\n')).join('\n') + '\n'
}

async function runIptablesBatch(batch: Batch, opts: BatchOptions): Promise<BatchOutcome> {
  const k = faultIndex(batch, opts)
  const r = await run('ip', ['netns', 'exec', batch.netns!, 'iptables-restore', '--noflush'], {input: restoreInput(batch.actions, k)})
  if (r.exitCode === 0) return {applied: batch.actions, notRun: [], unknown: []}
  const command = `ip netns exec ${batch.netns} iptables-restore --noflush  (${batch.actions.length} rules)`
  // iptables-restore applies a table all at once or not at all; treat the batch as possibly
  // applied, since undoing is deleting the namespace either way.
  if (k >= 0) return {applied: [], failed: batch.actions[k], notRun: [], unknown: batch.actions.filter((_, i) => i !== k), error: {command: `${commandLine(batch.actions[k])}  (fault injected for a test)`, stderr: r.stderr.trim()}}
  return unknownFailure(batch, command, r.stderr.trim())
}
