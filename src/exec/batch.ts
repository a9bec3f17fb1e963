// One batch = many plan actions of one tool in one namespace, run by one process.
// prepare() turns a batch into that process's input; interpret() turns its exit code and
// stderr back into exactly which actions were applied, which failed, and which never ran.
// Both runners (ip in the root namespace, and the in-namespace fan-out) share these.
import {commandLine} from '../plan/command.js'
import type {Action} from '../plan/types.js'
import type {Batch} from './schedule.js'
import {run} from './runner.js'

export interface BatchOutcome {
  applied: Action[]
  /** the action that failed (undefined when the batch succeeded or the tool cannot say which) */
  failed?: Action
  /** actions that certainly did not run */
  notRun: Action[]
  /** actions whose outcome is not known (treated as possibly applied) */
  unknown: Action[]
  error?: {command: string; stderr: string}
}

export interface Prepared {
  batch: Batch
  /** ip: `-batch` lines; iptables: iptables-restore input; sysctl: one KEY=VALUE per action */
  input: string
  settings: string[]
  /** test-only: index of the action replaced by a command that really fails, or -1 */
  fault: number
}

const INJECTED_IP_LINE = 'link set dev netlab-fault up'
const INJECTED_SYSCTL = 'net.netlab.injected_fault=1'
const INJECTED_RULE = '-A NETLAB-INJECTED-FAULT -j ACCEPT'

/** iptables-restore input: one section per table, chain policies before rules. */
export function restoreInput(actions: Action[], fault = -1): string {
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
    if (i === fault) t.rules.push(INJECTED_RULE)
    else if (args[0] === '-P') t.chains.push(`:${args[1]} ${args[2]} [0:0]`)
    else t.rules.push(args.join(' '))
  })
  return [...tables].map(([name, t]) => [`*${name}`, ...t.chains, ...t.rules, 'COMMIT'].join('\n')).join('\n') + '\n'
}

export function prepare(batch: Batch, faultAt?: number): Prepared {
  const fault = faultAt === undefined ? -1 : batch.actions.findIndex((a) => a.id === faultAt)
  switch (batch.tool) {
    case 'ip': {
      const lines = batch.actions.map((a, i) => (i === fault ? INJECTED_IP_LINE : a.args.join(' ')))
      return {batch, input: lines.join('\n') + '\n', settings: [], fault}
    }
    case 'iptables':
      return {batch, input: restoreInput(batch.actions, fault), settings: [], fault}
    case 'sysctl':
      return {batch, input: '', settings: batch.actions.map((a, i) => (i === fault ? INJECTED_SYSCTL : a.args[0])), fault}
  }
}

function shown(p: Prepared, k: number): string {
  return p.fault === k ? `${commandLine(p.batch.actions[k])}  (fault injected by NETLAB_TEST_FAULT_AT)` : commandLine(p.batch.actions[k])
}

/** The action at index k failed: the ones before it ran, the ones after it did not. */
export function failedAt(p: Prepared, k: number, stderr: string): BatchOutcome {
  const a = p.batch.actions
  return {applied: a.slice(0, k), failed: a[k], notRun: a.slice(k + 1), unknown: [], error: {command: shown(p, k), stderr}}
}

export const succeeded = (p: Prepared): BatchOutcome => ({applied: p.batch.actions, notRun: [], unknown: []})

export function interpret(p: Prepared, exitCode: number, stderr: string): BatchOutcome {
  if (exitCode === 0) return succeeded(p)
  const a = p.batch.actions
  if (p.batch.tool === 'ip') {
    // ip stops at the first failing line and names it: "Command failed FILE:N".
    const m = /Command failed \S*:(\d+)/.exec(stderr)
    const message = stderr.split('\n').filter((l) => !l.startsWith('Command failed')).join('\n').trim()
    if (m) return failedAt(p, Number(m[1]) - 1, message)
    return {applied: [], notRun: [], unknown: a, error: {command: `ip -batch (${a.length} commands in ${p.batch.netns ?? 'the root namespace'})`, stderr: message}}
  }
  if (p.batch.tool === 'iptables') {
    // A table is committed whole or not at all; with two tables in one input we cannot be
    // sure, so the batch counts as possibly applied (deleting the namespace undoes it anyway).
    const k = p.fault >= 0 ? p.fault : 0
    return {applied: [], failed: a[k], notRun: [], unknown: a.filter((_, i) => i !== k), error: {command: p.fault >= 0 ? shown(p, k) : `ip netns exec ${p.batch.netns} iptables-restore --noflush  (${a.length} rules)`, stderr: stderr.trim()}}
  }
  return {applied: [], notRun: [], unknown: a, error: {command: `sysctl in ${p.batch.netns}`, stderr: stderr.trim()}}
}

/** Run a batch as its own process: used for the root namespace's `ip -batch`. */
export async function runBatchDirect(batch: Batch, faultAt?: number): Promise<BatchOutcome> {
  if (batch.tool !== 'ip') throw new Error(`runBatchDirect: ${batch.tool} batches run inside a namespace`)
  const p = prepare(batch, faultAt)
  const args = batch.netns ? ['-n', batch.netns, '-batch', '-'] : ['-batch', '-']
  const r = await run('ip', args, {input: p.input})
  return interpret(p, r.exitCode, r.stderr)
}
