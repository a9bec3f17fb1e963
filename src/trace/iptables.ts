// Which iptables rule decides a packet, from an `iptables-save -c` dump: the chain walk the
// kernel does (jumps into user chains, RETURN, the built-in chain's policy), for the matches
// netlab's plans and the usual hand-written rules use (-s -d -i -o -p --dport, comment, conntrack
// state, physdev for frames br_netfilter hands over; the packet is the first of its connection,
// NEW). Pure.
import {parseCidr, parseIPv4} from '../core/ipv4.js'
import type {Packet} from './types.js'

interface Rule {
  chain: string
  /** its position in its chain, from 1 (as `iptables -L --line-numbers` counts) */
  num: number
  /** the rule as `iptables -S` prints it */
  text: string
  args: string[]
  packets: number
}

export interface Table {
  policies: Map<string, string>
  chains: Map<string, Rule[]>
}

/** Split a line as iptables-save quotes it: "…" holds spaces, \" and \\ escape. */
export function words(line: string): string[] {
  const out: string[] = []
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2])
  return out
}

/** The tables of an `iptables-save -c` dump, by name. */
export function parseSave(text: string): Map<string, Table> {
  const tables = new Map<string, Table>()
  let table: Table | undefined
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line.startsWith('*')) tables.set(line.slice(1), (table = {policies: new Map(), chains: new Map()}))
    else if (!table || line === 'COMMIT' || line.startsWith('#') || !line) continue
    else if (line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(/\s+/)
      table.policies.set(name, policy)
      if (!table.chains.has(name)) table.chains.set(name, [])
    } else {
      const counters = /^\[(\d+):(\d+)\]\s+/.exec(line)
      const rest = counters ? line.slice(counters[0].length) : line
      const w = words(rest)
      if (w[0] !== '-A' || !w[1]) continue
      const rules = table.chains.get(w[1]) ?? []
      table.chains.set(w[1], rules)
      rules.push({chain: w[1], num: rules.length + 1, text: rest, args: w.slice(2), packets: counters ? Number(counters[1]) : 0})
    }
  }
  return tables
}

export interface Verdict {
  /** accept, drop (DROP or REJECT), or a source NAT (MASQUERADE/SNAT) */
  verdict: 'accept' | 'drop' | 'masquerade'
  /** the deciding rule; undefined: the chain's policy decided */
  rule?: Rule
  /** the chains walked to it: FORWARD → NETLAB-POLICY → NETLAB-IN-db */
  path: string[]
  /** the deciding rule's comment, if it has one */
  comment?: string
  /** SNAT's --to-source address, if given */
  toSource?: string
}

export interface Where {
  /** interface it came in by (undefined: made here, OUTPUT) */
  iif?: string
  /** interface it leaves by */
  oif?: string
  /** the namespace's own addresses (-m addrtype --dst-type LOCAL) */
  local?: Set<string>
  /** the bridge port it came in by (-m physdev --physdev-in), when it came in through a bridge */
  physIn?: string
  /** the bridge port it leaves by (--physdev-out): only a bridged frame has one */
  physOut?: string
  /** the frame is bridged, not routed (--physdev-is-bridged) */
  bridged?: boolean
}

/** Is `ip` in `text`, an address or a CIDR (as iptables and ip print them)? */
export const inCidr = (ip: string, text: string): boolean => {
  const c = parseCidr(text.includes('/') ? text : `${text}/32`)
  const n = parseIPv4(ip)
  return typeof c !== 'string' && n !== undefined && c.contains(n)
}

/** iptables interface names: a trailing + matches any name with that start. */
const ifMatch = (name: string | undefined, pattern: string): boolean =>
  name !== undefined && (pattern.endsWith('+') ? name.startsWith(pattern.slice(0, -1)) : name === pattern)

function portMatch(port: number | undefined, spec: string): boolean {
  if (port === undefined) return false
  const [lo, hi] = spec.split(':').map(Number)
  return hi === undefined ? port === lo : port >= lo && port <= hi
}

