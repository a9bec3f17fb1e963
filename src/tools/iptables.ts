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

const CHAIN = /^[A-Za-z0-9][\w.-]{0,28}$/
/** kube-proxy's chains (src/proxy): its fixed ones, and the per-Service ones named by a 16-character hash */
const KUBE_CHAIN =
  /^KUBE-(SERVICES|NODEPORTS|EXTERNAL-SERVICES|FORWARD|PROXY-FIREWALL|POSTROUTING|MARK-MASQ|(SVC|SVL|EXT|FW|SEP)-[A-Z2-7]{16})$/
const MARK = /^0x[0-9a-f]{1,8}$/
const one = (re: RegExp | readonly string[]) => (v: string | undefined) =>
  v !== undefined && (Array.isArray(re) ? re.includes(v) : (re as RegExp).test(v))
/**
 * Every option netlab's rules use (src/modes, src/proxy, src/exercise/faults), each with what its
 * values must be: nothing else is taken. Values are fixed names where iptables would load
 * something by name (-t, -m, -p, -j: a module or an extension's library); none starts with "-".
 * Jumps go to netlab's own chains (NETLAB-*) and kube-proxy's (KUBE-*, by their exact shapes).
 */
const RULE_OPTIONS: Record<string, ((v: string | undefined) => boolean)[]> = {
  '-t': [one(['filter', 'nat'])],
  '-A': [one(CHAIN)],
  '-D': [one(CHAIN)],
  '-I': [one(CHAIN)],
  '-N': [one(CHAIN)],
  '-P': [one(CHAIN), one(['ACCEPT', 'DROP'])],
  '-s': [one(/^[\d.]+(\/\d{1,2})?$/)],
  '-d': [one(/^[\d.]+(\/\d{1,2})?$/)],
  '-i': [one(/^[A-Za-z0-9@._:][A-Za-z0-9@._:-]{0,14}$/)],
  '-o': [one(/^[A-Za-z0-9@._:][A-Za-z0-9@._:-]{0,14}$/)],
  '-p': [one(['tcp', 'udp', 'icmp'])],
  '-m': [one(['comment', 'conntrack', 'addrtype', 'tcp', 'udp', 'mark', 'statistic', 'recent'])],
  '-j': [(v) => one(/^(ACCEPT|DROP|REJECT|RETURN|MASQUERADE|SNAT|DNAT|MARK|NETLAB-[\w.-]{1,22})$/)(v) || one(KUBE_CHAIN)(v)],
  '--comment': [one(/^[^\n\r"\\-][^\n\r"\\]{0,255}$/)],
  '--ctstate': [one(/^[A-Z]+(,[A-Z]+)*$/)],
  '--dst-type': [one(/^[A-Z]+$/)],
  '--src-type': [one(/^[A-Z]+$/)],
  '--reject-with': [one(/^[a-z]+(-[a-z]+)*$/)],
  '--dport': [one(/^\d{1,5}(:\d{1,5})?$/)],
  '--to-source': [one(/^[\d.]+$/)],
  '--to-destination': [one(/^[\d.]+:\d{1,5}$/)],
  '--mode': [one(['random'])],
  '--probability': [one(/^0\.\d{10}$/)],
  '--name': [one(/^KUBE-SEP-[A-Z2-7]{16}$/)],
  '--rcheck': [],
  '--set': [],
  '--reap': [],
  '--seconds': [one(/^\d{1,9}$/)],
  '--mark': [one(/^0x[0-9a-f]{1,8}(\/0x[0-9a-f]{1,8})?$/)],
  '--or-mark': [one(MARK)],
  '--xor-mark': [one(MARK)],
  '--random-fully': [],
}
/** The options a "!" may invert (kube-proxy: ! -s CLUSTER-CIDR, ! -d 127.0.0.0/8, -m mark ! --mark). */
const INVERTIBLE = new Set(['-s', '-d', '--mark'])

/**
 * Why iptables words (a rule's arguments, or a rule line of iptables-restore input, as that
 * program splits it) could do more than change the namespace's tables, or undefined: only the
 * options netlab's rules use, each spelled out whole (no bundle such as -nM, no long-option
 * prefix such as --mod) with the values it takes; `-I CHAIN` may be followed by a position.
 * --modprobe (-M) would name a program for iptables to run as root; an unknown table, match or
 * target would have it load a module or a library.
 */
function iptablesConfined(words: string[], opts: {table?: boolean} = {}): string | undefined {
  // -M, or --modprobe or any prefix of it iptables would take for it (--mo, --mod, …; not --mode, statistic's own option)
  const program = words.find((w) => /^-[^-]*M/.test(w) || (/^--mo/.test(w) && '--modprobe'.startsWith(w.split('=')[0])))
  if (program) return `"${program}" names a program for iptables to run`
  for (let i = 0; i < words.length;) {
    if (words[i] === '!' && INVERTIBLE.has(words[i + 1])) i++
    const w = words[i]
    const values = RULE_OPTIONS[w]
    if (!values || (w === '-t' && opts.table === false)) return `"${w}" is not an option netlab's rules use`
    for (const [k, ok] of values.entries())
      if (!ok(words[i + 1 + k])) return `${w} ${JSON.stringify(words[i + 1 + k] ?? '')}: not a value netlab's rules give it`
    i += 1 + values.length
    if (w === '-I' && /^\d{1,4}$/.test(words[i] ?? '')) i++
  }
  return undefined
}

/** A line of iptables-restore input as that program splits it: white space between words, "…" quotes (\\ escapes in them). */
function restoreWords(line: string): string[] {
  const words: string[] = []
  let [word, quoted, open] = ['', false, false]
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]
    if (open && ch === '\\') word += line[++i] ?? ''
    else if (ch === '"') [open, quoted] = [!open, true]
    else if (open || !' \t'.includes(ch)) word += ch
    else if (word !== '' || quoted) [word, quoted] = [(words.push(word), ''), false]
  }
  if (word !== '' || quoted) words.push(word)
  return words
}

/**
 * Why iptables-restore input could do more than replace the namespace's tables, or undefined:
 * only what restoreInput writes (comments, a table, a chain's policy, COMMIT, rules), each rule
 * line written exactly as restoreInput would write its words (so any program's way of splitting
 * it gives the same words) and those words as iptablesConfined takes them, without -t.
 */
export function restoreConfined(text: string): string | undefined {
  for (const [n, line] of text.split('\n').entries()) {
    if (line === '' || line.startsWith('#') || /^\*(filter|nat)$|^COMMIT$/.test(line)) continue
    if (/^:[A-Za-z0-9][\w.-]{0,28} (ACCEPT|DROP|-) \[\d+:\d+\]$/.test(line)) continue
    const words = restoreWords(line)
    const problem =
      iptablesConfined(words, {table: false}) ??
      (words.map(iptablesWord).join(' ') === line ? undefined : 'is not written as netlab writes a rule')
    if (problem) return `line ${n + 1}: ${problem}`
  }
  return undefined
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
