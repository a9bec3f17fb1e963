// The policies phase: each node enforces the policies of its own pods with iptables, in its own
// namespace. One chain per isolated pod and direction (NETLAB-IN-<pod>, NETLAB-OUT-<pod>), whose
// rules RETURN what a policy allows and REJECT the rest; a dispatcher chain, NETLAB-POLICY, first
// in FORWARD, accepts replies of allowed connections and sends each packet through the chains of
// its sender (egress) and its receiver (ingress), so a packet must pass both. An ipBlock's
// except is cut out of its block (the rules name what is left); a named port is resolved per
// destination pod, and a range is one --dport P:E. Pure.
import {createHash} from 'node:crypto'
import type {LabModel, NodeModel, PodModel, PolicyModel, PolicyPort, PolicyRule, PlanContext} from '../model/types.js'
import {isolating} from '../model/verdict.js'
import {bridgePolicyWiring} from '../modes/bridge.js'
import {parseCidr, parseIPv4, subtractCidrs, type Cidr} from '../core/ipv4.js'
import {policyLabel} from '../topology/policies.js'

export const POLICY_CHAIN = 'NETLAB-POLICY'
/** iptables' limit on a chain name */
const CHAIN_MAX = 28
/** how a denied packet is answered: at once, and recognisably a firewall's doing */
const REJECT = ['-j', 'REJECT', '--reject-with', 'icmp-admin-prohibited']
/** the kernel's default icmp_ratemask (0x1818) without destination unreachable (bit 3) */
const ICMP_RATEMASK = 0x1818 & ~(1 << 3)

type Direction = 'ingress' | 'egress'

/**
 * NETLAB-IN-web-0 / NETLAB-OUT-web-0, NETLAB-IN-x.a for pod a of namespace x (no "/" in a chain
 * name); a long pod name is cut and hashed (a "." keeps it apart from any pod name of default).
 */
export function podChain(direction: Direction, pod: string): string {
  const prefix = direction === 'ingress' ? 'NETLAB-IN-' : 'NETLAB-OUT-'
  const room = CHAIN_MAX - 'NETLAB-OUT-'.length
  const dotted = pod.replace('/', '.')
  if (pod.length <= room) return prefix + dotted
  return `${prefix}${dotted.slice(0, room - 9)}.${createHash('sha1').update(pod).digest('hex').slice(0, 8)}`
}

/** A port as a rule matches it: a protocol, and a port or range (a named port resolved to its number). */
interface RulePort {
  protocol: PolicyPort['protocol']
  port?: number
  endPort?: number
}

function portArgs(p: RulePort | undefined): string[] {
  if (!p) return []
  if (p.protocol === 'ICMP') return ['-p', 'icmp']
  const proto = p.protocol.toLowerCase()
  if (p.port === undefined) return ['-p', proto]
  return ['-p', proto, '--dport', p.endPort === undefined ? String(p.port) : `${p.port}:${p.endPort}`]
}

function portText(p: RulePort | undefined, named?: string): string {
  if (!p) return 'on any port'
  if (p.protocol === 'ICMP') return 'with ICMP (ping)'
  if (p.port === undefined) return `on any ${p.protocol} port`
  const range = p.endPort === undefined ? String(p.port) : `${p.port}-${p.endPort}`
  return `on ${p.protocol.toLowerCase()}/${range}${named ? ` (its port "${named}")` : ''}`
}

/** The pod's port of that name and protocol, as a named port resolves on a destination pod (Kubernetes). */
function servedPort(pod: PodModel, port: PolicyPort): number | undefined {
  return pod.ports?.find((pp) => pp.name === port.name && pp.protocol === port.protocol)?.port
}

/** One RETURN rule: the far end's address (none: anyone), the port, and its words. */
interface Allowance {
  addr?: string
  port?: RulePort
  text: string
  named?: string
}

/** A peer of a rule: the addresses it stands for, and (for named ports of egress rules) the pods among them. */
interface PeerTarget {
  addrs: (string | undefined)[]
  text: string
  /** the lab's pods this peer covers */
  pods: (all: PodModel[]) => PodModel[]
}

