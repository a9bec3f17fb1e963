// Which iptables rule decides a packet, from an `iptables-save -c` dump: the chain walk the
// kernel does (jumps into user chains, RETURN, the built-in chain's policy), for the matches
// netlab's plans, kube-proxy and the usual hand-written rules use (-s -d -i -o -p --dport,
// comment, conntrack state, physdev for frames br_netfilter hands over, addrtype, the packet mark
// that MARK sets, statistic's random choice, recent's lists; the packet is the first of its
// connection, NEW, unless it is a reply). Pure.
import {parseCidr, parseIPv4} from '../core/ipv4.js'
import type {Packet} from './types.js'

export interface Rule {
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
  /** accept, drop (DROP or REJECT), a source NAT (MASQUERADE/SNAT) or a destination NAT (DNAT) */
  verdict: 'accept' | 'drop' | 'masquerade' | 'dnat'
  /** the deciding rule; undefined: the chain's policy decided */
  rule?: Rule
  /** the chains walked to it: FORWARD → NETLAB-POLICY → NETLAB-IN-db */
  path: string[]
  /** the rules that jumped along `path` (one per chain after the first) */
  via: Rule[]
  /** the packet's mark as the walk leaves it (MARK targets on the way) */
  mark: number
  /** each MARK on the way: the rules that led to it (the jumps, then the MARK rule itself) */
  marks: Rule[][]
  /** DNAT's --to-destination: address, and port if given */
  toDestination?: {ip: string; port?: number}
  /** the deciding rule's comment, if it has one */
  comment?: string
  /** SNAT's --to-source address, if given */
  toSource?: string
}

export interface Where {
  /** the packet's mark as the walk starts (what MARK set earlier in this namespace) */
  mark?: number
  /** recent's lists as /proc/net/xt_recent shows them: list name -> the source addresses in it */
  recent?: Map<string, Set<string>>
  /**
   * statistic's random choice, made for the trace: a `-m statistic` rule matches only when it
   * jumps to this chain; undefined: the first one does (the walk follows the first endpoint)
   */
  prefer?: string
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
/** a reply belongs to a connection conntrack knows (ESTABLISHED); anything else is its first packet (NEW) */
const ctstate: Matcher = (v, p) => v.split(',').includes(p.established ? 'ESTABLISHED' : 'NEW')
/** -m mark --mark value[/mask] */
const mark: Matcher = (v, _, w) => {
  const [value, mask] = v.split('/').map(Number)
  return ((w.mark ?? 0) & (mask ?? 0xffffffff)) >>> 0 === value
}
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
  '--ctstate': ctstate,
  '--state': ctstate,
  '--dst-type': (v, p, w) => (v === 'LOCAL' ? !!w.local?.has(p.dst) : false),
  '--src-type': (v, p, w) => (v === 'LOCAL' ? !!w.local?.has(p.src) : false),
  '--mark': mark,
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
  /** the target's own options, as written after it (--to-destination, --set-xmark, --to-source …) */
  targetArgs: string[]
}

/** match options whose value only qualifies another option of the same match (read there, or of no account here) */
const QUALIFIERS = new Set(['-m', '--match', '--mode', '--name', '--seconds', '--mask', '--hitcount'])
/** match options without a value that match every packet they see (recent's --set adds the source to its list) */
const ALWAYS = new Set(['--set', '--reap', '--rsource', '--rdest', '--remove'])

/** Does the rule match the packet, and what is its target? Unknown matches count as matching nothing. */
function matchRule(args: string[], p: Packet, where: Where): Parsed {
  let matches = true
  let negate = false
  const out: Parsed = {matches: true, goto: false, targetArgs: []}
  // statistic and recent are decided once the whole rule is read (they need its target, the list's --name)
  const deferred: {negate: boolean; test: () => boolean}[] = []
  let listName = 'DEFAULT'
  const test = (ok: boolean) => {
    if (ok === negate) matches = false
    negate = false
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    const v = args[i + 1]
    if (out.target !== undefined) out.targetArgs.push(a)
    else if (a === '!') {
      negate = true
      continue
    } else if (a === '-j' || a === '--jump' || a === '-g' || a === '--goto') {
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
    } else if (a === '--probability') {
      // the random choice: the trace follows the one `where.prefer` names (or the first)
      deferred.push({negate, test: () => where.prefer === undefined || out.target === where.prefer})
      negate = false
      i++
    } else if (a === '--rcheck' || a === '--update') {
      // ClientIP affinity: the source is in the list when it was sent this way before
      deferred.push({negate, test: () => !!where.recent?.get(listName)?.has(p.src)})
      negate = false
    } else if (ALWAYS.has(a)) negate = false
    else if (QUALIFIERS.has(a)) {
      if (a === '--name') listName = v
      i++
    } else if (a.startsWith('-') && v !== undefined && !v.startsWith('-')) {
      // a match netlab does not model: assume it does not match this packet
      if (!['--sport', '--source-port', '--icmp-type'].includes(a)) matches = false
      i++
    }
  }
  out.matches = matches && deferred.every((d) => d.test() !== d.negate)
  return out
}

