// kube-proxy's iptables proxier (pkg/proxy/iptables/proxier.go, syncProxyRules), as a pure
// function: a node's Service ports and their endpoints -> the lines kube-proxy gives
// iptables-restore. Word for word as kube-proxy writes them (match order, quoting, hashed chain
// names, 10-decimal probabilities), so its own test expectations (proxier_test.go) are this
// module's test vectors (test/fixtures/kube-proxy). The lab's proxy mode (./iptables.ts) turns
// the pieces into plan actions; nothing here knows about plans.
import {createHash} from 'node:crypto'
import {parseCidr, parseIPv4} from '../core/ipv4.js'

/** One endpoint of a Service port, as kube-proxy reads it from an EndpointSlice. */
export interface KpEndpoint {
  ip: string
  port: number
  /** its node (EndpointSlice nodeName): local when it is this node's; none: remote */
  node?: string
  /** conditions; absent: true, as the EndpointSlice API reads missing ones (terminating: false) */
  ready?: boolean
  serving?: boolean
  terminating?: boolean
}

/** One port of one Service (kube-proxy's ServicePort). */
export interface KpServicePort {
  namespace: string
  name: string
  /** the port's name; none: the Service's only, unnamed port */
  portName?: string
  protocol: 'TCP' | 'UDP' | 'SCTP'
  clusterIP: string
  port: number
  nodePort?: number
  externalTrafficPolicy?: 'Cluster' | 'Local'
  internalTrafficPolicy?: 'Cluster' | 'Local'
  /** sessionAffinity ClientIP: its timeout in seconds; none: affinity None */
  affinityTimeout?: number
  /** what a lab has not (no API server, no cloud) but kube-proxy's tests use: */
  externalIPs?: string[]
  loadBalancerIPs?: string[]
  loadBalancerSourceRanges?: string[]
  healthCheckNodePort?: number
  endpoints: KpEndpoint[]
}

/** How kube-proxy was started on this node (its flags, and what it found on the machine). */
export interface KpConfig {
  nodeName: string
  nodeIP: string
  /** --cluster-cidr with detect-local-mode ClusterCIDR; none: kube-proxy cannot tell pod traffic (the NoOp detector) */
  clusterCIDR?: string
  masqueradeAll: boolean
  /** the mark as kube-proxy formats it: %#08x of 1<<14 = 0x00004000 (its tests hard-code 0x4000) */
  masqueradeMark: string
  /** --iptables-localhost-nodeports (default true): NodePorts on 127.0.0.1 too */
  localhostNodePorts: boolean
  /** --nodeport-addresses resolved to this node's addresses; none: every local address (addrtype LOCAL) */
  nodePortAddresses?: string[]
  /** iptables has MASQUERADE --random-fully */
  randomFully: boolean
  /** the nfacct metrics counters exist (kube-proxy ≥ 1.30 with xt_nfacct) */
  nfacct: boolean
}

/** One Service port's part of the restore input: its filter rules, its nat chains and nat rules. */
export interface KpPortRules {
  filter: string[]
  natChains: string[]
  nat: string[]
}

/** RFC 4648 base32 (standard alphabet), as Go's base32.StdEncoding, without the padding (never reached by 16 characters). */
function base32(buf: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let [bits, value, out] = [0, 0, '']
  for (const byte of buf) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
    value &= (1 << bits) - 1
  }
  return bits > 0 ? out + alphabet[(value << (5 - bits)) & 31] : out
}

/** kube-proxy's hash of a chain's name: the first 16 characters of base32(sha256(input)); each node asks for the same ones, so they are kept. */
const hashes = new Map<string, string>()
function hash16(input: string): string {
  let h = hashes.get(input)
  if (h === undefined) hashes.set(input, (h = base32(createHash('sha256').update(input).digest()).slice(0, 16)))
  return h
}

/** ServicePortName.String(): "ns/name:port", or "ns/name" for an unnamed port. */
const servicePortName = (s: KpServicePort) => `${s.namespace}/${s.name}${s.portName ? `:${s.portName}` : ''}`

const proto = (s: KpServicePort) => s.protocol.toLowerCase()

