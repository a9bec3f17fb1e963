// kube-proxy's nftables mode, read as the kernel walks it: `nft -j list table ip kube-proxy`
// (libnftables' JSON), its base chains by hook (nat prerouting/output for the DNAT, filter
// forward/input/output for what has no endpoint, nat postrouting for the masquerade), jumps and
// gotos, verdict maps (`service-ips`, `service-nodeports`, `no-endpoint-…`, `numgen random mod N`),
// the mark kube-proxy sets for masquerade, `dnat`, `masquerade`, `reject`/`drop`. Only the
// expressions kube-proxy writes are modelled: an unknown one matches nothing. The result has the
// shape of an iptables verdict (./iptables.ts), so the hop is told the same way. Pure.
import {inCidr, type Rule, type Verdict, type Where} from './iptables.js'
import type {Packet} from './types.js'

/* eslint-disable @typescript-eslint/no-explicit-any -- libnftables' JSON is a tree of many shapes; each is read where it is used */
type Json = any

interface NftChain {
  hook?: string
  type?: string
  rules: Rule[]
  exprs: Json[][]
  comments: (string | undefined)[]
}

export interface NftTable {
  chains: Map<string, NftChain>
  /** sets and maps by name: their elements as [key, verdict] (a set's verdict is undefined) */
  sets: Map<string, [Json, Json][]>
}

/** The table kube-proxy's nftables mode writes, from `nft -j list table ip kube-proxy`; undefined: none there. */
export function parseNft(text: string | undefined): NftTable | undefined {
  let doc: Json
  try {
    doc = JSON.parse(text ?? '')
  } catch {
    return undefined
  }
  const items: Json[] = Array.isArray(doc?.nftables) ? doc.nftables : []
  const table: NftTable = {chains: new Map(), sets: new Map()}
  for (const item of items) {
    if (item.chain) table.chains.set(item.chain.name, {hook: item.chain.hook, type: item.chain.type, rules: [], exprs: [], comments: []})
    const s = item.set ?? item.map
    if (s)
      table.sets.set(
        s.name,
        (s.elem ?? []).map((e: Json) => (Array.isArray(e) && item.map ? [e[0], e[1]] : [e, undefined])),
      )
  }
  for (const item of items) {
    const r = item.rule
    const chain = r && table.chains.get(r.chain)
    if (!chain) continue
    chain.exprs.push(r.expr ?? [])
    chain.comments.push(r.comment)
    const text = (r.expr ?? []).map(exprText).join(' ') + (r.comment ? ` comment "${r.comment}"` : '')
    chain.rules.push({chain: r.chain, num: chain.rules.length + 1, text, args: [], packets: 0})
  }
  return table.chains.size ? table : undefined
}

/** An expression as nft prints it, roughly: enough to name a rule. */
function exprText(e: Json): string {
  if (e === null || typeof e !== 'object') return String(e)
  if (Array.isArray(e)) return e.map(exprText).join(', ')
  const [k, v] = (Object.entries(e)[0] ?? ['', '']) as [string, Json]
  switch (k) {
    case 'match':
      return `${exprText(v.left)} ${v.op === '==' ? '' : `${v.op} `}${exprText(v.right)}`.replace(/ {2}/, ' ')
    case 'payload':
      return `${v.protocol} ${v.field}`
    case 'meta':
      return `meta ${v.key}`
    case 'fib':
      return `fib ${(v.flags ?? []).join(' . ')} ${v.result}`
    case 'ct':
      return `ct ${v.key}`
    case 'concat':
      return v.map(exprText).join(' . ')
    case 'prefix':
      return `${v.addr}/${v.len}`
    case 'set':
      // a statement (update @affinity-… { ip saddr }), or an anonymous set
      if (!Array.isArray(v)) return `${v.op} ${v.set} { ${exprText(v.elem)} }`
      return `{ ${v.map((x: Json) => (Array.isArray(x) ? `${exprText(x[0])} : ${exprText(x[1])}` : exprText(x))).join(', ')} }`
    case 'numgen':
      return `numgen ${v.mode} mod ${v.mod}`
    case 'vmap':
      return `${exprText(v.key)} vmap ${exprText(v.data)}`
    case 'jump':
    case 'goto':
      return `${k} ${v.target}`
    case 'dnat':
      return `dnat to ${v.addr}${v.port !== undefined ? `:${v.port}` : ''}`
    case 'masquerade':
      return `masquerade${v?.flags ? ` ${[v.flags].flat().join(',')}` : ''}`
    case 'mangle':
      return `${exprText(v.key)} set ${exprText(v.value)}`
    case 'update':
      return `update ${v.set} { ${exprText(v.elem)} }`
    case 'elem':
      return exprText(v.val)
    case '&':
    case '|':
    case '^':
      return `${exprText(v[0])} ${k} ${exprText(v[1])}`
    default:
      return v === null ? k : `${k}`
  }
}

