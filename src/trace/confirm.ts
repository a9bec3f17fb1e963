// `netlab trace --confirm`: see the path, not only predict it. One real ping goes from the
// source to the destination (a lab address: nothing leaves the lab), and each hop's interface
// packet counters (`ip -j -s link`) are read before and after, all namespaces in one fan-out
// each time; a hop whose way in counted the packet but whose way out did not is where it stopped.
import {tmpdir} from 'node:os'
import {readInNamespaces} from '../exec/fanout.js'
import type {LabModel} from '../model/types.js'
import {ownerOf} from './hop.js'
import type {Hop, TraceResult} from './types.js'
import {plural} from '../core/plural.js'

/** interface name -> packets received and sent */
export type Counters = Map<string, {rx: number; tx: number}>

export function parseCounters(json: string): Counters {
  const out: Counters = new Map()
  try {
    for (const l of JSON.parse(json) as {ifname: string; stats64?: {rx?: {packets?: number}; tx?: {packets?: number}}}[])
      out.set(l.ifname, {rx: l.stats64?.rx?.packets ?? 0, tx: l.stats64?.tx?.packets ?? 0})
  } catch {
    // unreadable: no counters for this hop
  }
  return out
}

/** "in by cni0: 1 packet, out eth0: 1 packet" — the counters' change at one hop (ARP counts too) */
export function countedText(hop: Hop, before: Counters, after: Counters): string | undefined {
  const delta = (dev: string | undefined, dir: 'rx' | 'tx') =>
    dev && before.has(dev) && after.has(dev) ? after.get(dev)![dir] - before.get(dev)![dir] : undefined
  const parts: string[] = []
  const inn = delta(hop.in, 'rx')
  const out = hop.problem && hop.problem.kind !== 'mtu' ? undefined : delta(hop.out, 'tx')
  const n = (k: number) => plural(k, 'packet')
  if (inn !== undefined) parts.push(`in by ${hop.in}: ${n(inn)}`)
  if (out !== undefined) parts.push(`out ${hop.out}: ${n(out)}`)
  return parts.length ? parts.join(', ') : undefined
}

/** Send one ping along the trace and put each hop's counted packets on it; false when the destination is not the lab's. */
export async function confirmTrace(model: LabModel, t: TraceResult): Promise<boolean> {
  const src = model.members.find((m) => m.name === t.from)
  if (!src || !ownerOf(model, t.packet.dst)) return false
  const netns = [...new Set(t.hops.map((h) => model.members.find((m) => m.name === h.member)!.netns))]
  const opts = {parallel: 4, workDir: tmpdir()}
  const read = async () =>
    (
      await readInNamespaces(
        netns.map((ns) => ({netns: ns, argv: ['ip', '-j', '-s', 'link', 'show']})),
        opts,
      )
    ).map((r) => parseCounters(r.out))
  const before = await read()
  await readInNamespaces([{netns: src.netns, argv: ['ping', '-c', '1', '-W', '1', '-n', t.packet.dst]}], opts)
  const after = await read()
  t.hops.forEach((h) => {
    const i = netns.indexOf(model.members.find((m) => m.name === h.member)!.netns)
    h.counted = countedText(h, before[i], after[i])
  })
  return true
}
