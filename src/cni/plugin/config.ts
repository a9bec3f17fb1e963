// The network configuration on stdin: the reference bridge plugin's keys with host-local's ipam
// block, so a conflist written for `bridge` works by changing `type`. Pure: text in, a checked
// config (or a CniError with the spec's code) out.
import {Cidr, formatIPv4, parseIPv4} from '../../core/ipv4.js'
import {CODE, CniError} from './errors.js'
import {ifnameProblem} from './env.js'

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']
export const LATEST = '1.1.0'
const DEFAULT_DATA_DIR = '/var/lib/cni/networks'

/** One host-local range: addresses start..end of subnet, gateway never handed out. */
export interface Range {
  subnet: Cidr
  start: number
  end: number
  gateway: number
}

interface Route {
  dst: Cidr
  gw?: number
}

export interface NetConf {
  cniVersion: string
  name: string
  bridge: string
  isGateway: boolean
  isDefaultGateway: boolean
  ipMasq: boolean
  hairpinMode: boolean
  promiscMode: boolean
  mtu?: number
  /** the pod interface's MAC: runtimeConfig.mac (the mac capability), else args.cni.mac */
  mac?: string
  /** the addresses asked for: runtimeConfig.ips (host-local's ips capability), one per range set at most */
  ipam: {rangeSets: Range[][]; routes: Route[]; dataDir: string; requested: number[]}
  prevResult?: Record<string, unknown>
  validAttachments?: {containerID: string; ifname: string}[]
}

