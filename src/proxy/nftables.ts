// cluster.proxy: nftables — kube-proxy's nftables mode (pkg/proxy/nftables/proxier.go), one node's
// `table ip kube-proxy` written as kube-proxy's own transaction writes it: the same chains, maps,
// sets, rules and hashed names, so `nft list table ip kube-proxy` in a lab node reads like a real
// node's, and kube-proxy's test expectations (test/fixtures/kube-proxy/nftables-*) are checked
// against this generator line for line (test/unit/proxy-nftables.test.ts).
//
// What a lab has not: LoadBalancer IPs, externalIPs, loadBalancerSourceRanges (the firewall-…
// chains; the firewall-ips map and firewall-check chain are written, empty, as kube-proxy writes
// them), internalTrafficPolicy, health check node ports, IPv6, the apiserver's `kubernetes`
// Service, terminating endpoints (every pod is ready).
//
// The generator is pure (Services, node, cluster facts -> nft statements); build() turns them into
// plan actions: one per part of the table's frame and one per Service, each one `nft -f -` input,
// all of a node's run as one transaction (src/tools/nft.ts).
import type {NodeModel, PlanContext, ProxyModeModule, ServiceModel, ServicePortModel} from '../model/types.js'
import {kubeHash} from './hash.js'

const TABLE = 'ip kube-proxy'
/** --masquerade-bit 14, kube-proxy's default */
const MASQ_MARK = '0x4000'

/** What kube-proxy knows of its node and cluster besides the Services. */
export interface KubeProxyFacts {
  /** --cluster-cidr: what tells a pod's traffic from the rest (the lab's pod range, model.podCIDR) */
  clusterCIDR: string
  /** the ServiceCIDR: addresses in it that no Service holds are dropped */
  serviceCIDR: string
  /** this node's name: an endpoint on it is local */
  node: string
  /** the address NodePorts answer on (--nodeport-addresses primary: the node's own address) */
  nodeIP: string
}

const chainBase = (name: string): string => {
  const n = `${kubeHash(name, 8)}-${name}`
  // knftables.NameLengthMax (256) less the longest prefix (16)
  return n.length > 240 ? `${n.slice(0, 237)}...` : n
}

/** One part of the table: statements, with what they are and why kube-proxy writes them. */
export interface NftPart {
  title: string
  why: string
  lines: string[]
}

const add = (kind: string, rest: string) => `add ${kind} ${TABLE} ${rest}`
const rule = (chain: string, body: string) => add('rule', `${chain} ${body}`)
const comment = (text: string) => `comment "${text}"`

