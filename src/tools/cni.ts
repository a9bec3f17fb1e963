// cni: a CNI plugin called by netlab as the container runtime. Each action is one plugin call
// (env CNI_COMMAND=ADD…, the plugin's file, its configuration on stdin); a batch of them in one
// node's namespace is one run of assets/netlab-cni-chain.pl, which threads prevResult through the
// chain, caches the result and stops at the first error (see that file). So calls run serially
// per node and in parallel across nodes, like one runtime per node.
import {protocolRefusal} from '../core/protocol.js'
import {asset} from '../core/paths.js'
import type {Command} from '../core/actions.js'
import {failedAt, unknown} from './outcome.js'
import type {Prepared, ToolDriver} from './types.js'

export const CNI_CHAIN = asset('netlab-cni-chain.pl')
/** The protocol spoken with CNI_CHAIN (docs/runner-protocol.md); the script has the same constant and refuses any other. */
export const CNI_CHAIN_PROTOCOL = 2

/** Escape a text for an unquoted here-document (where $, ` and \ are special). */
const hereDoc = (text: string) => text.replace(/[\\$`]/g, (c) => `\\${c}`)

export const cni: ToolDriver = {
  name: 'cni',
  argv: (c) => ['ip', 'netns', 'exec', c.netns!, c.args[0]],
  line: (c, plain) => cniLine(c, plain),
  badArg: (arg) => (arg.startsWith('/') && !/[\n\t]/.test(arg) ? undefined : 'is not an absolute plugin path'),
  prepare(actions, netns, opts): Prepared {
    // a call with fault set fails as a plugin would, with an error result (test-only)
    const calls = actions.map((a, i) => ({
      file: a.args[0],
      env: a.env,
      config: a.stdin,
      ...a.cni,
      ...(i === opts.fault ? {fault: true} : {}),
    }))
    const env = {NETLAB_CNI_CHAIN_PROTOCOL: String(CNI_CHAIN_PROTOCOL)}
    const steps = [{kind: 'exec' as const, argv: ['perl', CNI_CHAIN], stdin: JSON.stringify(calls), env}]
    return {tool: 'cni', netns, actions, steps, firstAction: [0], fault: opts.fault, fallback: false}
  },
  interpret(p, f) {
    // the chain refused this netlab's protocol: it ran none of the calls
    const refused = protocolRefusal(f.stderr)
    if (refused) return {applied: [], notRun: p.actions, unknown: [], error: {command: `perl ${CNI_CHAIN}`, stderr: refused}}
    const m = /^call (\d+) failed: ([\s\S]*)$/m.exec(f.stderr)
    if (!m) return unknown(p, `perl ${CNI_CHAIN} (${p.actions.length} CNI calls in ${p.netns})`, f.stderr.trim())
    return failedAt(cni, p, Number(m[1]), m[2].trim())
  },
}

/**
 * How a plan shows a plugin call as a shell command: the result goes into $cni_result, and a
 * plugin after the first gets it as prevResult (an unquoted here-document, escaped).
 */
function cniLine(c: Command, line: string): string {
  if (c.cni?.prevResult !== 'previous' || !c.stdin) {
    const heredoc = `${line} <<'NETLAB_EOF'\n${(c.stdin ?? '').replace(/\n$/, '')}\nNETLAB_EOF`
    // an ADD's result is the next plugin's prevResult; STATUS and GC print nothing to keep
    return c.cni?.prevResult === 'none' && c.env?.CNI_COMMAND === 'ADD' ? `cni_result=$(${heredoc}\n)` : heredoc
  }
  const conf = c.stdin.trim().replace(/\}$/, '')
  return `cni_result=$(${line} <<NETLAB_EOF\n${hereDoc(conf)},"prevResult":\${cni_result}}\nNETLAB_EOF\n)`
}
