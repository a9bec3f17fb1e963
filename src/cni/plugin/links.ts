// The kernel work of a call as `ip -batch` scripts: one `ip` process for the pod's namespace and
// one for the node's, however many links, addresses and routes (a process per command would cost
// more than everything else the plugin does). Builders are pure; runBatch is the one effect.
import {createHash, randomBytes} from 'node:crypto'
import {spawnSync} from 'node:child_process'
import {formatIPv4} from '../../core/ipv4.js'
import type {NetConf} from './config.js'
import {CODE, CniError} from './errors.js'
import type {Allocation} from './ipam.js'
import {podRoutes} from './result.js'

/** The node end of the veth: named from container and interface, so DEL and CHECK find it again. */
export function hostVethName(containerId: string, ifname: string): string {
  return `veth${createHash('sha256').update(`${containerId}\0${ifname}`).digest('hex').slice(0, 8)}`
}

/** `ip -n NAME` for a namespace ip knows by name; anything else is entered with nsenter. */
export function netnsName(path: string): string | undefined {
  return /^\/(?:var\/)?run\/netns\/([^/]+)$/.exec(path)?.[1]
}

/** locally administered, unicast */
export function randomMac(bytes: Buffer = randomBytes(6)): string {
  const b = [...bytes.subarray(0, 6)]
  b[0] = (b[0] & 0xfe) | 0x02
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':')
}

const mtu = (conf: NetConf) => (conf.mtu ? ` mtu ${conf.mtu}` : '')

/**
 * Inside the pod: the veth is born here with its peer sent straight to the node's namespace
 * (named by a pid in it: ours), then the address and routes. Ends by showing the link (its MAC).
 */
export function podAddBatch(conf: NetConf, ifname: string, veth: string, ips: Allocation[], nodePid: number): string[] {
  return [
    `link add ${ifname}${conf.mac ? ` address ${conf.mac}` : ''}${mtu(conf)} type veth peer name ${veth}${mtu(conf)} netns ${nodePid}`,
    ...ips.map((a) => `addr add ${formatIPv4(a.ip)}/${a.prefix} dev ${ifname}`),
    `link set dev ${ifname} up`,
    ...(ips.length > 0 ? podRoutes(conf, ips[0].gateway).map((r) => `route add ${r.dst} via ${r.gw} dev ${ifname}`) : []),
    `link show dev ${ifname}`,
  ]
}

/** On the node: the bridge (made if missing), its gateway addresses, the veth's port. Shows both. */
export function nodeAddBatch(conf: NetConf, veth: string, ips: Allocation[], bridgeExists: boolean): string[] {
  const br = conf.bridge
  return [
    // a MAC of its own: a bridge left to itself takes its lowest port's, which changes as pods come and go
    ...(bridgeExists ? [] : [`link add name ${br}${mtu(conf)} address ${randomMac()} type bridge`]),
    ...(conf.promiscMode ? [`link set dev ${br} promisc on`] : []),
    `link set dev ${br} up`,
    ...(conf.isGateway ? ips.map((a) => `addr replace ${formatIPv4(a.gateway)}/${a.prefix} dev ${br}`) : []),
    `link set dev ${veth} master ${br}`,
    ...(conf.hairpinMode ? [`link set dev ${veth} type bridge_slave hairpin on`] : []),
    `link set dev ${veth} up`,
    `link show dev ${br}`,
    `link show dev ${veth}`,
  ]
}

export interface LinkJson {
  ifname: string
  address: string
  flags?: string[]
  master?: string
  linkinfo?: {info_kind?: string}
  addr_info?: {family: string; local: string; prefixlen: number}[]
  dst?: string
  gateway?: string
  dev?: string
}

/** `ip -j -batch` prints one JSON array per command that shows something. */
export function parseBatchJson(stdout: string): LinkJson[][] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('['))
    .map((l) => JSON.parse(l) as LinkJson[])
}

/** A failed batch, and which line (1-based; 0 when ip did not say) failed. */
export class BatchError extends CniError {
  constructor(
    msg: string,
    details: string,
    readonly line: number,
  ) {
    super(CODE.internal, msg, details)
  }
}

/** ip with args in the node's namespace (netns undefined) or in a pod's. */
function ipIn(netns: string | undefined, args: string[]): [string, string[]] {
  const name = netns === undefined ? undefined : netnsName(netns)
  if (netns === undefined) return ['ip', args]
  return name !== undefined ? ['ip', ['-n', name, ...args]] : ['nsenter', [`--net=${netns}`, 'ip', ...args]]
}

/** Run a batch in the node's namespace (netns undefined) or in a pod's; JSON out. */
export function runBatch(lines: string[], netns?: string, opts: {details?: boolean} = {}): LinkJson[][] {
  const [cmd, args] = ipIn(netns, ['-j', ...(opts.details ? ['-d'] : []), '-batch', '-'])
  const r = spawnSync(cmd, args, {input: lines.join('\n') + '\n', encoding: 'utf8'})
  if (r.error) throw new CniError(CODE.internal, `cannot run ${cmd}: ${r.error.message}`)
  if (r.status !== 0) {
    const at = /Command failed -:(\d+)/.exec(r.stderr)
    throw new BatchError(batchError(r.stderr, lines), `${cmd} ${args.join(' ')} <<< ${lines.join('; ')}`, at ? Number(at[1]) : 0)
  }
  return parseBatchJson(r.stdout)
}

/** "RTNETLINK answers: File exists\nCommand failed -:3" -> the failing command and the kernel's words. */
export function batchError(stderr: string, lines: string[]): string {
  const at = /Command failed -:(\d+)/.exec(stderr)
  const why = stderr.split('\n').find((l) => l.trim() !== '' && !l.startsWith('Command failed')) ?? stderr.trim()
  return at ? `"ip ${lines[Number(at[1]) - 1]}" failed: ${why}` : `ip failed: ${why}`
}

/** One command, errors ignored: DEL's cleanup of what may already be gone. */
export function tryIp(args: string[], netns?: string): boolean {
  const [cmd, full] = ipIn(netns, args)
  return spawnSync(cmd, full).status === 0
}
