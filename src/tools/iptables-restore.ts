// iptables-restore with its input on stdin. Two uses:
// - a whole table (no options): without --noflush the table is flushed and rebuilt in one
//   commit. It is how `netlab policy apply` swaps a node's rules atomically, and how a failed
//   apply puts the old ones back. One program per action: each names its own failing line.
// - `--noflush` inputs that add chains and rules (kube-proxy's, one action per Service): a
//   namespace's consecutive ones go to one program, their inputs one after the other, as
//   kube-proxy writes a node's rules in one restore. Each table section commits at its COMMIT,
//   so the line the program names tells which action failed: those before it are in, the
//   failing one's earlier sections too (its namespace's deletion undoes it either way), the
//   rest never ran.
import {notOneLine} from './args.js'
import {restoreConfined} from './iptables.js'
import {failedAt, perActionSteps, shown} from './outcome.js'
import type {Action} from '../core/actions.js'
import type {BatchOutcome, Prepared, StepFailure, ToolDriver} from './types.js'

/** A table that fails for real (no such chain), for tests that inject a fault. */
const FAULT_TABLE = '*filter\n-A NETLAB-INJECTED-FAULT -j ACCEPT\nCOMMIT\n'

const appends = (a: Action) => a.args.length === 1 && a.args[0] === '--noflush'
const inputOf = (p: {actions: Action[]; fault: number}, i: number) => (i === p.fault ? FAULT_TABLE : (p.actions[i].stdin ?? ''))
const lineCount = (text: string) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0)

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
      stdin: g.map((i) => inputOf(p, i)).join(''),
    }))
    return {tool: 'iptables-restore', netns, actions, steps, firstAction: groups.map((g) => g[0]), fault: opts.fault, fallback: false}
  },
  interpret(p: Prepared, f: StepFailure): BatchOutcome {
    const stderr = f.stderr.trim()
    const first = p.firstAction[f.step]
    const end = p.firstAction[f.step + 1] ?? p.actions.length
    if (end - first === 1) return perActionSteps(iptablesRestore, p, f.step, stderr)
    // "line N failed" (legacy) or "Error occurred at line: N" (nf_tables: a parse error, or a table refused at its COMMIT)
    const m = /line (\d+) failed/.exec(stderr) ?? /Error occurred at line: (\d+)/.exec(stderr)
    let line = m ? Number(m[1]) : 0
    for (let k = first; k < end && m; k++) {
      line -= lineCount(inputOf(p, k))
      if (line <= 0) return failedAt(iptablesRestore, p, k, stderr)
    }
    // no line, or one past the input: which of the run's actions ran is not known
    return {
      applied: p.actions.slice(0, first),
      notRun: p.actions.slice(end),
      unknown: p.actions.slice(first, end),
      error: {command: `${shown(iptablesRestore, p, first)}  (and ${end - first - 1} more inputs in the same program)`, stderr},
    }
  },
}
