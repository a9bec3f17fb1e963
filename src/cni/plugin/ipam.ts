// host-local's allocator, over a store interface so the logic is tested without a disk: one
// address per range set, round-robin from the last reserved address (a container that crash-loops
// does not get the same address back until the whole set has been used), gateways never handed out.
import {formatIPv4} from '../../core/ipv4.js'
import type {Range} from './config.js'
import {CODE, CniError} from './errors.js'

export interface Owner {
  id: string
  ifname: string
}

/** host-local's on-disk store, as the allocator sees it. */
export interface IpStore {
  /** create the address's file if it does not exist yet (and remember it as the set's last) */
  reserve(ip: number, owner: Owner, set: number): boolean
  lastReserved(set: number): number | undefined
  /** every reserved address and who holds it */
  entries(): {ip: number; owner: Owner}[]
  release(ip: number): void
}

export interface Allocation {
  ip: number
  prefix: number
  gateway: number
}

const same = (a: Owner, b: Owner) => a.id === b.id && a.ifname === b.ifname

function rangeSetText(set: Range[]): string {
  return set.map((r) => `${formatIPv4(r.start)}-${formatIPv4(r.end)}`).join(',')
}

/**
 * Every candidate of a range set in host-local's order: after the last reserved address if it lies
 * in the set (wrapping round through the other ranges), else from the first range's start.
 */
function* candidates(set: Range[], last: number | undefined): Generator<{ip: number; range: Range}> {
  let ri = last === undefined ? -1 : set.findIndex((r) => last >= r.start && last <= r.end)
  let cur = ri < 0 ? undefined : last!
  if (ri < 0) ri = 0
  const total = set.reduce((n, r) => n + r.end - r.start + 1, 0)
  for (let n = 0; n < total; n++) {
    if (cur === undefined) cur = set[ri].start
    else if (cur === set[ri].end) {
      ri = (ri + 1) % set.length
      cur = set[ri].start
    } else cur++
    if (cur !== set[ri].gateway) yield {ip: cur, range: set[ri]}
  }
}

/** The addresses an owner holds, in range-set order. */
export function held(store: IpStore, sets: Range[][], owner: Owner): Allocation[] {
  const mine = store.entries().filter((e) => same(e.owner, owner))
  return sets.flatMap((set) => {
    const hit = mine.find((e) => set.some((r) => e.ip >= r.start && e.ip <= r.end))
    const range = hit && set.find((r) => hit.ip >= r.start && hit.ip <= r.end)!
    return hit && range ? [{ip: hit.ip, prefix: range.subnet.prefix, gateway: range.gateway}] : []
  })
}

/**
 * One address per range set; a second allocation for the same container and interface is refused.
 * `requested` (runtimeConfig.ips) are taken exactly, as host-local does: each in the range set
 * that holds it, the gateway refused, one already taken refused, one that no set holds refused.
 */
export function allocate(store: IpStore, sets: Range[][], owner: Owner, requested: number[] = []): Allocation[] {
  const dup = held(store, sets, owner)
  if (dup.length > 0) {
    throw new CniError(
      CODE.internal,
      `${formatIPv4(dup[0].ip)} has been allocated to ${owner.id}, duplicate allocation is not allowed`,
      `container ${owner.id} interface ${owner.ifname} was already added; DEL it first`,
    )
  }
  const wanted = [...new Set(requested)]
  const got: Allocation[] = []
  const fail = (msg: string): never => {
    got.forEach((a) => store.release(a.ip))
    throw new CniError(CODE.internal, msg)
  }
  sets.forEach((set, i) => {
    const w = wanted.findIndex((ip) => set.some((r) => ip >= r.start && ip <= r.end))
    if (w >= 0) {
      const ip = wanted.splice(w, 1)[0]
      const range = set.find((r) => ip >= r.start && ip <= r.end)!
      if (ip === range.gateway) fail(`failed to allocate for range ${i}: requested ip ${formatIPv4(ip)} is subnet's gateway`)
      if (!store.reserve(ip, owner, i))
        fail(`failed to allocate for range ${i}: requested IP address ${formatIPv4(ip)} is not available in range set ${rangeSetText(set)}`)
      got.push({ip, prefix: range.subnet.prefix, gateway: range.gateway})
      return
    }
    const hit = (() => {
      for (const c of candidates(set, store.lastReserved(i))) if (store.reserve(c.ip, owner, i)) return c
      return undefined
    })()
    if (!hit) fail(`failed to allocate for range ${i}: no IP addresses available in range set: ${rangeSetText(set)}`)
    got.push({ip: hit!.ip, prefix: hit!.range.subnet.prefix, gateway: hit!.range.gateway})
  })
  if (wanted.length > 0) fail(`failed to allocate all requested IPs: ${wanted.map(formatIPv4).join(' ')}`)
  return got
}

/** Free everything an owner holds (nothing held is fine: DEL is idempotent). Returns what was freed. */
export function release(store: IpStore, owner: Owner): number[] {
  const mine = store.entries().filter((e) => same(e.owner, owner))
  mine.forEach((e) => store.release(e.ip))
  return mine.map((e) => e.ip)
}

/** GC: free every address whose holder is not in the runtime's list of valid attachments. */
export function collect(store: IpStore, valid: Owner[]): {ip: number; owner: Owner}[] {
  const stale = store.entries().filter((e) => !valid.some((v) => same(v, e.owner)))
  stale.forEach((e) => store.release(e.ip))
  return stale
}

/** STATUS: can every range set still hand out an address? */
export function exhausted(store: IpStore, sets: Range[][]): number | undefined {
  const taken = new Set(store.entries().map((e) => e.ip))
  const i = sets.findIndex((set) => {
    for (const c of candidates(set, undefined)) if (!taken.has(c.ip)) return false
    return true
  })
  return i < 0 ? undefined : i
}