/** The frame of the table: setupNFTables in kube-proxy, the same on every node but for the node's address. */
export function frameParts(f: KubeProxyFacts): NftPart[] {
  const map = (name: string, key: string, what: string) => add('map', `${name} { type ${key} : verdict ; ${comment(what)} ; }`)
  const base = (name: string, type: string, hook: string, priority: number) =>
    add('chain', `${name} { type ${type} hook ${hook} priority ${priority} ; }`)
  return [
    {
      title: 'the table and its base chains',
      why:
        "kube-proxy's nftables mode keeps everything in one table of its own (ip kube-proxy), so it never touches another program's rules " +
        'and replaces its own in one transaction. Base chains hook into netfilter: nat-prerouting and nat-output at dstnat (-100) send ' +
        'new connections, from pods and from the node itself, to the services chain, where DNAT happens; nat-postrouting at srcnat (100) ' +
        'masquerades what was marked; filter chains at -110 (before DNAT: the firewall checks) and 0 (after: rejecting Services without ' +
        'endpoints and unknown ClusterIP ports) see only new connections (ct state new); conntrack translates the rest of each connection',
      lines: [
        `add table ${TABLE} { ${comment('rules for kube-proxy')} ; }`,
        base('filter-prerouting-pre-dnat', 'filter', 'prerouting', -110),
        base('filter-output-pre-dnat', 'filter', 'output', -110),
        base('filter-forward', 'filter', 'forward', 0),
        base('filter-input', 'filter', 'input', 0),
        base('filter-output', 'filter', 'output', 0),
        base('nat-output', 'nat', 'output', -100),
        base('nat-postrouting', 'nat', 'postrouting', 100),
        base('nat-prerouting', 'nat', 'prerouting', -100),
      ],
    },
    {
      title: 'masquerading: mark-for-masquerade and masquerading',
      why:
        'A connection that must come back through this node (from outside the cluster CIDR to a ClusterIP, to a NodePort with ' +
        `externalTrafficPolicy Cluster, a pod reaching itself through its Service) is marked (mark-for-masquerade sets bit ${MASQ_MARK}); ` +
        'after routing, masquerading clears the bit and rewrites the source to the outgoing interface address (fully-random ports), ' +
        'so the endpoint answers to the node and conntrack can undo the DNAT on the way back',
      lines: [
        add('chain', 'mark-for-masquerade'),
        add('chain', 'masquerading'),
        rule('mark-for-masquerade', `mark set mark or ${MASQ_MARK}`),
        rule('masquerading', `mark and ${MASQ_MARK} == 0 return`),
        rule('masquerading', `mark set mark xor ${MASQ_MARK}`),
        rule('masquerading', 'masquerade fully-random'),
        rule('nat-postrouting', 'jump masquerading'),
      ],
    },
    {
      title: 'service dispatch: the services chain, service-ips and service-nodeports',
      why:
        'One lookup per packet, however many Services: the services chain matches (destination . protocol . port) in the verdict map ' +
        "service-ips (one element per ClusterIP port) and jumps to that Service port's chain; a packet to one of this node's addresses " +
        `(the nodeport-ips set: ${f.nodeIP}) is looked up by (protocol . port) in service-nodeports. This is why kube-proxy wrote the nftables ` +
        'mode: iptables walks KUBE-SERVICES rule by rule, one per Service port; here the cost does not grow with the Services',
      lines: [
        add('set', `nodeport-ips { type ipv4_addr ; ${comment('IPs that accept NodePort traffic')} ; }`),
        map('service-ips', 'ipv4_addr . inet_proto . inet_service', 'ClusterIP, ExternalIP and LoadBalancer IP traffic'),
        map('service-nodeports', 'inet_proto . inet_service', 'NodePort traffic'),
        add('chain', 'services'),
        rule('nat-output', 'jump services'),
        rule('nat-prerouting', 'jump services'),
        rule('services', 'ip daddr . meta l4proto . th dport vmap @service-ips'),
        rule('services', 'ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports'),
        add('element', `nodeport-ips { ${f.nodeIP} }`),
      ],
    },
    {
      title: 'refusing Services without endpoints: no-endpoint-services, no-endpoint-nodeports, reject-chain',
      why:
        'A Service port with no endpoint is not in service-ips, so nothing translates it; kube-proxy puts it in no-endpoint-services (a NodePort in no-endpoint-nodeports) with the verdict goto reject-chain, ' +
        'checked in the filter chains on new connections: the client gets a TCP reset or ICMP port unreachable at once (ECONNREFUSED), ' +
        'not a timeout. A NodePort with externalTrafficPolicy Local on a node without a local endpoint is dropped there instead',
      lines: [
        map('no-endpoint-nodeports', 'inet_proto . inet_service', 'vmap to drop or reject packets to service nodeports with no endpoints'),
        map(
          'no-endpoint-services',
          'ipv4_addr . inet_proto . inet_service',
          'vmap to drop or reject packets to services with no endpoints',
        ),
        add('chain', `reject-chain { ${comment('helper for @no-endpoint-services / @no-endpoint-nodeports')} ; }`),
        add('chain', 'service-endpoints-check'),
        add('chain', 'nodeport-endpoints-check'),
        rule('reject-chain', 'reject'),
        rule('filter-forward', 'ct state new jump service-endpoints-check'),
        rule('filter-input', 'ct state new jump nodeport-endpoints-check'),
        rule('filter-input', 'ct state new jump service-endpoints-check'),
        rule('filter-output', 'ct state new jump service-endpoints-check'),
        rule('nodeport-endpoints-check', 'ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports'),
        rule('service-endpoints-check', 'ip daddr . meta l4proto . th dport vmap @no-endpoint-services'),
      ],
    },
    {
      title: 'ClusterIPs: cluster-ips and cluster-ips-check',
      why:
        'The cluster-ips set holds every ClusterIP. After DNAT (filter-forward, filter-output at priority 0) a new connection still ' +
        `addressed to a ClusterIP was not translated: a port the Service does not have, rejected; an address of the service range ` +
        `${f.serviceCIDR} that no Service holds, dropped`,
      lines: [
        add('set', `cluster-ips { type ipv4_addr ; ${comment('Active ClusterIPs')} ; }`),
        add('chain', 'cluster-ips-check'),
        rule('cluster-ips-check', `ip daddr @cluster-ips reject ${comment('Reject traffic to invalid ports of ClusterIPs')}`),
        rule('cluster-ips-check', `ip daddr { ${f.serviceCIDR} } drop ${comment('Drop traffic to unallocated ClusterIPs')}`),
        rule('filter-forward', 'ct state new jump cluster-ips-check'),
        rule('filter-output', 'ct state new jump cluster-ips-check'),
      ],
    },
    {
      title: 'loadBalancerSourceRanges: firewall-ips and firewall-check (empty in a lab)',
      why:
        "kube-proxy checks LoadBalancer IPs against their Service's loadBalancerSourceRanges before DNAT (priority -110). A lab has no " +
        'load balancers, so the map stays empty; it is written because every kube-proxy writes it',
      lines: [
        map('firewall-ips', 'ipv4_addr . inet_proto . inet_service', 'destinations that are subject to LoadBalancerSourceRanges'),
        add('chain', 'firewall-check'),
        rule('filter-prerouting-pre-dnat', 'ct state new jump firewall-check'),
        rule('filter-output-pre-dnat', 'ct state new jump firewall-check'),
        rule('firewall-check', 'ip daddr . meta l4proto . th dport vmap @firewall-ips'),
      ],
    },
  ]
}

