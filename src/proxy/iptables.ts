// cluster.proxy: iptables — kube-proxy's iptables mode. The rules are kube-proxy's own, word for
// word (./iptables-rules.ts, checked against kube-proxy's tests); this module says how they go
// into a node: as kube-proxy writes them, with iptables-restore --noflush, in three kinds of
// action so the plan reads as a walk through kube-proxy's chains and stays small at scale:
// the node's base chains, one action per Service (its chains and rules), and the rule that must
// come last. The iptables-restore driver runs a node's consecutive inputs as one program.
import type {NodeModel, PlanContext, ProxyModeModule, ServiceEndpoint, ServiceModel, ServicesModel} from '../model/types.js'
import {plural} from '../core/plural.js'
import {
  BASE_CHAINS,
  baseRules,
  JUMPS,
  portRules,
  serviceChain,
  tailRules,
  type KpConfig,
  type KpPortRules,
  type KpServicePort,
} from './iptables-rules.js'

/** kube-proxy as a lab runs it on a node: --cluster-cidr the pod range, no localhost NodePorts, no metrics. */
function labConfig(ctx: PlanContext, n: NodeModel): KpConfig {
  return {
    nodeName: n.name,
    nodeIP: n.ip,
    clusterCIDR: ctx.model.podCIDR,
    masqueradeAll: false,
    // kube-proxy's own spelling of bit 14 (%#08x); iptables-save shows it as 0x4000
    masqueradeMark: '0x00004000',
    localhostNodePorts: false,
    randomFully: true,
    nfacct: false,
  }
}

/** A lab Service's ports as kube-proxy's ServicePorts (the Service's namespace, its endpoints by node). */
function kubeProxyPorts(s: ServiceModel): KpServicePort[] {
  return s.ports.map((p) => ({
    namespace: s.namespace,
    name: s.name,
    ...(p.name ? {portName: p.name} : {}),
    protocol: p.protocol,
    clusterIP: s.clusterIP,
    port: p.port,
    ...(p.nodePort ? {nodePort: p.nodePort} : {}),
    externalTrafficPolicy: s.externalTrafficPolicy,
    ...(s.sessionAffinity === 'ClientIP' ? {affinityTimeout: s.affinityTimeout ?? 10800} : {}),
    endpoints: p.endpoints.map((e) => ({ip: e.ip, port: e.port, node: e.node})),
  }))
}

/** iptables-restore input: one section per table that has lines, each ending in COMMIT. */
function restoreText(sections: {table: string; lines: string[]}[]): string {
  return sections
    .filter((s) => s.lines.length > 0)
    .map((s) => [`*${s.table}`, ...s.lines, 'COMMIT', ''].join('\n'))
    .join('')
}

const chainLine = (c: string) => `:${c} - [0:0]`

/** The base chains: declared (created empty), the fixed rules, and the jumps into them from the built-in chains. */
function baseInput(cfg: KpConfig): string {
  const base = baseRules(cfg)
  const jumps = (table: string) => JUMPS.filter((j) => j.table === table).map((j) => `-I ${j.chain} ${j.rule}`)
  return restoreText([
    {table: 'filter', lines: [...base.filterChains.map(chainLine), ...base.filter, ...jumps('filter')]},
    {table: 'nat', lines: [...BASE_CHAINS.nat.map(chainLine), ...base.nat, ...jumps('nat')]},
  ])
}

function serviceInput(rules: KpPortRules[]): string {
  return restoreText([
    {table: 'filter', lines: rules.flatMap((r) => r.filter)},
    {table: 'nat', lines: [...rules.flatMap((r) => r.natChains.map(chainLine)), ...rules.flatMap((r) => r.nat)]},
  ])
}

const BASE_WHY =
  "kube-proxy's fixed chains, as it writes them on every node. nat KUBE-SERVICES is where every Service is looked up: PREROUTING (packets arriving: from pods, other nodes, outside) and OUTPUT (the node's own connections) jump there first. " +
  "KUBE-MARK-MASQ only marks a packet (bit 0x4000) that must leave with the node's address; KUBE-POSTROUTING, on the way out, masquerades marked packets (MASQUERADE --random-fully: source ports picked at random, so two nodes' connections to one endpoint never clash) and clears the mark. " +
  'In filter, KUBE-SERVICES and KUBE-EXTERNAL-SERVICES refuse what has no endpoint, and KUBE-FORWARD lets marked and established Service traffic through a FORWARD policy of DROP (it drops conntrack INVALID packets first); KUBE-PROXY-FIREWALL, where kube-proxy enforces the loadBalancerSourceRanges of a load balancer, stays empty: a lab has no load balancer. ' +
  'Each jump is inserted at the top of its built-in chain (-I), as kube-proxy does, so Services are looked up before any rule netlab or a policy adds.'

