// An endpoint that points to a pod that is gone: a DNAT to an address of the endpoint's node's
// subnet that no pod holds, first in the endpoint's KUBE-SEP chain on one node — what a node's
// rules say when kube-proxy has not caught up with a pod's deletion. One connection in n from
// that node's pods goes nowhere.
import {formatIPv4, parseCidr, parseIPv4, type Cidr} from '../../core/ipv4.js'
import type {LabModel} from '../../model/types.js'
import {optionValue, plannedRules} from './kube-proxy-rules.js'
import type {FaultModule} from './types.js'

/** The highest address of the pod's node subnet that no member of the lab holds. */
function goneAddress(model: LabModel, podIp: string): string | undefined {
  const node = model.nodes.find((n) => n.pods.some((p) => p.ip === podIp))
  const sub = node && (parseCidr(node.podCIDR) as Cidr)
  if (!sub) return undefined
  const held = new Set(model.members.flatMap((m) => m.ips))
  for (let ip = sub.last - 1; ip > sub.base + 1; ip--) if (!held.has(formatIPv4(ip))) return formatIPv4(ip)
  return undefined
}

export const staleEndpoint: FaultModule = {
  kind: 'stale-endpoint',
  text: 'a Service endpoint that points to a pod that is gone (a DNAT to an address nobody holds)',
  sites: ({model, plan}) =>
    plannedRules(model, plan).flatMap(({node, rules}) =>
      node.pods.length === 0
        ? []
        : rules.flatMap((r) => {
            const to = optionValue(r.spec, '--to-destination')
            if (r.table !== 'nat' || !r.chain.startsWith('KUBE-SEP-') || !to) return []
            const [ip, port] = to.split(':')
            const gone = parseIPv4(ip) === undefined ? undefined : goneAddress(model, ip)
            if (!gone) return []
            const rule = (verb: string[]) => [
              '-t',
              'nat',
              ...verb,
              '-p',
              optionValue(r.spec, '-p') ?? 'tcp',
              '-j',
              'DNAT',
              '--to-destination',
              `${gone}:${port}`,
            ]
            return [
              {
                netns: node.netns,
                tool: 'iptables',
                args: rule(['-I', r.chain, '1']),
                undo: [{tool: 'iptables', netns: node.netns, args: rule(['-D', r.chain])}],
                what: `on ${node.name}, ${r.chain} (endpoint ${to} of ${optionValue(r.spec, '--comment') ?? 'a Service'}) now DNATs to ${gone}:${port}, an address no pod holds`,
              },
            ]
          }),
    ),
}
