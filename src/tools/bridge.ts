// bridge (iproute2): forwarding-database entries, e.g. which underlay address a VXLAN device
// sends a given MAC to. A namespace's entries go in as one `bridge -batch -`, run inside it;
// like ip, bridge stops at the first failing line and names it ("Command failed -:N").
import {batchOutcome, ip, ipWord} from './ip.js'
import type {Prepared, ToolDriver} from './types.js'

/** A command that fails for real (no such device), for tests that inject a fault. */
const FAULT_LINE = ['fdb', 'append', '02:00:00:00:00:00', 'dev', 'netlab-fault', 'dst', '192.0.2.1']

export const bridge: ToolDriver = {
  name: 'bridge',
  argv: (c) => (c.netns ? ['bridge', '-n', c.netns, ...c.args] : ['bridge', ...c.args]),
  // the same batch syntax as ip's: one command a line, words split on white space, quotes honoured
  badArg: (arg) => ip.badArg(arg),
  prepare(actions, netns, opts): Prepared {
    const args = actions.map((a, i) => (i === opts.fault ? FAULT_LINE : a.args))
    const stdin = args.map((a) => a.map(ipWord).join(' ')).join('\n') + '\n'
    return {
      tool: 'bridge',
      netns,
      actions,
      steps: [{kind: 'exec', argv: ['bridge', '-batch', '-'], stdin}],
      firstAction: [0],
      fault: opts.fault,
      fallback: false,
    }
  },
  interpret: (p, f) => batchOutcome('bridge', p, f),
}
