// iptables-restore with its input on stdin. Two uses:
// - a whole table (no options): without --noflush the table is flushed and rebuilt in one
//   commit. It is how `netlab policy apply` swaps a node's rules atomically, and how a failed
//   apply puts the old ones back. One program per action: each names its own failing line.
// - `--noflush` inputs that add chains and rules (kube-proxy's: a node's base chains, one input
//   per Service): a namespace's consecutive ones become one program with one section per table,
//   every input's chains declared first, then every input's rules, and one COMMIT, as kube-proxy
//   writes a node's rules in one restore. One commit per table, not one per Service: each nf_tables
//   commit waits for the kernel (a grace period), so 200 of them per node took ~3× as long.
//   A table is committed whole or not at all, in order, so the line the program names tells which
//   input failed and which were applied: those whose lines are all in tables committed before the
//   failing one; not run, those with none there; an input with lines on both sides is unknown
//   (partly applied). Its namespace's deletion undoes any of it.
import {notOneLine} from './args.js'
import {restoreConfined, restoreInput} from './iptables.js'
import {perActionSteps, shown} from './outcome.js'
import type {Action} from '../core/actions.js'
import type {BatchOutcome, Prepared, StepFailure, ToolDriver} from './types.js'

/** A table that fails for real (no such chain), for tests that inject a fault. */
const FAULT_TABLE = '*filter\n-A NETLAB-INJECTED-FAULT -j ACCEPT\nCOMMIT\n'

const appends = (a: Action) => a.args.length === 1 && a.args[0] === '--noflush'
const inputOf = (p: {actions: Action[]; fault: number}, i: number) => (i === p.fault ? FAULT_TABLE : (p.actions[i].stdin ?? ''))

/** The runs of actions that share a program: consecutive --noflush ones together, any other alone. */
function runs(actions: Action[]): number[][] {
  const out: number[][] = []
  actions.forEach((a, i) => {
    const last = out.at(-1)
    if (last && appends(a) && appends(actions[last[0]])) last.push(i)
    else out.push([i])
  })
  return out
}

interface Merged {
  text: string
  /** line number (1-based) -> its table (index into the tables, in input order) and the action it came from (none: COMMIT) */
  lines: Map<number, {table: number; action?: number}>
  /** for each action of the run, the tables it has lines in */
  parts: Map<number, Set<number>>
}

/** The run's inputs as one: per table (in order of first appearance), every input's chain lines, then every input's rules. */
function merge(p: {actions: Action[]; fault: number}, run: number[]): Merged {
  const tables = new Map<string, {chains: [string, number][]; rules: [string, number][]}>()
  for (const i of run) {
    let table: {chains: [string, number][]; rules: [string, number][]} | undefined
    for (const line of inputOf(p, i).split('\n')) {
      if (line.startsWith('*')) {
        if (!tables.has(line)) tables.set(line, {chains: [], rules: []})
        table = tables.get(line)
      } else if (table && line !== '' && line !== 'COMMIT') table[line.startsWith(':') ? 'chains' : 'rules'].push([line, i])
    }
  }
  const text: string[] = []
  const lines = new Map<number, {table: number; action?: number}>()
  const parts = new Map<number, Set<number>>(run.map((i) => [i, new Set<number>()]))
  ;[...tables].forEach(([name, t], table) => {
    text.push(name)
    for (const [line, action] of [...t.chains, ...t.rules]) {
      text.push(line)
      lines.set(text.length, {table, action})
      parts.get(action)!.add(table)
    }
    text.push('COMMIT')
    lines.set(text.length, {table})
  })
  return {text: text.join('\n') + '\n', lines, parts}
}

/**
 * A namespace's whole filter and nat tables as one iptables-restore input without --noflush, from
 * the actions that wrote them in order (iptables rules, kube-proxy's --noflush inputs): the
 * restore flushes both tables and writes them again in one commit each, as kube-proxy's full
 * sync does. `netlab apply` replaces a node's tables with it when their rules change (a Service's
 * endpoints, a policy's peers), and the old tables the same way when it is undone. A chain is
 * declared once: kube-proxy's inputs declare chains they share (KUBE-SERVICES) only the first time.
 */