/** KUBE-SVC-, KUBE-SVL-, KUBE-EXT-, KUBE-FW- chains of a Service port share one hash: of its name and protocol. */
export function serviceChain(prefix: 'SVC' | 'SVL' | 'EXT' | 'FW', s: KpServicePort): string {
  return `KUBE-${prefix}-${hash16(servicePortName(s) + proto(s))}`
}

/** KUBE-SEP-: the hash of the Service port's name, protocol and the endpoint's ip:port. */
export function endpointChain(s: KpServicePort, ep: KpEndpoint): string {
  return `KUBE-SEP-${hash16(servicePortName(s) + proto(s) + `${ep.ip}:${ep.port}`)}`
}

/** "%0.10f" of 1/n, as kube-proxy's probability(n). */
export const probability = (n: number) => (1 / n).toFixed(10)

const q = (text: string) => `"${text}"`
const isReady = (e: KpEndpoint) => e.ready ?? true
const isServingTerminating = (e: KpEndpoint) => (e.serving ?? true) && (e.terminating ?? false)

/** ServicePort's ExternallyAccessible, UsesClusterEndpoints, UsesLocalEndpoints (pkg/proxy/serviceport.go). */
function policies(s: KpServicePort) {
  const external = !!s.nodePort || !!s.loadBalancerIPs?.length || !!s.externalIPs?.length
  const internalLocal = s.internalTrafficPolicy === 'Local'
  const externalLocal = external && s.externalTrafficPolicy === 'Local'
  return {external, internalLocal, externalLocal, usesCluster: !internalLocal || external, usesLocal: internalLocal || externalLocal}
}

/** proxy.CategorizeEndpoints without topology hints: the endpoints each policy chain uses, in kube-proxy's order (by "ip:port"). */
function categorize(s: KpServicePort, nodeName: string) {
  const p = policies(s)
  const key = (e: KpEndpoint) => `${e.ip}:${e.port}`
  const all = [...s.endpoints].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
  const local = (e: KpEndpoint) => e.node === nodeName
  let cluster: KpEndpoint[] = []
  let hasAny = false
  if (p.usesCluster) {
    cluster = all.filter(isReady)
    // no ready endpoint anywhere: the serving ones that are terminating take their place
    if (cluster.length === 0) cluster = all.filter(isServingTerminating)
    hasAny = cluster.length > 0
  }
  let localEps: KpEndpoint[] = []
  if (p.usesLocal) {
    hasAny ||= all.some((e) => isReady(e) || isServingTerminating(e))
    localEps = all.filter((e) => local(e) && isReady(e))
    if (localEps.length === 0) localEps = all.filter((e) => local(e) && isServingTerminating(e))
  }
  const reachable = all.filter((e) => cluster.includes(e) || localEps.includes(e))
  return {...p, cluster, local: localEps, reachable, hasAny}
}

/** `-A CHAIN -m comment --comment COMMENT …`: how kube-proxy starts most rules. */
const commented = (chain: string, comment: string, ...rest: string[]) =>
  ['-A', chain, '-m', 'comment', '--comment', comment, ...rest].join(' ')

/** What one Service port's rules depend on: its categorized endpoints, its chains, and which of them it uses (syncProxyRules' variables). */
function portPlan(s: KpServicePort, cfg: KpConfig) {
  const c = categorize(s, cfg.nodeName)
  const name = servicePortName(s)
  const [svc, svl, ext, fw] = [serviceChain('SVC', s), serviceChain('SVL', s), serviceChain('EXT', s), serviceChain('FW', s)]
  const lbIPs = s.loadBalancerIPs ?? []
  // no endpoint anywhere: REJECT; endpoints, but none this policy may use here: DROP
  const [target, comment] = !c.hasAny ? ['REJECT', q(`${name} has no endpoints`)] : ['DROP', q(`${name} has no local endpoints`)]
  const match = (...rest: string[]) => ['-m', proto(s), '-p', proto(s), ...rest]
  return {
    c,
    name,
    svc,
    svl,
    ext,
    fw,
    lbIPs,
    target,
    comment,
    match,
    vip: (ip: string, port: number) => match('-d', ip, '--dport', String(port)),
    internalChain: c.internalLocal ? svl : svc,
    hasInternal: c.hasAny && !(c.internalLocal && c.local.length === 0),
    externalChain: c.externalLocal ? svl : svc,
    hasExternal: c.hasAny && !(c.externalLocal && c.local.length === 0),
    usesExt: c.hasAny && c.external,
    usesFW: c.hasAny && lbIPs.length > 0 && !!s.loadBalancerSourceRanges?.length,
  }
}

