import {VPC_NO_ROUTE_BACK} from '../expect.js'
import {planOver, type ProbeCheck} from './types.js'
import {noVpcHost, podToVpcExpectation} from './vpc.js'
import {vpcHostPods} from './walks.js'

export const podVpcSource = {
  id: 'pod-vpc-source',
  section: 'vpc',
  title: 'pod → VPC host: the source address the VPC host sees (HTTP echo)',
  plan: planOver(vpcHostPods, ([e, p], add, {external, pod}) => add('http', pod(p), external(e))),
  notApplicable: noVpcHost,
  note: ({model, probes}) => {
    const expected = podToVpcExpectation(probes)
    if (!expected) return undefined
    if (!expected.reply) return VPC_NO_ROUTE_BACK
    return probes.some((p) => p.check === 'pod-vpc-source' && p.expect.reply && p.expect.seen === p.src.ip)
      ? `routing ${model.routing}: nothing translates a pod's address inside the VPC; the VPC host ` + `must see the pod's own address`
      : `routing ${model.routing}, ipMasq on: the node masquerades everything that leaves ` +
          `${model.podCIDR}, VPC hosts included; the VPC host must see the pod's node's address`
  },
  showsSeen: true,
} satisfies ProbeCheck
