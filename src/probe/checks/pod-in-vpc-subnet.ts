import {parseCidr, parseIPv4} from '../../core/ipv4.js'
import type {LabModel} from '../../model/types.js'
import type {ProbeResult, ResultEndpoint, SelfObservation} from '../types.js'
import type {ProbeCheck} from './types.js'

/** Pods' eth0 addresses, read in each pod, against the VPC subnet (the mode gives pods VPC addresses). */
function judgeInVpc(model: LabModel, self: Map<string, SelfObservation>): ProbeResult[] {
  const vpc = parseCidr(model.underlay)
  if (typeof vpc === 'string') throw new Error(`lab ${model.lab}: bad underlay ${model.underlay}`)
  const results: ProbeResult[] = []
  for (const n of model.nodes) {
    for (const pod of n.pods) {
      const s = self.get(pod.name)
      if (!s) continue
      const me: ResultEndpoint = {kind: 'pod', name: pod.name, ip: pod.ip}
      const eth0 = s.eth0 ?? []
      const outside = eth0.filter((ip) => {
        const v = parseIPv4(ip)
        return v === undefined || !vpc.contains(v)
      })
      const problems = !s.eth0
        ? [`eth0 unreadable${s.detail ? ` (${s.detail})` : ''}`]
        : eth0.length === 0
          ? ['eth0 has no IPv4 address']
          : outside.length > 0
            ? [`${outside.join(', ')} is outside the VPC subnet ${model.underlay}`]
            : []
      results.push({
        src: me,
        dst: me,
        expected: `an address in ${model.underlay}`,
        seen: `eth0 ${eth0.join(', ') || '?'}`,
        ok: problems.length === 0,
        ...(problems.length ? {detail: problems.join('; ')} : {}),
      })
    }
  }
  return results
}

export const podInVpcSubnet = {
  id: 'pod-in-vpc-subnet',
  section: 'vpc',
  title: "each pod's eth0 address lies in the VPC subnet (a VPC address)",
  notApplicable: (model) =>
    model.mode.podsInUnderlay
      ? undefined
      : `routing ${model.routing}: pods hold addresses of the pod range ${model.podCIDR}, not of ` + `the VPC subnet`,
  note: ({model}) =>
    `read from each pod's own eth0: the pods' addresses are the VPC's (${model.underlay}), not ` + `a range only the cluster knows`,
  addresses: {
    judge: (model, self) => judgeInVpc(model, self),
    line: (r) =>
      r.ok
        ? `✓ ${r.src.name}: ${r.seen}, in ${r.expected.replace(/^an address in /, '')}`
        : `✗ ${r.src.name}: expected ${r.expected}, but ${r.detail ?? r.seen}`,
  },
} satisfies ProbeCheck
