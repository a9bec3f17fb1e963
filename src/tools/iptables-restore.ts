// iptables-restore with a whole table as its input: one action replaces one table of one
// namespace at once (without --noflush, the table is flushed and rebuilt in one commit). It is
// how `netlab policy apply` swaps a node's rules atomically, and how a failed apply puts the old
// ones back.
import {notOneLine} from './args.js'
import {restoreConfined} from './iptables.js'
import {perActionSteps} from './outcome.js'
import type {Prepared, ToolDriver} from './types.js'

/** A table that fails for real (no such chain), for tests that inject a fault. */
const FAULT_TABLE = '*filter\n-A NETLAB-INJECTED-FAULT -j ACCEPT\nCOMMIT\n'

export const iptablesRestore: ToolDriver = {
  name: 'iptables-restore',
  argv: (c) => ['ip', 'netns', 'exec', c.netns!, 'iptables-restore', ...c.args],
  badArg: notOneLine,
  // a table on stdin, no options (plans give none): the words of each line but comments are checked as a rule's
  // a table on stdin, no options (plans give none), every line one that netlab writes
  confined: (c) => (c.args.length > 0 ? `takes no options here (given ${c.args.join(' ')})` : restoreConfined(c.stdin ?? '')),
  prepare(actions, netns, opts): Prepared {
    // one program per table: each names its own failing line, and commits (or not) on its own
    const steps = actions.map((a, i) => ({
      kind: 'exec' as const,
      argv: ['iptables-restore', ...a.args],
      stdin: i === opts.fault ? FAULT_TABLE : (a.stdin ?? ''),
    }))
    return {tool: 'iptables-restore', netns, actions, steps, firstAction: actions.map((_, i) => i), fault: opts.fault, fallback: false}
  },
  interpret: (p, f) => perActionSteps(iptablesRestore, p, f.step, f.stderr.trim()),
}
