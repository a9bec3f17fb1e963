// nft, fed statements on its standard input (`nft -f -`). The nft actions of one namespace run as
// one input, which nft commits as one transaction (as kube-proxy writes its table): all of it or
// none. nft names the line it refused (/dev/stdin:LINE:COL: Error: …); each line is mapped back to
// the action that wrote it.
import {notOneLine} from './args.js'
import {shown} from './outcome.js'
import type {BatchOutcome, Prepared, StepFailure, ToolDriver} from './types.js'

/**
 * A statement that fails for real, for tests that inject a fault: refused by nft itself, so it is
 * the first error nft reports whatever comes before or after it (a statement the kernel refuses
 * for want of a table an earlier line would have made is not always reported on its own line).
 */
const FAULT_INPUT = 'add rule ip kube-proxy netlab-injected-fault ip daddr 1.2.3.4/40 accept\n'

interface NftInput {
  text: string
  /** for each action, its lines: [first, end) (1-based) */
  lines: [number, number][]
}

function nftInput(p: {actions: {stdin?: string}[]; fault: number}): NftInput {
  const lines: [number, number][] = []
  let text = ''
  let line = 1
  p.actions.forEach((a, i) => {
    let t = i === p.fault ? FAULT_INPUT : (a.stdin ?? '')
    if (t !== '' && !t.endsWith('\n')) t += '\n'
    const first = line
    line += t.split('\n').length - 1
    lines.push([first, line])
    text += t
  })
  return {text, lines}
}

// What netlab's nftables mode writes (src/proxy/nftables.ts), statement by statement: nothing else
// is taken. Names are nft identifiers (no quotes, no $, no spaces); comments are plain words.
const NAME = String.raw`[A-Za-z_][A-Za-z0-9_./-]{0,255}`
const IP = String.raw`\d{1,3}(?:\.\d{1,3}){3}`
const CIDR = String.raw`${IP}(?:/\d{1,2})?`
const PORT = String.raw`\d{1,5}`
const PROTO = '(?:tcp|udp)'
const MARK = '0x[0-9a-f]{1,8}'
const COMMENT = String.raw`comment "[A-Za-z0-9 ,./:_@-]{1,128}"`
const VERDICT = `(?:goto ${NAME}|drop|accept)`
const HOOKS = '(?:prerouting|input|forward|output|postrouting)'
const RULES = [
  `ct state new jump ${NAME}`,
  `(?:jump|goto) ${NAME}`,
  `ip daddr @${NAME} reject(?: ${COMMENT})?`,
  `ip daddr \\{ ${CIDR}(?:, ${CIDR})* \\} drop(?: ${COMMENT})?`,
  `ip daddr(?: @${NAME})?(?: \\.)? meta l4proto \\. th dport vmap @${NAME}`,
  `mark set mark (?:or|xor) ${MARK}`,
  `mark and ${MARK} == 0 return`,
  'masquerade fully-random',
  'reject',
  `ip daddr ${IP} ip saddr != ${CIDR} jump ${NAME}`,
  `ip saddr ${CIDR} (?:jump|goto) ${NAME}(?: ${COMMENT})?`,
  `fib saddr type local (?:jump|goto) ${NAME} ${COMMENT}`,
  `ip saddr @${NAME} goto ${NAME}`,
  `numgen random mod \\d{1,5} vmap \\{ \\d{1,5} : goto ${NAME}(?: , \\d{1,5} : goto ${NAME})* \\}`,
  `update @${NAME} \\{ ip saddr \\}`,
  `meta l4proto ${PROTO} dnat to ${IP}:${PORT}`,
]
const ELEMENT = `(?:${IP}|${IP} \\. ${PROTO} \\. ${PORT}(?: ${COMMENT})? : ${VERDICT}|${PROTO} \\. ${PORT}(?: ${COMMENT})? : ${VERDICT})`
const T = 'ip kube-proxy'
const STATEMENTS = [
  `add table ${T}(?: \\{ ${COMMENT} ; \\})?`,
  `delete table ${T}`,
  `add chain ${T} ${NAME}`,
  `add chain ${T} ${NAME} \\{ ${COMMENT} ; \\}`,
  `add chain ${T} ${NAME} \\{ type (?:filter|nat) hook ${HOOKS} priority -?\\d{1,3} ; \\}`,
  `add set ${T} ${NAME} \\{ type ipv4_addr ; ${COMMENT} ; \\}`,
  `add set ${T} ${NAME} \\{ type ipv4_addr ; flags dynamic,timeout ; timeout \\d{1,7}s ; \\}`,
  `add map ${T} ${NAME} \\{ type (?:ipv4_addr \\. )?inet_proto \\. inet_service : verdict ; ${COMMENT} ; \\}`,
  `add element ${T} ${NAME} \\{ ${ELEMENT} \\}`,
  `add rule ${T} ${NAME} (?:${RULES.join('|')})`,
]
const STATEMENT = new RegExp(`^(?:${STATEMENTS.join('|')})$`)

/**
 * Why this nft input could do more than change the namespace's kube-proxy table, or undefined:
 * every line blank or one of the statements netlab's nftables mode writes, on `table ip
 * kube-proxy` only. So never `include` (a file), `define` or a $variable, another family or
 * table, a `;` that starts a second statement, or any statement (log, queue, dup, fwd, ct helper…)
 * that nftables mode does not write.
 */
export function nftConfined(text: string): string | undefined {
  for (const [n, line] of text.split('\n').entries()) {
    if (line === '' || STATEMENT.test(line)) continue
    return `line ${n + 1} is not a statement netlab's nftables mode writes: ${JSON.stringify(line.slice(0, 80))}`
  }
  return undefined
}

export const nft: ToolDriver = {
  name: 'nft',
  argv: (c) => ['ip', 'netns', 'exec', c.netns!, 'nft', ...c.args],
  badArg: notOneLine,
  // statements on stdin (-f -), nothing else: no file, no other option
  confined: (c) =>
    c.args.length === 2 && c.args[0] === '-f' && c.args[1] === '-'
      ? nftConfined(c.stdin ?? '')
      : `takes only -f - here (given ${c.args.join(' ')})`,
  prepare(actions, netns, opts): Prepared {
    const input = nftInput({actions, fault: opts.fault})
    return {
      tool: 'nft',
      netns,
      actions,
      steps: [{kind: 'exec', argv: ['nft', '-f', '-'], stdin: input.text}],
      firstAction: [0],
      fault: opts.fault,
      fallback: false,
    }
  },
  interpret(p: Prepared, f: StepFailure): BatchOutcome {
    const stderr = f.stderr.trim()
    // one transaction: a failure anywhere means nothing of the input was applied
    const m = /^[^\n:]*:(\d+):\d+(?:-\d+)?: Error:/m.exec(stderr)
    const line = m ? Number(m[1]) : -1
    const k = nftInput(p).lines.findIndex(([first, end]) => first <= line && line < end)
    if (k < 0)
      return {
        applied: [],
        notRun: p.actions,
        unknown: [],
        error: {command: `ip netns exec ${p.netns} nft -f -  (${p.actions.length} inputs)`, stderr},
      }
    return {
      applied: [],
      failed: p.actions[k],
      notRun: p.actions.filter((_, i) => i !== k),
      unknown: [],
      error: {command: shown(nft, p, k), stderr},
    }
  },
}
