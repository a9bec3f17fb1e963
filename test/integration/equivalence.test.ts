// The executor's batching and its rtnetlink fast path must build exactly the network that the
// plain, one-command-at-a-time script from `netlab plan --format sh` builds.
import {execFileSync, spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {macFor} from '../../src/core/names.js'
import {POD_GATEWAY} from '../../src/modes/ptp.js'
import {DEFAULT_ROUTING_MODE, ROUTING_MODES, routingMode} from '../../src/modes/index.js'
import {isRoot, labNetns, labSandbox, netlab, smallTopology, uniqueLab, writeTopology} from '../helpers/lab.js'

const SYSCTLS = [
  'net.ipv4.ip_forward',
  'net.ipv6.conf.default.disable_ipv6',
  'net.ipv6.conf.all.disable_ipv6',
  'net.ipv4.conf.eth0.proxy_arp',
  'net.ipv4.neigh.eth0.proxy_delay',
]
/** what a lab with policies sets in its nodes (empty where there is no cni0) */
const POLICY_SYSCTLS = [
  'net.ipv4.conf.cni0.proxy_arp_pvlan',
  'net.ipv4.neigh.cni0.proxy_delay',
  'net.ipv4.conf.all.send_redirects',
  'net.ipv4.conf.cni0.send_redirects',
  'net.ipv4.icmp_ratemask',
]
const PART = '@@netlab-equivalence-part@@'
/**
 * What dump() reads of a namespace, in one process there (not one per read: a large lab has ~60
 * namespaces): ip and bridge as JSON, the sysctls, iptables-save; the parts in this order, each after a line PART.
 */
const READ_ALL = `set -e; ${[
  'ip -j -d link',
  'ip -j addr',
  'bridge -j fdb show',
  'ip -j route show table all',
  'ip -j neigh',
  'ip -j neigh show proxy',
  // every key in one sysctl: `key = value` for the keys the namespace has (-e: no error for the others)
  `sysctl -e ${[...SYSCTLS, ...POLICY_SYSCTLS].join(' ')}`,
  'iptables-save',
].join(`; echo; echo ${PART}; `)}`

/** Everything about a namespace that the plan decides, without kernel-chosen values (ifindexes, random MACs). */
function dump(ns: string, lab: string): unknown {
  const parts = execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', READ_ALL], {encoding: 'utf8', maxBuffer: 64 * 1024 * 1024}).split(
    `\n${PART}\n`,
  )
  expect(parts, ns).toHaveLength(8)
  const [links, addrs, fdb, routes, neigh, proxy] = parts.slice(0, 6).map((p) => JSON.parse(p.trim() || '[]') as Record<string, any>[])
  const sysctls = new Map(
    parts[6]
      .split('\n')
      .filter((l) => l.includes(' = '))
      .map((l) => [l.slice(0, l.indexOf(' = ')), l.slice(l.indexOf(' = ') + 3).trim()]),
  )
  // as `sysctl -n KEY` read one by one: empty where the namespace has no such key
  const sysctl = (k: string) => sysctls.get(k) ?? ''
  // MACs the plan sets: 0a:58 and an address this namespace holds (or aws-vpc's pod gateway, which
  // no interface holds). Not the prefix alone: a kernel-random MAC starts with 0a:58 now and then.
  const planned = new Set(
    [POD_GATEWAY, ...addrs.flatMap((l) => l.addr_info.filter((a: any) => a.family === 'inet').map((a: any) => a.local))].map(macFor),
  )
  const names = new Map(links.map((l) => [l.ifindex, l.ifname]))
  const rules = parts[7].split('\n').filter((l) => l && !l.startsWith('#'))
  return {
    ns: ns.replace(`netlab-${lab}.`, ''),
    links: links
      .map((l) => ({
        name: l.ifname,
        flags: [...l.flags].sort(),
        master: l.master ?? null,
        alias: l.ifalias ?? null,
        kind: l.linkinfo?.info_kind ?? null,
        mac: planned.has(l.address) ? l.address : 'random',
        mtu: l.mtu,
        peerIn: l.link_netnsid === undefined ? null : 'other',
        // a VXLAN device's settings (VNI, port, local address, learning); bridges' hold kernel-chosen ids
        vxlan: l.linkinfo?.info_kind === 'vxlan' ? l.linkinfo.info_data : null,
        // a bridge port isolated from the others (labs with policies)
        isolated: l.linkinfo?.info_slave_data?.isolated ?? null,
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    // forwarding-database entries that send a MAC to an underlay address (VXLAN); bridge ports' own entries hold random MACs
    fdb: fdb
      .filter((f) => f.dst)
      .map((f) => `${f.mac} ${f.ifname} ${f.dst} ${[...(f.flags ?? [])].sort()} ${f.state ?? ''}`)
      .sort(),
    addrs: addrs.flatMap((l) => l.addr_info.map((a: any) => `${l.ifname} ${a.family} ${a.local}/${a.prefixlen} ${a.scope}`)).sort(),
    // routing bgp: BIRD's routes (proto bird) are learned, not the plan's: the script starts no BIRD
    routes: routes
      .filter((r) => r.protocol !== 'bird')
      .map((r) => JSON.stringify({...r, dev: r.dev}))
      .sort(),
    neigh: neigh
      .filter((n) => n.state?.includes('PERMANENT'))
      .map((n) => `${n.dst} ${n.lladdr} ${n.dev}`)
      .sort(),
    // proxy neighbour entries and proxy ARP: how the VPC modes deliver pod addresses
    proxy: proxy.map((n) => `${n.dst} ${n.dev}`).sort(),
    sysctls: SYSCTLS.map(sysctl),
    policySysctls: POLICY_SYSCTLS.map(sysctl),
    rules,
    names: [...names.values()].sort(),
  }
}

const snapshot = (lab: string) =>
  labNetns(lab)
    .sort()
    .map((ns) => dump(ns, lab))

/** Labels (every other pod a db) and two policies: db takes 5432 from web, web reaches db only. */
function withPolicies(topo: Record<string, unknown>): void {
  const nodes = topo.nodes as {name: string; pods: number}[]
  topo.nodes = nodes.map((n) => ({
    name: n.name,
    pods: Array.from({length: n.pods}, (_, k) => ({name: `${n.name}-p${k}`, labels: {app: k % 2 ? 'db' : 'web'}})),
  }))
  topo.policies = [
    {name: 'db-in', podSelector: {app: 'db'}, ingress: [{from: [{podSelector: {app: 'web'}}], ports: [{protocol: 'TCP', port: 5432}]}]},
    {
      name: 'web-out',
      podSelector: {app: 'web'},
      policyTypes: ['Egress'],
      egress: [{to: [{podSelector: {app: 'db'}}, {ipBlock: '203.0.113.0/24'}]}],
    },
  ]
}

describe.skipIf(!isRoot)('netlab builds what the hard-way script builds', () => {
  const {stateDir, env, track} = labSandbox()

  // every routing mode on a small lab; on a large one too the default mode and every mode that shapes its neighbours or configures its pods itself (routed pods); the default mode with policies, small and large
  const large = ROUTING_MODES.filter((m) => m === DEFAULT_ROUTING_MODE || routingMode(m).neighbourShape || routingMode(m).configurePod)
  const cases = [
    ...ROUTING_MODES.map(
      (routing) => [`${routing}: a small lab (neighbours learned by ARP)`, {nodes: 3, pods: 2}, routing, false] as const,
    ),
    ...large.map(
      (routing) =>
        [
          `${routing}: a large lab (permanent neighbour entries)`,
          // pods cabled point to point, in no VPC (bgp), need fewer entries: 8 × 6 still learns them by ARP
          routingMode(routing).neighbourShape?.ptp && !routingMode(routing).neighbourShape?.vpcPods
            ? {nodes: 10, pods: 6}
            : {nodes: 8, pods: 6},
          routing,
          false,
        ] as const,
    ),
    [`${DEFAULT_ROUTING_MODE}: a small lab with policies`, {nodes: 3, pods: 2}, DEFAULT_ROUTING_MODE, true] as const,
    // netlab the CNI runtime: the plugins' calls, as the executor's chains run them and as the
    // script's commands do (netlab-cni: the reference bridge names its veths at random)
    [
      `${DEFAULT_ROUTING_MODE}: a small lab wired by CNI (preset netlab)`,
      {nodes: 3, pods: 2},
      DEFAULT_ROUTING_MODE,
      false,
      'netlab',
    ] as const,
    [
      `${DEFAULT_ROUTING_MODE}: a large lab with policies (neighbours through the gateway)`,
      {nodes: 8, pods: 6},
      DEFAULT_ROUTING_MODE,
      true,
    ] as const,
  ]
  for (const [what, size, routing, policies, cniPreset] of cases) {
    it(
      what,
      () => {
        const lab = track(uniqueLab('same'))
        // a VPC host in the small labs: its routes, and the VPC router it brings, are built both ways too
        const topo = smallTopology(lab, {...size, routing, vpcHost: size.nodes === 3})
        if (policies) withPolicies(topo)
        if (cniPreset) (topo.cluster as Record<string, unknown>).cni = {preset: cniPreset}
        const file = writeTopology(stateDir, topo)
        const plan = JSON.parse(netlab(['plan', file, '--format', 'json']).stdout)
        if (size.nodes >= 8) expect(plan.phases.map((p: {id: string}) => p.id)).toContain('neighbours')
        else expect(plan.phases.map((p: {id: string}) => p.id)).not.toContain('neighbours')

        expect(netlab(['up', file, '-q'], env).code).toBe(0)
        const built = snapshot(lab)
        expect(netlab(['down', lab], env).code).toBe(0)

        const script = join(stateDir, `${lab}.sh`)
        writeFileSync(script, netlab(['plan', file, '--format', 'sh'], env).stdout) // same state dir: same ownership mark
        const r = spawnSync('bash', [script], {encoding: 'utf8'})
        expect(r.status, r.stderr).toBe(0)
        const byHand = snapshot(lab)
        expect(netlab(['down', lab], env).code).toBe(0) // the script's namespaces carry the lab's mark
        expect(labNetns(lab)).toEqual([])

        expect(built.length).toBe(byHand.length)
        expect(built).toEqual(byHand)
      },
      120_000,
    )
  }
})
