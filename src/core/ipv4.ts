// IPv4 addresses as unsigned 32-bit numbers: allocation over thousands of pods stays cheap,
// and every subnet question becomes integer arithmetic.
import IPCIDR from 'ip-cidr'

const QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/

export function parseIPv4(text: string): number | undefined {
  if (!QUAD.test(text)) return undefined
  return text.split('.').reduce((acc, part) => acc * 256 + Number(part), 0)
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

export class Cidr {
  readonly size: number
  constructor(
    readonly base: number,
    readonly prefix: number,
  ) {
    this.size = 2 ** (32 - prefix)
  }

  get last(): number {
    return this.base + this.size - 1
  }

  contains(ip: number): boolean {
    return ip >= this.base && ip <= this.last
  }

  overlaps(other: Cidr): boolean {
    return this.base <= other.last && other.base <= this.last
  }

  covers(other: Cidr): boolean {
    return other.base >= this.base && other.last <= this.last
  }

  /** The k-th subnet of the given prefix length inside this one. */
  subnet(prefix: number, k: number): Cidr {
    return new Cidr(this.base + k * 2 ** (32 - prefix), prefix)
  }

  toString(): string {
    return `${formatIPv4(this.base)}/${this.prefix}`
  }
}

/** Parse "a.b.c.d/n"; explains what is wrong instead of returning undefined. */
export function parseCidr(text: string): Cidr | string {
  const [addr, len, ...rest] = text.split('/')
  if (rest.length > 0 || len === undefined || !/^\d{1,2}$/.test(len)) return `"${text}" is not a CIDR (expected a.b.c.d/n)`
  if (parseIPv4(addr) === undefined) return `"${text}" is not a CIDR: "${addr}" is not an IPv4 address`
  const prefix = Number(len)
  if (prefix > 32 || !IPCIDR.isValidCIDR(text)) return `"${text}" is not a CIDR: the prefix length must be 0 to 32`
  const network = parseIPv4(new IPCIDR(text).start() as string)!
  if (network !== parseIPv4(addr)) return `"${text}" has host bits set; did you mean ${formatIPv4(network)}/${prefix}?`
  return new Cidr(network, prefix)
}

/**
 * The IPv4 blocks no host of a lab may hold an address of (the ones of RFC 6890's special-purpose
 * registry a host cannot use as its own): one table for every check of a host's address and of
 * a range of host addresses (cluster.podCIDR, cluster.underlay). Addresses netlab itself picks
 * (aws-vpc's pod gateway 169.254.1.1) are not checked: only what a topology gives.
 */
const NOT_FOR_HOSTS: readonly {cidr: Cidr; what: string}[] = [
  ['0.0.0.0/8', '"this network" (0.0.0.0/8)'],
  ['127.0.0.0/8', 'loopback (127.0.0.0/8)'],
  ['169.254.0.0/16', 'link-local (169.254.0.0/16)'],
  ['224.0.0.0/4', 'multicast (224.0.0.0/4)'],
  // before 240/4, which holds it: the broadcast address gets its own name
  ['255.255.255.255/32', 'the broadcast address 255.255.255.255'],
  ['240.0.0.0/4', 'reserved (240.0.0.0/4)'],
].map(([text, what]) => ({cidr: parseCidr(text) as Cidr, what}))

/** Why a host cannot hold this address ("is loopback (127.0.0.0/8), …"), or undefined when it can. */
export function hostAddressProblem(ip: number): string | undefined {
  const block = NOT_FOR_HOSTS.find((b) => b.cidr.contains(ip))
  return block && `is ${block.what}, not an address a host can hold`
}

/** Why a range cannot hold host addresses (it is, or overlaps, a block of hostAddressProblem's), or undefined. */
export function hostRangeProblem(range: Cidr): string | undefined {
  const block = NOT_FOR_HOSTS.find((b) => b.cidr.overlaps(range))
  if (!block) return undefined
  return `${block.cidr.covers(range) ? 'is' : 'overlaps'} ${block.what}: hosts cannot hold its addresses`
}

/**
 * `from` less the blocks in `holes`, as the fewest CIDRs that cover exactly what is left (an
 * ipBlock with except, as rules that match one block each). Splits `from` in halves until each
 * half is clear of every hole or inside one.
 */
export function subtractCidrs(from: Cidr, holes: Cidr[]): Cidr[] {
  const touching = holes.filter((h) => h.overlaps(from))
  if (touching.length === 0) return [from]
  if (touching.some((h) => h.covers(from))) return []
  const prefix = from.prefix + 1
  return [from.subnet(prefix, 0), from.subnet(prefix, 1)].flatMap((half) => subtractCidrs(half, touching))
}