function peerTargets(model: LabModel, rule: PolicyRule): PeerTarget[] {
  if (!rule.peers) return [{addrs: [undefined], text: 'anyone', pods: (all) => all}]
  const podsByName = new Map(model.nodes.flatMap((n) => n.pods).map((p) => [p.name, p]))
  return rule.peers.flatMap((peer): PeerTarget[] => {
    if (peer.kind === 'pods')
      return peer.pods.map((name) => ({addrs: [podsByName.get(name)!.ip], text: `pod ${name}`, pods: () => [podsByName.get(name)!]}))
    const cidr = parseCidr(peer.cidr) as Cidr
    const holes = (peer.except ?? []).map((e) => parseCidr(e) as Cidr)
    // an except is cut out of the block: the rules name what is left, a block each
    const blocks = subtractCidrs(cidr, holes)
    const inBlock = (ip: string) => blocks.some((b) => b.contains(parseIPv4(ip)!))
    return [
      {
        addrs: blocks.map(String),
        text: `addresses in ${peer.cidr}${holes.length > 0 ? ` except ${peer.except!.join(', ')}` : ''}`,
        pods: (all) => all.filter((p) => inBlock(p.ip)),
      },
    ]
  })
}

/**
 * What one rule lets through to or from `pod`, as RETURN rules. A named port resolves on the
 * destination pod: the isolated pod itself for ingress; for egress each pod the peer covers that
 * has the port (a peer that is no pod, or a pod without it: nothing), as Kubernetes resolves it.
 */
function allowances(model: LabModel, pod: PodModel, direction: Direction, rule: PolicyRule): Allowance[] {
  const everyPod = model.nodes.flatMap((n) => n.pods)
  return peerTargets(model, rule).flatMap((peer) =>
    (rule.ports ?? [undefined]).flatMap((port): Allowance[] => {
      // netlab carries no SCTP (this kernel has none): such a port allows nothing, and the pod stays isolated
      if (port?.protocol === 'SCTP') return []
      if (port?.name === undefined) return peer.addrs.map((addr) => ({addr, port, text: peer.text}))
      if (direction === 'ingress') {
        const served = servedPort(pod, port)
        return served === undefined
          ? []
          : peer.addrs.map((addr) => ({addr, port: {protocol: port.protocol, port: served}, text: peer.text, named: port.name}))
      }
      return peer.pods(everyPod).flatMap((dst) => {
        const served = servedPort(dst, port)
        return served === undefined
          ? []
          : [{addr: dst.ip, port: {protocol: port.protocol, port: served}, text: `pod ${dst.name}`, named: port.name}]
      })
    }),
  )
}

function podRules({model, b}: PlanContext, n: NodeModel, pod: PodModel, direction: Direction, by: PolicyModel[]): void {
  const chain = podChain(direction, pod.name)
  const [match, toward] = direction === 'ingress' ? ['-s', 'to'] : ['-d', 'from']
  const names = by.map((p) => policyLabel(p.name, p.namespace)).join(', ')
  b.inNetns(
    n.netns,
    'iptables',
    ['-N', chain],
    `${pod.name}'s ${direction} chain: it is isolated for ${direction} by ${names}, so only ` +
      `what ${by.length === 1 ? 'its rules allow' : 'their rules allow, together,'} passes`,
  )
  for (const policy of by) {
    const label = policyLabel(policy.name, policy.namespace)
    policy[direction].forEach((rule, k) => {
      const comment = ['-m', 'comment', '--comment', `${label} ${direction} rule ${k + 1}`]
      for (const a of allowances(model, pod, direction, rule)) {
        const who = direction === 'ingress' ? `${a.text} may reach ${pod.name}` : `${pod.name} may reach ${a.text}`
        b.inNetns(
          n.netns,
          'iptables',
          ['-A', chain, ...(a.addr ? [match, a.addr] : []), ...portArgs(a.port), ...comment, '-j', 'RETURN'],
          `policy ${label}, ${direction} rule ${k + 1}: ${who} ${portText(a.port, a.named)} (RETURN: on ` + `to the next check)`,
        )
      }
    })
  }
  b.inNetns(
    n.netns,
    'iptables',
    ['-A', chain, '-m', 'comment', '--comment', `isolated by ${names}`, ...REJECT],
    `anything else ${toward} ${pod.name} is denied (${names}); REJECT answers at once with ` +
      `ICMP "administratively prohibited", so a denied connection fails fast instead of waiting ` +
      `out a timeout`,
  )
  b.inNetns(
    n.netns,
    'iptables',
    ['-A', POLICY_CHAIN, direction === 'ingress' ? '-d' : '-s', pod.ip, '-j', chain],
    `packets ${direction === 'ingress' ? 'to' : 'from'} ${pod.name} (${pod.ip}) go through its ` + `${direction} chain`,
  )
}