/** What one Service's action does, in a sentence per port: where the ClusterIP (and NodePort) lead. */
function serviceWhy(s: ServiceModel, ports: KpServicePort[], rules: KpPortRules[], node: NodeModel, podCIDR: string): string {
  const parts = ports.map((p) => {
    const at = `${s.clusterIP}:${p.port}/${p.protocol}`
    const n = p.endpoints.length
    if (n === 0)
      return `${at} has no endpoints: filter KUBE-SERVICES rejects it (REJECT: the client gets "connection refused" at once, not a timeout)`
    const local = p.endpoints.filter((e) => e.node === node.name).length
    const svc = serviceChain('SVC', p)
    const pick =
      n === 1
        ? `${svc} sends it to the one endpoint's KUBE-SEP chain`
        : n === 2
          ? `${svc} picks one of 2 endpoints at random (the first rule matches with probability 1/2, the second takes the rest: each gets half)`
          : `${svc} picks one of ${n} endpoints at random (the first rule matches with probability 1/${n}, the next 1/${n - 1} of what is left, …, the last always: each endpoint gets 1/${n})`
    const affinity =
      p.affinityTimeout !== undefined
        ? `; ClientIP affinity: -m recent remembers each client in a list per endpoint (--set in KUBE-SEP) and sends it back to the same endpoint for ${p.affinityTimeout} s (--rcheck, checked first)`
        : ''
    const nodePort = p.nodePort
      ? p.externalTrafficPolicy === 'Local'
        ? `; NodePort ${p.nodePort} (KUBE-NODEPORTS → ${serviceChain('EXT', p)}): externalTrafficPolicy Local keeps the client's address and uses only this node's endpoints (KUBE-SVL, ${local === 0 ? 'none here: the node drops outside clients in filter KUBE-EXTERNAL-SERVICES' : plural(local, 'here')}); pods and the node itself are sent to the whole Service`
        : `; NodePort ${p.nodePort} (KUBE-NODEPORTS → ${serviceChain('EXT', p)}): marked for masquerade, since the endpoint may be on another node and its reply must come back through this node, whose conntrack undoes the translation`
      : ''
    return `${at}: ${pick}; each KUBE-SEP DNATs to its pod's address and port, and marks hairpin traffic (the endpoint reaching itself) for masquerade; clients outside the pod range are masqueraded too (! -s ${podCIDR})${affinity}${nodePort}`
  })
  const size = rules.reduce((k, r) => k + r.nat.length + r.filter.length, 0)
  return `Service ${s.name} (${plural(size, 'rule')}): ${parts.join('. ')}.`
}

/** Each lab's Services' inputs made so far, by Service and the endpoints local to the node (nodes share them: one string each). */
const made = new WeakMap<ServicesModel, Map<string, {why: string; input: string}>>()
function memo(services: ServicesModel): Map<string, {why: string; input: string}> {
  let m = made.get(services)
  if (!m) made.set(services, (m = new Map()))
  return m
}

export const iptablesProxy: ProxyModeModule = {
  id: 'iptables',
  summary: "kube-proxy's iptables mode: a chain per Service and per endpoint, picked at random by probability",
  build(ctx, node) {
    const {b, model} = ctx
    const cfg = labConfig(ctx, node)
    b.inNetns(node.netns, 'iptables-restore', ['--noflush'], BASE_WHY, baseInput(cfg))
    const known = memo(model.services!)
    for (const s of model.services!.list) {
      // a Service's rules differ from node to node only by which endpoints are the node's own
      const own = (e: ServiceEndpoint) => e.node === node.name
      const key = `${s.name}\t${s.ports.flatMap((p) => p.endpoints.filter(own).map((e) => `${e.ip}:${e.port}`)).join(' ')}`
      let made = known.get(key)
      if (!made) {
        const ports = kubeProxyPorts(s)
        const rules = ports.map((p) => portRules(p, cfg))
        known.set(key, (made = {why: serviceWhy(s, ports, rules, node, model.podCIDR), input: serviceInput(rules)}))
      }
      b.inNetns(node.netns, 'iptables-restore', ['--noflush'], made.why, made.input)
    }
    b.inNetns(
      node.netns,
      'iptables-restore',
      ['--noflush'],
      "The last rule of nat KUBE-SERVICES: a packet no ClusterIP rule took that is addressed to the node itself (addrtype LOCAL, not 127.0.0.0/8) may be for a NodePort: look it up in KUBE-NODEPORTS. Last, so a ClusterIP always wins; kube-proxy's comment says so.",
      restoreText([{table: 'nat', lines: tailRules(cfg)}]),
    )
  },
}