/** A target's option's value: `--to-destination 10.244.1.3:8080` */
const optionOf = (args: string[], name: string): string | undefined => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

/** MARK's options applied to a mark (--set-xmark value/mask is what iptables-save prints for the others) */
function applyMark(mark: number, args: string[]): number {
  const [opt, v] = args
  const [value, mask] = (v ?? '0').split('/').map(Number)
  switch (opt) {
    case '--set-xmark':
      return ((mark & ~(mask ?? 0xffffffff)) ^ value) >>> 0
    case '--set-mark':
      return ((mark & ~(mask ?? 0xffffffff)) | value) >>> 0
    case '--or-mark':
      return (mark | value) >>> 0
    case '--and-mark':
      return (mark & value) >>> 0
    case '--xor-mark':
      return (mark ^ value) >>> 0
    default:
      return mark
  }
}

const TERMINAL: Record<string, Verdict['verdict']> = {
  ACCEPT: 'accept',
  DROP: 'drop',
  REJECT: 'drop',
  MASQUERADE: 'masquerade',
  SNAT: 'masquerade',
  DNAT: 'dnat',
}

/**
 * Walk `chain` of `table` for the packet, as the kernel does. undefined when the table or chain is
 * not there (nothing to decide: the packet passes).
 */
export function evaluate(tables: Map<string, Table>, tableName: string, chain: string, p: Packet, where: Where): Verdict | undefined {
  const table = tables.get(tableName)
  if (!table || !table.chains.has(chain)) return undefined
  const w: Where = {...where, mark: where.mark ?? 0}
  const marks: Rule[][] = []
  const walk = (name: string, path: string[], via: Rule[], depth: number): Verdict | 'return' => {
    if (depth > 32) return 'return' // a jump loop: iptables refuses to load one, so this is a broken dump
    for (const rule of table.chains.get(name) ?? []) {
      const r = matchRule(rule.args, p, w)
      if (!r.matches || !r.target) continue
      const terminal = TERMINAL[r.target]
      if (terminal) {
        const to = optionOf(r.targetArgs, '--to-destination')?.split('-')[0]
        const [ip, port] = to?.split(':') ?? []
        return {
          verdict: terminal,
          rule,
          path: [...path, name],
          via,
          mark: w.mark!,
          marks,
          comment: r.comment,
          toSource: optionOf(r.targetArgs, '--to-source')?.split(':')[0].split('-')[0],
          toDestination: ip ? {ip, port: port ? Number(port) : undefined} : undefined,
        }
      }
      if (r.target === 'RETURN') return 'return'
      if (r.target === 'MARK') {
        w.mark = applyMark(w.mark!, r.targetArgs)
        marks.push([...via, rule])
      } else if (table.chains.has(r.target)) {
        const sub = walk(r.target, [...path, name], [...via, rule], depth + 1)
        if (sub !== 'return') return sub
        if (r.goto) return 'return'
      }
      // LOG, CT and friends: on to the next rule
    }
    return 'return'
  }
  const v = walk(chain, [], [], 0)
  if (v !== 'return') return v
  const policy = table.policies.get(chain) ?? 'ACCEPT'
  return {verdict: policy === 'DROP' ? 'drop' : 'accept', path: [chain], via: [], mark: w.mark!, marks}
}

/** A verdict in words: `FORWARD rule 1 "-A FORWARD -d 10.244.9.10/32 -j DROP"`, or the policy. */
export function describeVerdict(v: Verdict, table = 'filter'): string {
  const where = `${table === 'filter' ? '' : `${table} `}${v.path.join(' → ')}`
  if (!v.rule) return `${where}: policy ${v.verdict === 'drop' ? 'DROP' : 'ACCEPT'}`
  return `${where} rule ${v.rule.num}: ${v.rule.text}`
}
