// cluster.bgp: the AS and session layout of routing bgp (Calico's BGPConfiguration: asNumber,
// nodeToNodeMeshEnabled off with route reflectors). Shapes only here; names and the mode's other
// rules are checked by the mode (src/modes/bgp.ts validate).
import {isScalar, isSeq, type Node as YamlNode} from 'yaml'
import type {BgpSpec} from './types.js'
import type {YamlWalker as Walker} from './walker.js'

/** Calico's default AS for the cluster (a private AS, RFC 6996) */
export const DEFAULT_AS = 64512
/** the encapsulations cluster.bgp.encapsulation takes */
const ENCAPSULATIONS = ['none']

export function parseBgp(w: Walker, entry: {key: YamlNode; value: YamlNode | null}): BgpSpec {
  const m = w.map(entry.value, 'cluster.bgp', ['asNumber', 'routeReflectors', 'encapsulation'])
  const out: BgpSpec = {pos: w.pos(entry.value ?? entry.key)}
  const as = m.get('asNumber')
  if (as) {
    const v = as.value
    // 4-byte AS numbers (RFC 6793), 0 and 4294967295 reserved
    if (!isScalar(v) || typeof v.value !== 'number' || !Number.isInteger(v.value) || v.value < 1 || v.value > 4294967294)
      w.fail(v ?? as.key, 'cluster.bgp.asNumber must be a whole number from 1 to 4294967294 (an AS number)')
    out.asNumber = {value: v.value as number, pos: w.pos(v)}
  }
  const rr = m.get('routeReflectors')
  if (rr) {
    const v = rr.value
    if (!isSeq(v)) w.fail(v ?? rr.key, 'cluster.bgp.routeReflectors must be a list of node names')
    out.routeReflectors = v.items.map((item, k) =>
      w.str({key: item as YamlNode, value: item as YamlNode}, `cluster.bgp.routeReflectors[${k}]`),
    )
  }
  const enc = m.get('encapsulation')
  if (enc) {
    const e = w.str(enc, 'cluster.bgp.encapsulation')
    if (e.value === 'vxlan' || e.value === 'ipip')
      w.fail(
        enc.value,
        `cluster.bgp.encapsulation: ${e.value} is not built: ` +
          (e.value === 'ipip'
            ? "this kernel has no IPIP devices, so Calico's IPIP mode cannot be made here"
            : "routing vxlan already shows the overlay (flannel.1), and Calico's VXLAN mode needs no BGP at all") +
          ` (supported: ${ENCAPSULATIONS.join(', ')})`,
      )
    if (!ENCAPSULATIONS.includes(e.value))
      w.fail(enc.value, `cluster.bgp.encapsulation: unknown "${e.value}" (supported: ${ENCAPSULATIONS.join(', ')})`)
    out.encapsulation = e
  }
  return out
}