interface State {
  packet: Packet
  where: Where
  mark: number
  table: NftTable
}

/** The value of an expression for this packet (undefined: not modelled). */
function value(e: Json, s: State): Json {
  if (e === null || typeof e !== 'object') return e
  const [k, v] = Object.entries(e)[0] as [string, Json]
  const p = s.packet
  switch (k) {
    case 'payload':
      return v.field === 'saddr' ? p.src : v.field === 'daddr' ? p.dst : v.field === 'dport' ? p.port : undefined
    case 'meta':
      return v.key === 'l4proto' || v.key === 'protocol' ? p.proto : v.key === 'mark' ? s.mark : undefined
    case 'fib': {
      const ip = v.flags?.includes('saddr') ? p.src : p.dst
      return v.result === 'type' ? (s.where.local?.has(ip) ? 'local' : 'unicast') : undefined
    }
    case 'ct':
      return v.key === 'state' ? (p.established ? 'established' : 'new') : undefined
    case 'concat':
      return v.map((x: Json) => value(x, s))
    case '&':
      return (Number(value(v[0], s)) & Number(value(v[1], s))) >>> 0
    case '|':
      return (Number(value(v[0], s)) | Number(value(v[1], s))) >>> 0
    case '^':
      return (Number(value(v[0], s)) ^ Number(value(v[1], s))) >>> 0
    default:
      return undefined
  }
}

/** Does `got` equal one element (a value, a prefix, a range, a concatenation of them)? */
function equals(got: Json, want: Json): boolean {
  if (want && typeof want === 'object' && 'elem' in want) return equals(got, want.elem.val)
  if (want && typeof want === 'object' && 'concat' in want)
    return Array.isArray(got) && want.concat.every((w: Json, i: number) => equals(got[i], w))
  if (want && typeof want === 'object' && 'prefix' in want)
    return typeof got === 'string' && inCidr(got, `${want.prefix.addr}/${want.prefix.len}`)
  if (want && typeof want === 'object' && 'range' in want)
    return Number(got) >= Number(want.range[0]) && Number(got) <= Number(want.range[1])
  if (typeof want === 'string' && typeof got === 'string' && want.includes('/')) return inCidr(got, want)
  return got !== undefined && String(got) === String(want)
}

/** The elements a match's right side stands for: a named set, an anonymous one, or one value. */
function elements(right: Json, s: State): [Json, Json][] {
  if (typeof right === 'string' && right.startsWith('@')) return s.table.sets.get(right.slice(1)) ?? []
  if (right && typeof right === 'object' && 'set' in right)
    return right.set.map((x: Json) => (Array.isArray(x) ? [x[0], x[1]] : [x, undefined]))
  return [[right, undefined]]
}

function matches(m: Json, s: State): boolean {
  const got = value(m.left, s)
  if (got === undefined) return false
  const hit = elements(m.right, s).some(([e]) => equals(got, e))
  return m.op === '!=' ? !hit : hit
}

/** The verdict (jump, goto, …) a vmap gives, undefined: no element matched (the rule goes on). */
function vmap(v: Json, s: State): Json {
  const key = v.key?.numgen ? choose(v, s) : value(v.key, s)
  if (key === undefined) return undefined
  return elements(v.data, s).find(([e]) => equals(key, e))?.[1]
}

/** numgen random: the element whose goto is the chain `where.prefer` names, else the first. */
function choose(v: Json, s: State): Json {
  const all = elements(v.data, s)
  const wanted = all.find(([, verdict]) => verdict?.goto?.target === s.where.prefer || verdict?.jump?.target === s.where.prefer)
  return (wanted ?? all[0])?.[0]
}

type Step = {verdict: Verdict['verdict']; toDestination?: {ip: string; port?: number}} | {go: 'jump' | 'goto'; to: string} | 'return'

