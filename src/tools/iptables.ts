// iptables. A namespace's rules go in as one iptables-restore input: one section per table,
// chain policies before rules. Each line of that input is mapped back to its action, so the
// line iptables-restore names in its error is the rule reported and journaled.
import {notOneLine} from './args.js'
import {shown, unknown} from './outcome.js'
import type {BatchOutcome, Prepared, StepFailure, ToolDriver} from './types.js'
import {plural} from '../core/plural.js'

/** A rule that fails for real (no such chain), for tests that inject a fault. */
const FAULT_RULE = ['-A', 'NETLAB-INJECTED-FAULT', '-j', 'ACCEPT']

/** iptables-restore splits words as sh would: quote with double quotes, escaping " and \. */
function iptablesWord(arg: string): string {
  return /^[^\s"'\\]+$/.test(arg) ? arg : `"${arg.replace(/(["\\])/g, '\\$1')}"`
}

export interface RestoreInput {
  text: string
  /** line number (1-based) -> its table (index into tables) and the action on it; COMMIT lines have none */
  lines: Map<number, {table: number; action?: number}>
  /** the actions of each table, in input order */
  tables: number[][]
}

export function restoreInput(args: string[][]): RestoreInput {
  const byTable = new Map<string, {policies: number[]; rules: number[]}>()
  const rest = (a: string[]) => (a[0] === '-t' ? a.slice(2) : a)
  args.forEach((a, i) => {
    const name = a[0] === '-t' ? a[1] : 'filter'
    if (!byTable.has(name)) byTable.set(name, {policies: [], rules: []})
    byTable.get(name)![rest(a)[0] === '-P' ? 'policies' : 'rules'].push(i)
  })
  const text: string[] = []
  const lines = new Map<number, {table: number; action?: number}>()
  const tables: number[][] = []
  for (const [name, t] of byTable) {
    const table = tables.push([...t.policies, ...t.rules]) - 1
    text.push(`*${name}`)
    for (const action of tables[table]) {
      const r = rest(args[action])
      text.push(r[0] === '-P' ? `:${r[1]} ${r[2]} [0:0]` : r.map(iptablesWord).join(' '))
      lines.set(text.length, {table, action})
    }
    text.push('COMMIT')
    lines.set(text.length, {table})
  }
  return {text: text.join('\n') + '\n', lines, tables}
}

/**
 * Why iptables words (a rule's arguments, or a line of iptables-restore input) could act beyond
 * the namespace: --modprobe (any prefix getopt takes for it, or restore's -M) names a program
 * for iptables to run as root. Everything else a rule says stays in the namespace's tables.
 */
export function iptablesConfined(words: string[]): string | undefined {
  const bad = words.find((w) => /^--mo|^-M/.test(w))
  return bad ? `"${bad}" names a program for iptables to run` : undefined
}

const withFault = (p: {actions: {args: string[]}[]; fault: number}) => p.actions.map((a, i) => (i === p.fault ? FAULT_RULE : a.args))

export const iptables: ToolDriver = {
  name: 'iptables',
  argv: (c) => ['ip', 'netns', 'exec', c.netns!, 'iptables', ...c.args],
  badArg: notOneLine,
  confined: (c) => iptablesConfined(c.args),
  prepare(actions, netns, opts): Prepared {
    const input = restoreInput(withFault({actions, fault: opts.fault}))
    return {
      tool: 'iptables',
      netns,
      actions,
      steps: [{kind: 'exec', argv: ['iptables-restore', '--noflush'], stdin: input.text}],
      firstAction: [0],
      fault: opts.fault,
      fallback: false,
    }
  },
  interpret(p: Prepared, f: StepFailure): BatchOutcome {
    const stderr = f.stderr.trim()
    // "iptables-restore: line N failed: …" (refused by the kernel) or "Error occurred at line: N" (not parsed).
    const m = /line (\d+) failed/.exec(stderr) ?? /Error occurred at line: (\d+)/.exec(stderr)
    const input = restoreInput(withFault(p))
    const line = m ? input.lines.get(Number(m[1])) : undefined
    if (!line) return unknown(p, `ip netns exec ${p.netns} iptables-restore --noflush  (${plural(p.actions.length, 'rule')})`, stderr)
    // Tables are committed whole, in order, each at its COMMIT: those before the failing table are in, the rest are not.
    const failed = line.action ?? culprit(input.tables[line.table], p.actions, stderr)
    const pick = (ids: number[]) => ids.map((i) => p.actions[i])
    return {
      applied: pick(input.tables.slice(0, line.table).flat()),
      failed: p.actions[failed],
      notRun: pick(
        input.tables
          .slice(line.table)
          .flat()
          .filter((i) => i !== failed),
      ),
      unknown: [],
      error: {command: shown(iptables, p, failed), stderr},
    }
  },
}

/**
 * A table refused at its COMMIT line (nf_tables checks jump targets there) names no rule, but its
 * message quotes the name it could not find ("Chain 'X' does not exist"): the one rule of the
 * table that uses that name is the culprit. Without exactly one such rule, the table's first.
 */
function culprit(table: number[], actions: {args: string[]}[], stderr: string): number {
  const quoted = [...stderr.matchAll(/[`'"]([^`'"\s]+)'/g)].map((m) => m[1])
  const users = table.filter((i) => actions[i].args.some((arg) => quoted.includes(arg)))
  return users.length === 1 ? users[0] : table[0]
}