/** How traffic for the Service port is caught: in nat KUBE-SERVICES and KUBE-NODEPORTS, or refused in filter. */
function captures(s: KpServicePort, cfg: KpConfig, k: ReturnType<typeof portPlan>, out: KpPortRules): void {
  const {c, name, ext, fw, lbIPs, target, comment, match, vip} = k
  // a connection to the ClusterIP jumps to the Service's chain; with no endpoints it is refused
  if (k.hasInternal) out.nat.push(commented('KUBE-SERVICES', q(`${name} cluster IP`), ...vip(s.clusterIP, s.port), '-j', k.internalChain))
  else out.filter.push(commented('KUBE-SERVICES', comment, ...vip(s.clusterIP, s.port), '-j', target))
  for (const ip of s.externalIPs ?? []) {
    if (c.hasAny) out.nat.push(commented('KUBE-SERVICES', q(`${name} external IP`), ...vip(ip, s.port), '-j', ext))
    if (!k.hasExternal) out.filter.push(commented('KUBE-EXTERNAL-SERVICES', comment, ...vip(ip, s.port), '-j', target))
  }
  for (const ip of lbIPs) {
    if (c.hasAny) out.nat.push(commented('KUBE-SERVICES', q(`${name} loadbalancer IP`), ...vip(ip, s.port), '-j', k.usesFW ? fw : ext))
    if (k.usesFW)
      out.filter.push(commented('KUBE-PROXY-FIREWALL', q(`${name} traffic not accepted by ${fw}`), ...vip(ip, s.port), '-j', 'DROP'))
  }
  if (!k.hasExternal)
    for (const ip of lbIPs) out.filter.push(commented('KUBE-EXTERNAL-SERVICES', comment, ...vip(ip, s.port), '-j', target))
  if (s.nodePort) {
    const port = String(s.nodePort)
    if (c.hasAny) {
      if (cfg.localhostNodePorts && cfg.nfacct && !cfg.nodePortAddresses)
        out.nat.push(
          commented(
            'KUBE-NODEPORTS',
            name,
            ...match('-d', '127.0.0.0/8', '--dport', port),
            '-m',
            'nfacct',
            '--nfacct-name',
            'localhost_nps_accepted_pkts',
            '-j',
            ext,
          ),
        )
      out.nat.push(commented('KUBE-NODEPORTS', name, ...match('--dport', port), '-j', ext))
    }
    if (!k.hasExternal)
      out.filter.push(
        commented('KUBE-EXTERNAL-SERVICES', comment, '-m', 'addrtype', '--dst-type', 'LOCAL', ...match('--dport', port), '-j', target),
      )
  }
  // the load balancer's health checks (only eTP Local load balancers have them: kube-proxy's NeedsHealthCheck)
  if (s.healthCheckNodePort && c.externalLocal)
    out.filter.push(
      commented('KUBE-NODEPORTS', q(`${name} health check node port`), ...match('--dport', String(s.healthCheckNodePort)), '-j', 'ACCEPT'),
    )
}