export function wholeTables(actions: Pick<Action, 'tool' | 'args' | 'stdin'>[]): string {
  const inputs = actions.map((a) => ({stdin: a.tool === 'iptables' ? restoreInput([a.args]).text : (a.stdin ?? '')}))
  const base = {stdin: '*filter\nCOMMIT\n*nat\nCOMMIT\n'}
  const all = [base, ...inputs] as Action[]
  const merged = merge(
    {actions: all, fault: -1},
    all.map((_, i) => i),
  ).text.split('\n')
  const seen = new Set<string>()
  return merged
    .filter((line) => {
      if (line.startsWith('*')) seen.clear()
      if (!line.startsWith(':')) return true
      const chain = line.split(' ')[0]
      return !seen.has(chain) && seen.add(chain) !== undefined
    })
    .join('\n')
}

/** A table refused at its COMMIT names no line, but quotes the name it could not find: the one input whose lines of that table use it. */
function culprit(m: Merged, table: number, stderr: string): number | undefined {
  const quoted = [...stderr.matchAll(/[`'"]([^`'"\s]+)'/g)].map((x) => x[1])
  const text = m.text.split('\n')
  const users = new Set(
    [...m.lines]
      .filter(([n, l]) => l.table === table && l.action !== undefined && quoted.some((q) => text[n - 1].split(' ').includes(q)))
      .map(([, l]) => l.action!),
  )
  return users.size === 1 ? [...users][0] : undefined
}

export const iptablesRestore: ToolDriver = {
  name: 'iptables-restore',
  argv: (c) => ['ip', 'netns', 'exec', c.netns!, 'iptables-restore', ...c.args],
  badArg: notOneLine,
  // input on stdin, every line one that netlab writes; no option but --noflush (kube-proxy's rules add to the tables)
  confined: (c) =>
    c.args.length > 1 || (c.args.length === 1 && c.args[0] !== '--noflush')
      ? `takes no options here but --noflush (given ${c.args.join(' ')})`
      : restoreConfined(c.stdin ?? ''),
  prepare(actions, netns, opts): Prepared {
    const groups = runs(actions)
    const p = {actions, fault: opts.fault}
    const steps = groups.map((g) => ({
      kind: 'exec' as const,
      argv: ['iptables-restore', ...actions[g[0]].args],
      stdin: g.length === 1 ? inputOf(p, g[0]) : merge(p, g).text,
    }))
    return {tool: 'iptables-restore', netns, actions, steps, firstAction: groups.map((g) => g[0]), fault: opts.fault, fallback: false}
  },
  interpret(p: Prepared, f: StepFailure): BatchOutcome {
    const stderr = f.stderr.trim()
    const first = p.firstAction[f.step]
    const end = p.firstAction[f.step + 1] ?? p.actions.length
    if (end - first === 1) return perActionSteps(iptablesRestore, p, f.step, stderr)
    const run = Array.from({length: end - first}, (_, k) => first + k)
    const m = merge(p, run)
    // "line N failed" (legacy; nf_tables too for a rule it refuses) or "Error occurred at line: N" (a parse error, or a table refused at its COMMIT)
    const n = /line (\d+) failed/.exec(stderr) ?? /Error occurred at line: (\d+)/.exec(stderr)
    const at = n ? m.lines.get(Number(n[1])) : undefined
    const program = `ip netns exec ${p.netns} iptables-restore --noflush  (${run.length} inputs in one program, each its own step)`
    // no line: what of the run was applied is not known
    if (!at)
      return {
        applied: p.actions.slice(0, first),
        notRun: p.actions.slice(end),
        unknown: run.map((i) => p.actions[i]),
        error: {command: program, stderr},
      }
    const failed = at.action ?? culprit(m, at.table, stderr)
    const out: BatchOutcome = {applied: p.actions.slice(0, first), notRun: [], unknown: [], error: {command: program, stderr}}
    for (const i of run) {
      if (i === failed) continue
      const tables = [...m.parts.get(i)!]
      const committed = tables.filter((t) => t < at.table).length
      ;(committed === tables.length ? out.applied : committed === 0 ? out.notRun : out.unknown).push(p.actions[i])
    }
    out.notRun.push(...p.actions.slice(end))
    return failed === undefined ? out : {...out, failed: p.actions[failed], error: {command: shown(iptablesRestore, p, failed), stderr}}
  },
}