/** One rule: its statements in order, until one decides; undefined: on to the next rule. */
function runRule(exprs: Json[], s: State, onMark: () => void): Step | undefined {
  for (const e of exprs) {
    const [k, v] = (Object.entries(e ?? {})[0] ?? []) as [string?, Json?]
    if (k === 'match') {
      if (!matches(v, s)) return undefined
    } else if (k === 'vmap' || k === 'jump' || k === 'goto') {
      const verdict = k === 'vmap' ? vmap(v, s) : e
      if (!verdict) return undefined
      const step = verdictStep(verdict)
      if (step) return step
    } else if (k === 'mangle' && v.key?.meta?.key === 'mark') {
      s.mark = Number(value(v.value, s)) >>> 0
      onMark()
    } else if (k === 'dnat')
      return {verdict: 'dnat', toDestination: {ip: String(v.addr), port: v.port !== undefined ? Number(v.port) : undefined}}
    else if (k === 'masquerade' || k === 'snat') return {verdict: 'masquerade'}
    else if (k === 'return') return 'return'
    else if (k === 'accept') return {verdict: 'accept'}
    else if (k === 'drop' || k === 'reject') return {verdict: 'drop'}
    // counter, update (affinity: remembers the client), comment, log: on
  }
  return undefined
}

function verdictStep(verdict: Json): Step | undefined {
  const [k, v] = (Object.entries(verdict ?? {})[0] ?? []) as [string?, Json?]
  if (k === 'jump' || k === 'goto') return {go: k, to: v.target}
  if (k === 'drop' || k === 'reject') return {verdict: 'drop'}
  if (k === 'accept') return {verdict: 'accept'}
  if (k === 'return') return 'return'
  return undefined
}

/**
 * Walk the table's base chains of `hook` (and `type`: nat or filter) for the packet, as the
 * kernel does: undefined when the table has none or none decides (the packet passes).
 */
export function evaluateNft(table: NftTable, type: 'nat' | 'filter', hook: string, packet: Packet, where: Where): Verdict | undefined {
  const s: State = {packet, where, mark: where.mark ?? 0, table}
  const marks: Rule[][] = []
  const walk = (name: string, path: string[], via: Rule[], depth: number): Verdict | 'return' | undefined => {
    const chain = s.table.chains.get(name)
    if (!chain || depth > 32) return 'return'
    for (const [i, exprs] of chain.exprs.entries()) {
      const rule = chain.rules[i]
      const step = runRule(exprs, s, () => marks.push([...via, rule]))
      if (!step) continue
      if (step === 'return') return 'return'
      if ('go' in step) {
        const sub = walk(step.to, [...path, name], [...via, rule], depth + 1)
        if (sub !== 'return') return sub
        if (step.go === 'goto') return 'return'
        continue
      }
      const comment = chain.comments[i]
      return {verdict: step.verdict, rule, path: [...path, name], via, mark: s.mark, marks, comment, toDestination: step.toDestination}
    }
    return 'return'
  }
  for (const [name, chain] of s.table.chains) {
    if (chain.hook !== hook || chain.type !== type) continue
    const v = walk(name, [], [], 0)
    if (v && v !== 'return' && v.verdict !== 'accept') return v
  }
  return marks.length ? {verdict: 'accept', path: [], via: [], mark: s.mark, marks} : undefined
}

/** The endpoints a Service chain's `numgen random mod N vmap` chooses from: each endpoint chain and its chance, 1/N. */
export function nftCandidates(table: NftTable, chain: string): {chain: string; to: string; probability: number}[] {
  for (const exprs of table.chains.get(chain)?.exprs ?? []) {
    const v = exprs.find((e) => e?.vmap?.key?.numgen)?.vmap
    if (!v) continue
    const all = (v.data?.set ?? []) as [Json, Json][]
    return all.map(([, verdict]) => {
      const target = verdict?.goto?.target ?? verdict?.jump?.target
      const dnat = table.chains
        .get(target)
        ?.exprs.flat()
        .find((e) => e?.dnat)?.dnat
      return {chain: target, to: dnat ? `${dnat.addr}${dnat.port !== undefined ? `:${dnat.port}` : ''}` : '?', probability: 1 / all.length}
    })
  }
  return []
}