/** kube-proxy's ServicePortName.String(): ns/name, and :port when the port has a name. */
const portName = (s: ServiceModel, p: ServicePortModel) => `${s.namespace}/${s.name}${p.name ? `:${p.name}` : ''}`

interface PortChains {
  cluster: string
  local: string
  external: string
  /** each endpoint's chain and affinity set, in kube-proxy's order (by address) */
  endpoints: {ep: ServicePortModel['endpoints'][number]; chain: string; affinity: string}[]
}

/** The names kube-proxy gives one Service port's chains (newServiceInfo, newEndpointInfo). */
export function portChains(s: ServiceModel, p: ServicePortModel): PortChains {
  const proto = p.protocol.toLowerCase()
  const name = `${s.namespace}/${s.name}/${proto}/${p.name ?? ''}`
  const base = chainBase(name)
  // kube-proxy orders a Service port's endpoints by their "ip:port" strings
  const key = (e: {ip: string; port: number}) => `${e.ip}:${e.port}`
  const eps = [...p.endpoints].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
  return {
    cluster: `service-${base}`,
    local: `local-${base}`,
    external: `external-${base}`,
    endpoints: eps.map((ep) => {
      const e = chainBase(`${name}__${ep.ip}/${ep.port}`)
      return {ep, chain: `endpoint-${e}`, affinity: `affinity-${e}`}
    }),
  }
}

