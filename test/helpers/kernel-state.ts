// A lab's kernel state, namespace by namespace, as comparable data: what the equivalence test
// (a lab built by the executor against one built by the plan's shell script) and the apply tests
// (a lab changed by `netlab apply` against a fresh `up` of the same topology) compare.
import {execFileSync} from 'node:child_process'
import {expect} from 'vitest'
import {macFor} from '../../src/core/names.js'
import {POD_GATEWAY} from '../../src/modes/ptp.js'
import type {LabModel} from '../../src/model/types.js'
import {labNetns} from './lab.js'

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

/**
 * Everything about a namespace that the plan decides, without kernel-chosen values (ifindexes,
 * random MACs). `rewrite` is applied to what the kernel said before it is read (a twin lab's
 * names and addresses written as the other lab's: see twinRewrite).
 */
function dump(ns: string, lab: string, rewrite: (text: string) => string): unknown {
  const raw = execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', READ_ALL], {encoding: 'utf8', maxBuffer: 64 * 1024 * 1024})
  const parts = rewrite(raw).split(`\n${PART}\n`)
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

/** dump() of every namespace of the lab, in order of their names. */
export const snapshot = (lab: string, rewrite: (text: string) => string = (t) => t) =>
  labNetns(lab)
    .sort()
    .map((ns) => dump(ns, lab, rewrite))

const quad = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
const toInt = (ip: string) => ip.split('.').reduce((a, b) => a * 256 + Number(b), 0) >>> 0
const inCidr = (ip: string, cidr: string) => {
  const [net, len] = cidr.split('/')
  const size = 2 ** (32 - Number(len))
  return Math.floor(toInt(ip) / size) === Math.floor(toInt(net) / size)
}

/**
 * A rewrite of what the kernel says about lab `from` into the words of lab `to`, the same
 * topology built another way (a fresh `up` against a lab changed by `netlab apply`): its name,
 * and the addresses that differ only because they were given in another order. Nodes, pods and
 * external hosts match by name (their addresses, and a node's pod subnet address by address);
 * MACs follow, as netlab derives them from addresses (0a:58:<address>).
 */
export function twinRewrite(from: LabModel, to: LabModel): (text: string) => string {
  const hosts = new Map<string, string>()
  const subnets: [string, string][] = []
  const add = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && a !== b && hosts.set(a, b)
  const nodes = new Map(to.nodes.map((n) => [n.name, n]))
  const pods = new Map(to.nodes.flatMap((n) => n.pods.map((p) => [p.name, p])))
  const external = new Map(to.external.map((e) => [e.name, e]))
  for (const n of from.nodes) {
    const m = nodes.get(n.name)
    add(n.ip, m?.ip)
    add(n.gateway, m?.gateway)
    // a pod subnet of its own (not the underlay, as in the modes whose pods hold underlay addresses)
    if (m && n.podCIDR !== m.podCIDR && !inCidr(n.ip, n.podCIDR)) subnets.push([n.podCIDR, m.podCIDR])
    for (const p of n.pods) add(p.ip, pods.get(p.name)?.ip)
  }
  for (const e of from.external) add(e.ip, external.get(e.name)?.ip)
  /** `len`: the prefix written after it; a range wider than a node's subnet (the cluster's, which starts where the first node's may) is not the node's */
  const address = (ip: string, len = 32): string => {
    const host = hosts.get(ip)
    if (host !== undefined) return host
    const s = subnets.find(([cidr]) => inCidr(ip, cidr) && len >= Number(cidr.split('/')[1]))
    return s ? quad(toInt(s[1].split('/')[0]) + toInt(ip) - toInt(s[0].split('/')[0])) : ip
  }
  const mac = (m: string) =>
    macFor(
      address(
        m
          .split(':')
          .slice(2)
          .map((h) => parseInt(h, 16))
          .join('.'),
      ),
    )
  return (text) =>
    text
      .replaceAll(from.lab, to.lab)
      .replace(/0a:58(?::[0-9a-f]{2}){4}/g, mac)
      .replace(/(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(\/\d{1,2})?(?![\d.])/g, (_, ip: string, len?: string) =>
        len ? `${address(ip, Number(len.slice(1)))}${len}` : address(ip),
      )
}