type Matcher = (v: string, p: Packet, where: Where) => boolean
const src: Matcher = (v, p) => inCidr(p.src, v)
const dst: Matcher = (v, p) => inCidr(p.dst, v)
const iif: Matcher = (v, _, w) => ifMatch(w.iif, v)
const oif: Matcher = (v, _, w) => ifMatch(w.oif, v)
const proto: Matcher = (v, p) => v === 'all' || v === p.proto
const dport: Matcher = (v, p) => portMatch(p.port, v)
const isNew: Matcher = (v) => v.split(',').includes('NEW')
/** the options of the matches trace models; the packet is a connection's first (conntrack NEW) */
const MATCHES: Record<string, Matcher> = {
  '-s': src,
  '--source': src,
  '-d': dst,
  '--destination': dst,
  '-i': iif,
  '--in-interface': iif,
  '-o': oif,
  '--out-interface': oif,
  '-p': proto,
  '--protocol': proto,
  '--dport': dport,
  '--destination-port': dport,
  '--ctstate': isNew,
  '--state': isNew,
  '--dst-type': (v, p, w) => (v === 'LOCAL' ? !!w.local?.has(p.dst) : false),
  '--physdev-in': (v, _, w) => ifMatch(w.physIn, v),
  '--physdev-out': (v, _, w) => ifMatch(w.physOut, v),
}

/** the matches that take no value */
const FLAGS: Record<string, (w: Where) => boolean> = {
  '--physdev-is-bridged': (w) => !!w.bridged,
  '--physdev-is-in': (w) => w.physIn !== undefined,
  '--physdev-is-out': (w) => w.physOut !== undefined,
}

interface Parsed {
  matches: boolean
  target?: string
  goto: boolean
  comment?: string
  toSource?: string
}

/** Does the rule match the packet, and what is its target? Unknown matches count as matching nothing. */
function matchRule(args: string[], p: Packet, where: Where): Parsed {
  let matches = true
  let negate = false
  const out: Parsed = {matches: true, goto: false}
  const test = (ok: boolean) => {
    if (ok === negate) matches = false
    negate = false
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    const v = args[i + 1]
    if (a === '!') {
      negate = true
      continue
    }
    if (a === '-j' || a === '--jump' || a === '-g' || a === '--goto') {
      out.target = v
      out.goto = a === '-g' || a === '--goto'
      i++
    } else if (MATCHES[a]) {
      test(MATCHES[a](v, p, where))
      i++
    } else if (FLAGS[a]) test(FLAGS[a](where))
    else if (a === '--comment') {
      out.comment = v
      i++
    } else if (a === '--to-source') {
      out.toSource = v.split(':')[0].split('-')[0]
      i++
    } else if (a === '-m' || a === '--match' || a === '--reject-with' || a === '--log-prefix') i++
    else if (a.startsWith('-') && v !== undefined && !v.startsWith('-')) {
      // a match netlab does not model (mark, …): assume it does not match this packet
      if (!['--sport', '--source-port', '--icmp-type'].includes(a)) matches = false
      i++
    }
  }
  out.matches = matches
  return out
}

const TERMINAL: Record<string, Verdict['verdict']> = {
  ACCEPT: 'accept',
  DROP: 'drop',
  REJECT: 'drop',
  MASQUERADE: 'masquerade',
  SNAT: 'masquerade',
}

/**
 * Walk `chain` of `table` for the packet, as the kernel does. undefined when the table or chain is
 * not there (nothing to decide: the packet passes).
 */
export function evaluate(tables: Map<string, Table>, tableName: string, chain: string, p: Packet, where: Where): Verdict | undefined {
  const table = tables.get(tableName)
  if (!table || !table.chains.has(chain)) return undefined
  const walk = (name: string, path: string[], depth: number): Verdict | 'return' => {
    if (depth > 32) return 'return' // a jump loop: iptables refuses to load one, so this is a broken dump
    for (const rule of table.chains.get(name) ?? []) {
      const r = matchRule(rule.args, p, where)
      if (!r.matches || !r.target) continue
      const terminal = TERMINAL[r.target]
      if (terminal) return {verdict: terminal, rule, path: [...path, name], comment: r.comment, toSource: r.toSource}
      if (r.target === 'RETURN') return 'return'
      if (table.chains.has(r.target)) {
        const sub = walk(r.target, [...path, name], depth + 1)
        if (sub !== 'return') return sub
        if (r.goto) return 'return'
      }
      // LOG, MARK, CT and friends: on to the next rule
    }
    return 'return'
  }
  const v = walk(chain, [], 0)
  if (v !== 'return') return v
  const policy = table.policies.get(chain) ?? 'ACCEPT'
  return {verdict: policy === 'DROP' ? 'drop' : 'accept', path: [chain]}
}

/** A verdict in words: `FORWARD rule 1 "-A FORWARD -d 10.244.9.10/32 -j DROP"`, or the policy. */
export function describeVerdict(v: Verdict, table = 'filter'): string {
  const where = `${table === 'filter' ? '' : `${table} `}${v.path.join(' → ')}`
  if (!v.rule) return `${where}: policy ${v.verdict === 'drop' ? 'DROP' : 'ACCEPT'}`
  return `${where} rule ${v.rule.num}: ${v.rule.text}`
}