/** The statements of one Service port on one node: syncProxyRules' loop body, for what a lab has. */
function servicePortLines(s: ServiceModel, p: ServicePortModel, f: KubeProxyFacts): string[] {
  const proto = p.protocol.toLowerCase()
  const c = portChains(s, p)
  const all = c.endpoints
  const local = all.filter((e) => e.ep.node === f.node)
  const hasEndpoints = all.length > 0
  const external = p.nodePort !== undefined
  const etpLocal = external && s.externalTrafficPolicy === 'Local'
  const usesLocal = etpLocal && local.length > 0
  const hasExternalEndpoints = hasEndpoints && (!etpLocal || local.length > 0)
  const affinity = s.sessionAffinity === 'ClientIP'
  const chains: string[] = []
  const sets: string[] = []
  const rules: string[] = []
  const elements: string[] = []
  const key = `${s.clusterIP} . ${proto} . ${p.port}`
  const nodePortKey = `${proto} . ${p.nodePort}`
  const said = comment(portName(s, p))
  elements.push(add('element', `cluster-ips { ${s.clusterIP} }`))
  if (!hasEndpoints) {
    elements.push(add('element', `no-endpoint-services { ${key} ${said} : goto reject-chain }`))
    if (external) elements.push(add('element', `no-endpoint-nodeports { ${nodePortKey} ${said} : goto reject-chain }`))
    return elements
  }
  chains.push(...all.map((e) => add('chain', e.chain)), add('chain', c.cluster))
  if (usesLocal) chains.push(add('chain', c.local))
  if (external) chains.push(add('chain', c.external))
  if (affinity)
    sets.push(...all.map((e) => add('set', `${e.affinity} { type ipv4_addr ; flags dynamic,timeout ; timeout ${s.affinityTimeout}s ; }`)))
  elements.push(add('element', `service-ips { ${key} : goto ${c.cluster} }`))
  if (external) {
    elements.push(add('element', `service-nodeports { ${nodePortKey} : goto ${c.external} }`))
    if (!hasExternalEndpoints) elements.push(add('element', `no-endpoint-nodeports { ${nodePortKey} ${said} : drop }`))
  }
  rules.push(rule(c.cluster, `ip daddr ${s.clusterIP} ip saddr != ${f.clusterCIDR} jump mark-for-masquerade`))
  if (external && !etpLocal) rules.push(rule(c.external, 'jump mark-for-masquerade'))
  if (etpLocal)
    rules.push(
      rule(c.external, `ip saddr ${f.clusterCIDR} goto ${c.cluster} ${comment('short-circuit pod traffic')}`),
      rule(c.external, `fib saddr type local jump mark-for-masquerade ${comment('masquerade local traffic')}`),
      rule(c.external, `fib saddr type local goto ${c.cluster} ${comment('short-circuit local traffic')}`),
    )
  if (external && hasExternalEndpoints) rules.push(rule(c.external, `goto ${usesLocal ? c.local : c.cluster}`))
  rules.push(...toEndpoints(c.cluster, all, affinity))
  if (usesLocal) rules.push(...toEndpoints(c.local, local, affinity))
  for (const e of all) {
    rules.push(rule(e.chain, `ip saddr ${e.ep.ip} jump mark-for-masquerade`))
    if (affinity) rules.push(rule(e.chain, `update @${e.affinity} { ip saddr }`))
    rules.push(rule(e.chain, `meta l4proto ${proto} dnat to ${e.ep.ip}:${e.ep.port}`))
  }
  // declarations before what names them: nft checks each statement against the transaction so far
  return [...chains, ...sets, ...rules, ...elements]
}

/** writeServiceToEndpointRules: affinity first (a client seen before goes back to its endpoint), then one random pick. */
function toEndpoints(chain: string, eps: PortChains['endpoints'], affinity: boolean): string[] {
  const sticky = affinity ? eps.map((e) => rule(chain, `ip saddr @${e.affinity} goto ${e.chain}`)) : []
  const choices = eps.map((e, i) => `${i} : goto ${e.chain}`).join(' , ')
  return [...sticky, rule(chain, `numgen random mod ${eps.length} vmap { ${choices} }`)]
}

/** One Service on one node: every port's statements. */
function serviceLines(s: ServiceModel, f: KubeProxyFacts): string[] {
  return s.ports.flatMap((p) => servicePortLines(s, p, f))
}