/** Bridge-plugin features netlab-cni does not implement: asking for one is error 2, not silence. */
const UNSUPPORTED: Record<string, (v: unknown) => boolean> = {
  vlan: (v) => v !== undefined && v !== 0,
  vlanTrunk: (v) => Array.isArray(v) && v.length > 0,
  preserveDefaultVlan: (v) => v === false,
  macspoofchk: (v) => v === true,
  enabledad: (v) => v === true,
  forceAddress: (v) => v === true,
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

const invalid = (msg: string) => new CniError(CODE.invalidConfig, msg)

export function versionOk(v: string): boolean {
  return SUPPORTED_VERSIONS.includes(v)
}

/** a.b.c.d/n with no host bits, or a message */
function cidr(text: unknown, what: string): Cidr {
  const [addr, len, ...rest] = typeof text === 'string' ? text.split('/') : []
  const base = addr === undefined ? undefined : parseIPv4(addr)
  if (typeof text === 'string' && text.includes(':')) {
    throw new CniError(CODE.unsupportedField, `${what} "${text}": netlab-cni allocates IPv4 only`)
  }
  if (base === undefined || rest.length > 0 || !/^\d{1,2}$/.test(len ?? '') || Number(len) > 32) {
    throw invalid(`${what} "${String(text)}" is not an IPv4 CIDR (a.b.c.d/n)`)
  }
  const c = new Cidr(Math.floor(base / 2 ** (32 - Number(len))) * 2 ** (32 - Number(len)), Number(len))
  if (c.base !== base) throw invalid(`${what} "${text}" has host bits set (the network is ${c})`)
  return c
}

function address(text: unknown, what: string): number {
  const ip = typeof text === 'string' ? parseIPv4(text) : undefined
  if (ip === undefined) throw invalid(`${what} "${String(text)}" is not an IPv4 address`)
  return ip
}

/** host-local's defaults: .1 is the gateway, the range runs from .1 to the last before broadcast. */
function parseRange(raw: unknown): Range {
  if (!raw || typeof raw !== 'object') throw invalid('ipam: a range must be an object with a subnet')
  const r = raw as Record<string, unknown>
  const subnet = cidr(r.subnet, 'ipam subnet')
  if (subnet.prefix > 30) throw invalid(`ipam subnet ${subnet} is too small to allocate from`)
  const inside = (key: string): number | undefined => {
    if (r[key] === undefined) return undefined
    const ip = address(r[key], `ipam ${key}`)
    if (!subnet.contains(ip)) throw invalid(`ipam ${key} ${formatIPv4(ip)} is not in ${subnet}`)
    return ip
  }
  const start = inside('rangeStart') ?? subnet.base + 1
  const end = inside('rangeEnd') ?? subnet.last - 1
  if (start > end) throw invalid(`ipam rangeStart ${formatIPv4(start)} is after rangeEnd ${formatIPv4(end)}`)
  return {subnet, start, end, gateway: inside('gateway') ?? subnet.base + 1}
}

function rangeSets(ipam: Record<string, unknown>): Range[][] {
  if (ipam.ranges === undefined) {
    if (ipam.subnet === undefined) throw invalid('ipam: no "ranges" and no "subnet"')
    return [[parseRange(ipam)]]
  }
  if (!Array.isArray(ipam.ranges) || ipam.ranges.length === 0) throw invalid('ipam "ranges" must be a non-empty list of range sets')
  return ipam.ranges.map((set, i) => {
    if (!Array.isArray(set) || set.length === 0) throw invalid(`ipam ranges[${i}] must be a non-empty list of ranges`)
    const ranges = set.map(parseRange)
    ranges.forEach((a, j) =>
      ranges.slice(j + 1).forEach((b) => {
        if (a.start <= b.end && b.start <= a.end) throw invalid(`ipam ranges[${i}]: ranges ${a.subnet} and ${b.subnet} overlap`)
      }),
    )
    return ranges
  })
}

function bool(c: Record<string, unknown>, key: string): boolean {
  if (c[key] === undefined) return false
  if (typeof c[key] !== 'boolean') throw invalid(`"${key}" must be true or false`)
  return c[key] as boolean
}

/** Parse stdin. JSON that does not parse is error 6; a cniVersion we do not speak is error 1. */
export function parseConfig(text: string): NetConf {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    throw new CniError(CODE.decode, `error parsing network config: ${(e as Error).message}`)
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new CniError(CODE.decode, 'network config must be a JSON object')
  const c = raw as Record<string, unknown>
  if (typeof c.cniVersion !== 'string' || c.cniVersion === '') throw invalid('"cniVersion" is missing')
  if (!versionOk(c.cniVersion)) {
    throw new CniError(
      CODE.incompatibleVersion,
      'incompatible CNI versions',
      `config is "${c.cniVersion}", plugin supports [${SUPPORTED_VERSIONS.join(' ')}]`,
    )
  }
  if (typeof c.name !== 'string' || !NAME.test(c.name))
    throw invalid(`"name" must be letters, digits, "_", "." and "-", not ${JSON.stringify(c.name)}`)
  for (const [key, bad] of Object.entries(UNSUPPORTED)) {
    if (bad(c[key])) throw new CniError(CODE.unsupportedField, `"${key}" is not supported by netlab-cni`)
  }
  const bridge = c.bridge === undefined ? 'cni0' : c.bridge
  const bridgeBad = typeof bridge === 'string' ? ifnameProblem(bridge) : '"bridge" must be a string'
  if (bridgeBad) throw invalid(`bridge: ${bridgeBad}`)
  if (c.mtu !== undefined && (!Number.isInteger(c.mtu) || (c.mtu as number) < 68 || (c.mtu as number) > 65535)) {
    throw invalid(`"mtu" must be a whole number from 68 to 65535, not ${JSON.stringify(c.mtu)}`)
  }
  if (!c.ipam || typeof c.ipam !== 'object') throw invalid('"ipam" is missing: netlab-cni needs a host-local ipam block')
  const ipam = c.ipam as Record<string, unknown>
  if (ipam.type !== 'host-local') {
    throw new CniError(CODE.unsupportedField, `ipam type ${JSON.stringify(ipam.type)} is not supported: netlab-cni has host-local built in`)
  }
  if (ipam.dataDir !== undefined && (typeof ipam.dataDir !== 'string' || !ipam.dataDir.startsWith('/'))) {
    throw invalid('ipam "dataDir" must be an absolute path')
  }
  if (ipam.routes !== undefined && !Array.isArray(ipam.routes)) throw invalid('ipam "routes" must be a list')
  const routes = ((ipam.routes ?? []) as Record<string, unknown>[]).map((r) => ({
    dst: cidr(r?.dst, 'ipam route dst'),
    ...(r?.gw === undefined ? {} : {gw: address(r.gw, 'ipam route gw')}),
  }))
  const isDefaultGateway = bool(c, 'isDefaultGateway')
  const prev = c.prevResult
  if (prev !== undefined && (!prev || typeof prev !== 'object')) throw invalid('"prevResult" must be an object')
  return {
    cniVersion: c.cniVersion,
    name: c.name,
    bridge: bridge as string,
    // the reference bridge: a default gateway is a gateway
    isGateway: bool(c, 'isGateway') || isDefaultGateway,
    isDefaultGateway,
    ipMasq: bool(c, 'ipMasq'),
    hairpinMode: bool(c, 'hairpinMode'),
    promiscMode: bool(c, 'promiscMode'),
    ...(c.mtu === undefined ? {} : {mtu: c.mtu as number}),
    ...macOf(c),
    ipam: {
      rangeSets: rangeSets(ipam),
      routes,
      dataDir: (ipam.dataDir as string | undefined) ?? DEFAULT_DATA_DIR,
      requested: requestedIps(c.runtimeConfig),
    },
    ...(prev === undefined ? {} : {prevResult: prev as Record<string, unknown>}),
    ...validAttachments(c['cni.dev/valid-attachments']),
  }
}

/**
 * A MAC as the reference bridge reads it (Go's net.ParseMAC, 6 bytes): aa:bb:cc:dd:ee:ff,
 * aa-bb-cc-dd-ee-ff or aabb.ccdd.eeff, any case; returned as ip writes it. undefined if it is none.
 */
export function parseMac(text: string): string | undefined {
  const parts = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i.test(text)
    ? text.split(/[:-]/)
    : /^[0-9a-f]{4}(\.[0-9a-f]{4}){2}$/i.test(text)
      ? text.replace(/\./g, '').match(/../g)!
      : undefined
  return parts?.map((b) => b.toLowerCase()).join(':')
}

/**
 * The pod interface's MAC: runtimeConfig.mac (the mac capability) over args.cni.mac, as the
 * reference bridge takes them ("" is none). The kernel refuses a multicast or all-zero MAC for
 * an interface: refused here, before anything is allocated or created (the reference answers
 * 999 for all of these, after creating the bridge; 7 says what is wrong: the config).
 */
function macOf(c: Record<string, unknown>): Pick<NetConf, 'mac'> {
  const rc = (c.runtimeConfig ?? {}) as Record<string, unknown>
  const args = ((c.args as Record<string, unknown> | undefined)?.cni ?? {}) as Record<string, unknown>
  for (const [where, v] of [
    ['runtimeConfig.mac', rc.mac],
    ['args.cni.mac', args.mac],
  ] as const) {
    if (v === undefined || v === '') continue
    const mac = typeof v === 'string' ? parseMac(v) : undefined
    if (mac === undefined) throw invalid(`${where} ${JSON.stringify(v)} is not a MAC address (aa:bb:cc:dd:ee:ff)`)
    if (parseInt(mac.slice(0, 2), 16) & 1) throw invalid(`${where} ${mac} is a multicast address: an interface needs a unicast MAC`)
    if (mac === '00:00:00:00:00:00') throw invalid(`${where} ${mac} is not a usable MAC address`)
    return {mac}
  }
  return {}
}

/** runtimeConfig.ips: "a.b.c.d/n" or "a.b.c.d" (host-local uses the range's prefix, not this one). */
function requestedIps(runtimeConfig: unknown): number[] {
  const ips = (runtimeConfig as Record<string, unknown> | undefined)?.ips
  if (ips === undefined) return []
  if (!Array.isArray(ips)) throw invalid('runtimeConfig.ips must be a list of addresses')
  return ips.map((text) => {
    if (typeof text === 'string' && text.includes(':'))
      throw new CniError(CODE.unsupportedField, `runtimeConfig.ips "${text}": netlab-cni allocates IPv4 only`)
    const ip = typeof text === 'string' && /^[^/]+(\/\d{1,2})?$/.test(text) ? parseIPv4(text.split('/')[0]) : undefined
    if (ip === undefined) throw invalid(`runtimeConfig.ips: ${JSON.stringify(text)} is not an IPv4 address`)
    return ip
  })
}

function validAttachments(v: unknown): Pick<NetConf, 'validAttachments'> {
  if (v === undefined) return {}
  if (!Array.isArray(v) || v.some((a) => typeof a?.containerID !== 'string' || typeof a?.ifname !== 'string')) {
    throw invalid('"cni.dev/valid-attachments" must be a list of {containerID, ifname}')
  }
  return {validAttachments: v as {containerID: string; ifname: string}[]}
}

/** Version order for "is this at least 1.1.0" questions. */
export function versionAtLeast(v: string, min: string): boolean {
  const a = v.split('.').map(Number)
  const b = min.split('.').map(Number)
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0)
  return true
}