/** The rules of one Service port (syncProxyRules' loop body, in its order). */
export function portRules(s: KpServicePort, cfg: KpConfig): KpPortRules {
  const k = portPlan(s, cfg)
  const {c, name, svc, svl, ext, fw} = k
  const out: KpPortRules = {filter: [], natChains: [], nat: []}
  if (k.usesExt) out.natChains.push(ext)
  if (k.usesFW) out.natChains.push(fw)
  captures(s, cfg, k, out)
  // off-cluster clients of the ClusterIP are masqueraded (their replies must come back through this node)
  const clusterIP = [q(`${name} cluster IP`), ...k.vip(s.clusterIP, s.port)] as const
  if (k.hasInternal) {
    if (cfg.masqueradeAll) out.nat.push(commented(k.internalChain, ...clusterIP, '-j', 'KUBE-MARK-MASQ'))
    else if (cfg.clusterCIDR) out.nat.push(commented(k.internalChain, ...clusterIP, '!', '-s', cfg.clusterCIDR, '-j', 'KUBE-MARK-MASQ'))
  }
  if (k.usesExt) out.nat.push(...externalRules(name, ext, svc, k.externalChain, k.hasExternal, c.externalLocal, cfg))
  if (k.usesFW) out.nat.push(...firewallRules(name, fw, ext, k.lbIPs, s.loadBalancerSourceRanges!, cfg.nodeIP))
  if (c.cluster.length > 0 && c.usesCluster) {
    out.natChains.push(svc)
    out.nat.push(...dispatch(s, name, svc, c.cluster))
  }
  if (c.local.length > 0 && c.usesLocal) {
    out.natChains.push(svl)
    out.nat.push(...dispatch(s, name, svl, c.local))
  }
  for (const ep of c.reachable) {
    const sep = endpointChain(s, ep)
    out.natChains.push(sep)
    // hairpin: an endpoint reaching itself through the Service is masqueraded, or its reply would skip the DNAT's undoing
    out.nat.push(commented(sep, name, '-s', ep.ip, '-j', 'KUBE-MARK-MASQ'))
    const recent = s.affinityTimeout !== undefined ? ['-m', 'recent', '--name', sep, '--set'] : []
    out.nat.push(commented(sep, name, ...recent, ...k.match('-j', 'DNAT', '--to-destination', `${ep.ip}:${ep.port}`)))
  }
  return out
}