/** The whole table of one node, in the order it is written. */
export function nftTable(services: readonly ServiceModel[], f: KubeProxyFacts): string[] {
  return [...frameParts(f).flatMap((p) => p.lines), ...services.flatMap((s) => serviceLines(s, f))]
}

/** What one Service's statements do on this node, in the plan's words. */
function serviceWhy(s: ServiceModel, f: KubeProxyFacts): string {
  const parts = s.ports.map((p) => {
    const c = portChains(s, p)
    const n = c.endpoints.length
    const at = `${s.clusterIP}:${p.port}/${p.protocol}`
    if (n === 0)
      return `${at} has no endpoints: in no-endpoint-services${p.nodePort ? ` (and no-endpoint-nodeports, port ${p.nodePort})` : ''}, rejected at once`
    const local = c.endpoints.filter((e) => e.ep.node === f.node).length
    const np =
      p.nodePort === undefined
        ? ''
        : ` NodePort ${p.nodePort} goes to ${c.external}: ` +
          (s.externalTrafficPolicy === 'Local'
            ? `externalTrafficPolicy Local keeps the client's address and uses only this node's endpoints (${local}; ` +
              `${local ? 'via local-…' : 'none here: dropped'}), but pods and the node itself go to the Service chain;`
            : 'marked for masquerade (the endpoint may be on another node and must answer through this one), then the Service chain;')
    return (
      `${at} -> ${c.cluster}: a client from outside the cluster CIDR ${f.clusterCIDR} is marked for masquerade, then numgen random ` +
      `mod ${n} picks one of ${n} endpoint chains (each 1/${n})` +
      (s.sessionAffinity === 'ClientIP'
        ? `, unless the client's address is in an endpoint's affinity set (ClientIP affinity: it was sent there within ${s.affinityTimeout}s)`
        : '') +
      `;${np} each endpoint chain marks a pod reaching itself (hairpin) for masquerade` +
      (s.sessionAffinity === 'ClientIP' ? ', records the client in its affinity set' : '') +
      ' and DNATs to the pod'
    )
  })
  return `Service ${s.namespace}/${s.name}: ${parts.join('; ')}`
}

function kubeProxyFacts(ctx: PlanContext, node: NodeModel): KubeProxyFacts {
  return {clusterCIDR: ctx.model.podCIDR, serviceCIDR: ctx.model.services!.serviceCIDR, node: node.name, nodeIP: node.ip}
}

/** The nft input of a list of statements. */
const input = (lines: string[]) => `${lines.join('\n')}\n`

/** Does this Service's table depend on the node? Only externalTrafficPolicy Local does (which endpoints are local). */
const perNode = (s: ServiceModel) => s.externalTrafficPolicy === 'Local' && s.ports.some((p) => p.nodePort !== undefined)

/**
 * A Service's input and why, made once for every node when they are the same on each (all but
 * externalTrafficPolicy Local): at 50 nodes and 200 Services, 10,000 actions share 200 texts.
 */
const shared = new WeakMap<ServiceModel, {cluster: string; text: string; why: string}>()
function serviceAction(s: ServiceModel, f: KubeProxyFacts): {text: string; why: string} {
  const cluster = `${f.clusterCIDR} ${f.serviceCIDR}`
  const hit = shared.get(s)
  if (hit && hit.cluster === cluster) return hit
  const made = {cluster, text: input(serviceLines(s, f)), why: serviceWhy(s, f)}
  if (!perNode(s)) shared.set(s, made)
  return made
}

export const nftablesProxy: ProxyModeModule = {
  id: 'nftables',
  summary: "kube-proxy's nftables mode: one table, Services found in a map, endpoints picked by numgen",
  build(ctx, node) {
    const f = kubeProxyFacts(ctx, node)
    for (const part of frameParts(f)) ctx.b.inNetns(node.netns, 'nft', ['-f', '-'], `${part.title}: ${part.why}`, input(part.lines))
    for (const s of ctx.model.services!.list) {
      const a = serviceAction(s, f)
      ctx.b.inNetns(node.netns, 'nft', ['-f', '-'], a.why, a.text)
    }
  },
}
