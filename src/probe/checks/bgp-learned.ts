// routing bgp's own check: every node's route to another node's pods is BGP's (proto bird: BIRD
// learned it and wrote it), and none is written statically. Judged node by node from each node's
// route table, read by the probe (SelfObservation.routes), not from packets: a path can work over a
// static route too, which is exactly what this mode must not have.
import {parseCidr} from '../../core/ipv4.js'
import type {LabModel} from '../../model/types.js'
import type {ProbeResult, SelfObservation} from '../types.js'
import type {ProbeCheck} from './types.js'

/** Does a route to `dst` (as ip prints it: an address, a CIDR, default) lead into `block`? */
const within = (block: string, dst: string) => {
  const [b, d] = [parseCidr(block), parseCidr(dst === 'default' ? '0.0.0.0/0' : dst.includes('/') ? dst : `${dst}/32`)]
  return typeof b !== 'string' && typeof d !== 'string' && b.covers(d)
}

function judgeLearned(model: LabModel, self: Map<string, SelfObservation>): ProbeResult[] {
  return model.nodes.flatMap((n) => {
    const s = self.get(n.name)
    if (!s) return []
    const me = {kind: 'node' as const, name: n.name, ip: n.ip}
    const others = model.nodes.filter((m) => m !== n)
    const routes = s.routes ?? []
    const problems: string[] = s.routes ? [] : [`its routes unreadable${s.detail ? ` (${s.detail})` : ''}`]
    for (const m of others) {
      const toBlock = routes.filter((r) => within(m.podCIDR, r.dst))
      const learned = toBlock.find((r) => r.dst === m.podCIDR && r.protocol === 'bird')
      if (s.routes && !learned) problems.push(`no route to ${m.name}'s block ${m.podCIDR} learned by BGP (withdrawn, or never announced)`)
      for (const r of toBlock.filter((x) => x.protocol !== 'bird'))
        problems.push(`${r.dst} (to ${m.name}'s pods) is written statically (proto ${r.protocol ?? 'boot'}), not learned`)
    }
    const seen = `${routes.filter((r) => r.protocol === 'bird').length} routes proto bird`
    const expected = `${others.length} blocks learned by BGP (proto bird), none written`
    return [{src: me, dst: me, expected, seen, ok: problems.length === 0, ...(problems.length ? {detail: problems.join('; ')} : {})}]
  })
}

export const bgpLearned = {
  id: 'bgp-learned',
  section: 'pod-pod',
  title: "every node's route to another node's pods was learned by BGP (proto bird), none written",
  notApplicable: (model) => (model.bgp ? undefined : `routing ${model.routing}: no BGP, netlab writes the routes between nodes`),
  // only bgp labs list it: in every other mode the routes are netlab's by design
  inReport: (model) => model.bgp !== undefined,
  note: () => "read from each node's route table: BIRD writes what it learns as proto bird; netlab writes none of them",
  addresses: {
    judge: (model, self) => judgeLearned(model, self),
    line: (r) => (r.ok ? `✓ ${r.src.name}: ${r.seen}` : `✗ ${r.src.name}: ${r.detail ?? r.seen}`),
  },
} satisfies ProbeCheck