/** A lab with Services routes its bridged pods already (see the services phase): bridgePolicyWiring adds nothing there. */
const ROUTED_FOR_SERVICES =
  "This lab's pods are routed by their node already (see the services phase): every packet between two pods of one node goes " +
  'pod → cni0 → routed → cni0 → pod and crosses FORWARD exactly once, with or without br_netfilter. Their ports of cni0 are not ' +
  "isolated: isolated ports would stop what br_netfilter does with kube-proxy's DNAT to a pod of the same bridge."

const PHASE_WHY = (model: LabModel, wiring: {why: string}) =>
  `Each node enforces the policies of its own pods, in its own namespace, like kube-router ` +
  `or Calico. A pod selected by a policy is isolated in that policy's directions ` +
  `(policyTypes; by default Ingress, and Egress when it has egress rules) and allows the ` +
  `union of its policies' rules; pods no policy selects stay open. A chain per isolated pod ` +
  `and direction RETURNs what a rule allows and REJECTs the rest; NETLAB-POLICY, first in ` +
  `FORWARD, accepts the replies of allowed connections (conntrack: the rules are stateful) ` +
  `and sends every other packet through its sender's egress chain and its receiver's ingress ` +
  `chain, so it must pass both. ` +
  `Traffic between a pod and its own node is not forwarded and never filtered (Kubernetes: a ` +
  `pod cannot block its node). ` +
  (model.services && wiring === bridgePolicyWiring ? ROUTED_FOR_SERVICES : wiring.why) +
  (model.policies!.length === 0 ? ' This lab has no policies yet (netlab policy apply adds them): every pod is open.' : '')

export function policyPhase(ctx: PlanContext): void {
  const {model, b} = ctx
  if (!model.policies) return
  const nodes = model.nodes.filter((n) => n.pods.length > 0)
  if (nodes.length === 0) return
  const wiring = model.mode.policyWiring ?? bridgePolicyWiring
  b.phase({id: 'policies', title: 'Enforce the network policies', why: PHASE_WHY(model, wiring), scope: 'netns'})
  for (const n of nodes) {
    wiring.build?.(ctx, n)
    b.inNetns(
      n.netns,
      'sysctl',
      [`net.ipv4.icmp_ratemask=${ICMP_RATEMASK}`],
      `${n.name} answers every denied packet: the kernel rate-limits the ICMP errors of the ` +
        `types in icmp_ratemask (6168: destination unreachable, source quench, time exceeded, ` +
        `parameter problem) to about one a second per address and 50 at once, and a denied ` +
        `connection past that would wait out its timeout; ${ICMP_RATEMASK} takes destination ` +
        `unreachable, what REJECT sends, off the list`,
    )
    b.inNetns(n.netns, 'iptables', ['-N', POLICY_CHAIN], `${n.name}'s policy chain: every packet it forwards meets the policies here first`)
    b.inNetns(n.netns, 'iptables', ['-I', 'FORWARD', '1', '-j', POLICY_CHAIN], 'first in FORWARD, before the pod-range accepts')
    b.inNetns(
      n.netns,
      'iptables',
      ['-A', POLICY_CHAIN, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
      'replies to connections a policy allowed, and their ICMP errors, pass: the rules are stateful',
    )
    for (const direction of ['egress', 'ingress'] as const) {
      for (const pod of n.pods) {
        const by = isolating(model.policies, pod.name, direction)
        if (by.length > 0) podRules(ctx, n, pod, direction, by)
      }
    }
  }
}
