// Reading a hop's snapshot from the kernel: the programs a person would run in that namespace
// (ip -j route get / addr / neigh, bridge -j fdb, iptables-save -c, the forwarding sysctl,
// recent's lists, kube-proxy's nftables table),
// all at once through one netlab-nsexec fan-out. What does not change between hops of one run
// (everything but the route lookup) is kept per namespace, so probe's explanations of many
// failures read each namespace once.
import {tmpdir} from 'node:os'
import {readInNamespaces} from '../exec/fanout.js'
import type {Fdb, IpLink, Neigh, Packet, RouteGet, Snapshot} from './types.js'

export type Cache = Map<string, Promise<Omit<Snapshot, 'route'>>>

const STATIC: [keyof Omit<Snapshot, 'route'>, string[]][] = [
  ['links', ['ip', '-j', '-d', 'addr', 'show']],
  ['neigh', ['ip', '-j', 'neigh', 'show']],
  ['fdb', ['bridge', '-j', 'fdb', 'show']],
  ['iptables', ['iptables-save', '-c']],
  ['ipForward', ['cat', '/proc/sys/net/ipv4/ip_forward']],
  // per namespace since Linux 5.3; no file: br_netfilter is not loaded
  ['bridgeNf', ['cat', '/proc/sys/net/bridge/bridge-nf-call-iptables']],
  // no directory: no rule uses recent here
  ['recent', ['grep', '-r', '.', '/proc/net/xt_recent']],
  // kube-proxy's nftables mode (no such table: exit 1, nothing read)
  ['nft', ['nft', '-j', 'list', 'table', 'ip', 'kube-proxy']],
  // routing bgp: the routes BIRD wrote (none elsewhere)
  ['learned', ['ip', '-j', 'route', 'show', 'proto', 'bird']],
]

/** `ip route get` as the kernel would route this packet here: from the source, coming in by `iif`. */
function routeQuery(packet: Packet, iif: string | undefined): string[] {
  return ['ip', '-j', 'route', 'get', packet.dst, ...(iif ? ['from', packet.src, 'iif', iif] : [])]
}

const parse = <T>(text: string, fallback: T): T => {
  try {
    return text.trim() ? (JSON.parse(text) as T) : fallback
  } catch {
    return fallback
  }
}

const OPTS = {parallel: 4, workDir: tmpdir()}

/** What does not change while a trace runs: interfaces, neighbours, fdb, rules, forwarding (read once per namespace). */
export function readStatic(netns: string, cache: Cache = new Map()): Promise<Omit<Snapshot, 'route'>> {
  let got = cache.get(netns)
  if (!got) {
    got = readInNamespaces(
      STATIC.map(([, argv]) => ({netns, argv})),
      OPTS,
    ).then((a) => ({
      links: parse<IpLink[]>(a[0].out, []),
      neigh: parse<Neigh[]>(a[1].out, []),
      fdb: parse<Fdb[]>(a[2].out, []),
      iptables: a[3].out,
      ipForward: a[4].out.trim(),
      bridgeNf: a[5].code === 0 ? a[5].out.trim() : '',
      recent: a[6].code === 0 ? a[6].out : '',
      nft: a[7].code === 0 ? a[7].out : '',
      learned: a[8].code === 0 ? parse<{dst: string; gateway?: string}[]>(a[8].out, []) : [],
    }))
    cache.set(netns, got)
  }
  return got
}

export async function readSnapshot(netns: string, packet: Packet, iif: string | undefined, cache: Cache = new Map()): Promise<Snapshot> {
  const [[route], rest] = await Promise.all([readInNamespaces([{netns, argv: routeQuery(packet, iif)}], OPTS), readStatic(netns, cache)])
  return {
    ...rest,
    route: route.code === 0 ? parse<RouteGet[]>(route.out, []) : {error: route.err.trim().replace(/^RTNETLINK answers: /, '')},
  }
}
