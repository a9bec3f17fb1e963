// A small interpreter of the policy rules a plan writes into each node (the filter table's
// NETLAB-POLICY and the per-pod chains), for tests that hold the compiled rules against the
// model's verdict (src/model/verdict.ts) without a kernel: a new connection's first packet
// walks NETLAB-POLICY on every node that forwards it, as FORWARD would. It reads only the
// iptables arguments of the plan, never the model's policies.
import type {Plan} from '../../src/core/actions.js'
import {parseCidr, parseIPv4} from '../../src/core/ipv4.js'
import type {LabModel} from '../../src/model/types.js'

export interface Packet {
  src: string
  dst: string
  protocol: 'tcp' | 'udp' | 'icmp'
  /** tcp and udp */
  dport?: number
}

type Rule = string[]

const read = new WeakMap<Plan, Map<string, Map<string, Rule[]>>>()

/** Every chain of a node's filter table, as the plan appends to them (-N creates, -A adds); read once per plan and node. */
function chainsOf(plan: Plan, netns: string): Map<string, Rule[]> {
  const perNode = read.get(plan) ?? new Map<string, Map<string, Rule[]>>()
  read.set(plan, perNode)
  const known = perNode.get(netns)
  if (known) return known
  const chains = new Map<string, Rule[]>()
  perNode.set(netns, chains)
  for (const a of plan.actions) {
    if (a.netns !== netns || a.tool !== 'iptables' || a.args[0] === '-t') continue
    const [op, chain, ...rest] = a.args
    if (op === '-N') chains.set(chain, [])
    else if (op === '-A') chains.get(chain)?.push(rest)
  }
  return chains
}

function addrMatches(spec: string, ip: string): boolean {
  const c = parseCidr(spec.includes('/') ? spec : `${spec}/32`)
  if (typeof c === 'string') throw new Error(`bad address in a rule: ${spec}`)
  return c.contains(parseIPv4(ip)!)
}

/** Does a rule's match part (everything before -j) take the packet? Unknown matches fail the test. */
function matches(rule: Rule, p: Packet): boolean {
  for (let i = 0; i < rule.length; i++) {
    const [opt, val] = [rule[i], rule[i + 1]]
    if (opt === '-j') return true
    i++ // every option here takes one value, but -m comment --comment TEXT and -m conntrack --ctstate S
    if (opt === '-s' && !addrMatches(val, p.src)) return false
    else if (opt === '-d' && !addrMatches(val, p.dst)) return false
    else if (opt === '-p' && val !== p.protocol) return false
    else if (opt === '--dport') {
      const [lo, hi] = val.split(':').map(Number)
      if (p.dport === undefined || p.dport < lo || p.dport > (hi ?? lo)) return false
    } else if (opt === '-m' && val === 'comment') i += 2
    else if (opt === '-m' && val === 'conntrack')
      return false // a new connection is not ESTABLISHED
    else if (!['-s', '-d', '-p', '--dport', '-m'].includes(opt)) throw new Error(`the simulator does not know ${opt}`)
  }
  return true
}

const target = (rule: Rule) => rule[rule.indexOf('-j') + 1]

/** NETLAB-POLICY of one node: 'accept' (on to the rest of FORWARD) or 'reject'. */
function walk(chains: Map<string, Rule[]>, chain: string, p: Packet, depth = 0): 'return' | 'reject' | 'accept' {
  if (depth > 4) throw new Error('chains nest deeper than the compiler writes them')
  for (const rule of chains.get(chain) ?? []) {
    if (!matches(rule, p)) continue
    const t = target(rule)
    if (t === 'RETURN') return 'return'
    if (t === 'REJECT' || t === 'DROP') return 'reject'
    if (t === 'ACCEPT') return 'accept'
    const inner = walk(chains, t, p, depth + 1)
    if (inner !== 'return') return inner
  }
  return 'return'
}

/** Is a pod-to-pod packet let through by the rules of the nodes it crosses (the sender's node, then the receiver's)? */
export function kernelAllows(model: LabModel, plan: Plan, srcPod: string, dstPod: string, p: Omit<Packet, 'src' | 'dst'>): boolean {
  const pods = model.nodes.flatMap((n) => n.pods)
  const src = pods.find((x) => x.name === srcPod)!
  const dst = pods.find((x) => x.name === dstPod)!
  const nodes = [...new Set([src.node, dst.node])]
  const packet = {...p, src: src.ip, dst: dst.ip}
  return nodes.every((n) => walk(chainsOf(plan, model.nodes.find((x) => x.name === n)!.netns), 'NETLAB-POLICY', packet) !== 'reject')
}