/** The KUBE-EXT chain: what NodePort (and external IP, load balancer) traffic goes through before the policy chain. */
function externalRules(
  name: string,
  ext: string,
  svc: string,
  policyChain: string,
  hasExternal: boolean,
  local: boolean,
  cfg: KpConfig,
): string[] {
  const rules: string[] = []
  const comment = (text: string) => ['-A', ext, '-m', 'comment', '--comment', q(text)]
  if (!local) rules.push([...comment(`masquerade traffic for ${name} external destinations`), '-j', 'KUBE-MARK-MASQ'].join(' '))
  else {
    if (cfg.clusterCIDR)
      rules.push([...comment(`pod traffic for ${name} external destinations`), '-s', cfg.clusterCIDR, '-j', svc].join(' '))
    rules.push(
      [
        ...comment(`masquerade LOCAL traffic for ${name} external destinations`),
        '-m',
        'addrtype',
        '--src-type',
        'LOCAL',
        '-j',
        'KUBE-MARK-MASQ',
      ].join(' '),
    )
    rules.push(
      [...comment(`route LOCAL traffic for ${name} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', svc].join(' '),
    )
  }
  if (hasExternal) rules.push(`-A ${ext} -j ${policyChain}`)
  return rules
}

/** The KUBE-FW chain of a load balancer with source ranges (kube-proxy's tests; a lab has no load balancer). */
function firewallRules(name: string, fw: string, ext: string, lbIPs: string[], ranges: string[], nodeIP: string): string[] {
  const head = `-A ${fw} -m comment --comment ${q(`${name} loadbalancer IP`)}`
  const cidrs = ranges.map((r) => parseCidr(r.trim()))
  const rules = cidrs.map((c) => `${head} -s ${String(c)} -j ${ext}`)
  const node = parseIPv4(nodeIP)
  if (node !== undefined && cidrs.some((c) => typeof c !== 'string' && c.contains(node)))
    rules.push(...lbIPs.map((ip) => `${head} -s ${ip} -j ${ext}`))
  rules.push(`-A ${fw} -m comment --comment ${q(`other traffic to ${name} will be dropped by KUBE-PROXY-FIREWALL`)}`)
  return rules
}

/** writeServiceToEndpointRules: affinity checks first, then one endpoint at random (1/n, 1/(n-1), …, the last for certain). */
function dispatch(s: KpServicePort, name: string, chain: string, endpoints: KpEndpoint[]): string[] {
  const rules: string[] = []
  const comment = (ep: KpEndpoint) => ['-A', chain, '-m', 'comment', '--comment', q(`${name} -> ${ep.ip}:${ep.port}`)]
  if (s.affinityTimeout !== undefined)
    for (const ep of endpoints) {
      const sep = endpointChain(s, ep)
      rules.push(
        [...comment(ep), '-m', 'recent', '--name', sep, '--rcheck', '--seconds', String(s.affinityTimeout), '--reap', '-j', sep].join(' '),
      )
    }
  endpoints.forEach((ep, i) => {
    const odds = i < endpoints.length - 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', probability(endpoints.length - i)] : []
    rules.push([...comment(ep), ...odds, '-j', endpointChain(s, ep)].join(' '))
  })
  return rules
}

/** Chains kube-proxy declares on every sync (iptables-restore: a declared chain is created, or flushed). */
export const BASE_CHAINS = {
  filter: ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL'],
  nat: ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'],
}

/** The rules that are the same whatever the Services: masquerade by mark, and KUBE-FORWARD. */
export function baseRules(cfg: KpConfig): {filterChains: string[]; filter: string[]; nat: string[]} {
  const mark = cfg.masqueradeMark
  const firewall = cfg.localhostNodePorts
  return {
    filterChains: [...BASE_CHAINS.filter, ...(firewall ? ['KUBE-FIREWALL'] : [])],
    filter: [
      ...(firewall
        ? [
            '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
          ]
        : []),
      `-A KUBE-FORWARD -m conntrack --ctstate INVALID${cfg.nfacct ? ' -m nfacct --nfacct-name ct_state_invalid_dropped_pkts' : ''} -j DROP`,
      `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`,
      '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    ],
    nat: [
      `-A KUBE-POSTROUTING -m mark ! --mark ${mark}/${mark} -j RETURN`,
      `-A KUBE-POSTROUTING -j MARK --xor-mark ${mark}`,
      `-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${cfg.randomFully ? ' --random-fully' : ''}`,
      `-A KUBE-MARK-MASQ -j MARK --or-mark ${mark}`,
    ],
  }
}

/** The last rule of nat KUBE-SERVICES: whatever is addressed to the node itself may be a NodePort. */
export function tailRules(cfg: KpConfig): string[] {
  const head = '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"'
  if (!cfg.nodePortAddresses)
    return [`${head} -m addrtype --dst-type LOCAL${cfg.localhostNodePorts ? '' : ' ! -d 127.0.0.0/8'} -j KUBE-NODEPORTS`]
  return cfg.nodePortAddresses
    .filter((ip) => cfg.localhostNodePorts || !ip.startsWith('127.'))
    .map((ip) => `${head} -d ${ip} -j KUBE-NODEPORTS`)
}

/**
 * kube-proxy's jumps into its chains from the built-in ones (iptablesJumpChains), each inserted
 * at the top as kube-proxy's EnsureRule(Prepend) does, in its order: the last one ends up first.
 */
export const JUMPS: {table: 'filter' | 'nat'; chain: string; rule: string}[] = [
  {
    table: 'filter',
    chain: 'INPUT',
    rule: '-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
  },
  {
    table: 'filter',
    chain: 'FORWARD',
    rule: '-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
  },
  {table: 'filter', chain: 'INPUT', rule: '-m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS'},
  {
    table: 'filter',
    chain: 'FORWARD',
    rule: '-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  },
  {table: 'filter', chain: 'OUTPUT', rule: '-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'},
  {table: 'filter', chain: 'FORWARD', rule: '-m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD'},
  {
    table: 'filter',
    chain: 'INPUT',
    rule: '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
  },
  {
    table: 'filter',
    chain: 'OUTPUT',
    rule: '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
  },
  {
    table: 'filter',
    chain: 'FORWARD',
    rule: '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
  },
  {table: 'nat', chain: 'OUTPUT', rule: '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES'},
  {table: 'nat', chain: 'PREROUTING', rule: '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES'},
  {table: 'nat', chain: 'POSTROUTING', rule: '-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING'},
]

/** The whole restore input of one full sync, as kube-proxy writes it (fp.iptablesData in its tests): filter, then nat. */
export function kubeProxyRestore(ports: KpServicePort[], cfg: KpConfig): string {
  const base = baseRules(cfg)
  const each = ports.map((s) => portRules(s, cfg))
  const chain = (c: string) => `:${c} - [0:0]`
  return [
    '*filter',
    ...base.filterChains.map(chain),
    ...each.flatMap((r) => r.filter),
    ...base.filter,
    'COMMIT',
    '*nat',
    ...BASE_CHAINS.nat.map(chain),
    ...each.flatMap((r) => r.natChains.map(chain)),
    ...each.flatMap((r) => r.nat),
    ...tailRules(cfg),
    ...base.nat,
    'COMMIT',
    '',
  ].join('\n')
}
