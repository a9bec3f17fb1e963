import {parseCidr, parseIPv4} from '../../core/ipv4.js'
import type {LabModel} from '../../model/types.js'
import type {ProbeResult, SelfObservation} from '../types.js'
import {judgeEachPod} from './observed.js'
import type {ProbeCheck} from './types.js'

/** Pods' eth0 addresses, read in each pod, against the VPC subnet (the mode gives pods VPC addresses). */
function judgeInVpc(model: LabModel, self: Map<string, SelfObservation>): ProbeResult[] {
  const vpc = parseCidr(model.underlay)
  if (typeof vpc === 'string') throw new Error(`lab ${model.lab}: bad underlay ${model.underlay}`)
  return judgeEachPod(model, self, (_pod, s) => {
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
    return {expected: `an address in ${model.underlay}`, seen: `eth0 ${eth0.join(', ') || '?'}`, problems}
  })
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
