import {VPC_NO_ROUTE_BACK} from '../expect.js'
import {planOver, type ProbeCheck} from './types.js'
import {noVpcHost, podToVpcExpectation} from './vpc.js'
import {vpcHostPods} from './walks.js'

export const podVpcReach = {
  id: 'pod-vpc-reach',
  section: 'vpc',
  title: 'pod → VPC host (ping)',
  plan: planOver(vpcHostPods, ([e, p], add, {external, pod}) => add('ping', pod(p), external(e))),
  notApplicable: noVpcHost,
  // no answer where the VPC host cannot route back to the pod (its HTTP echo says why)
  note: ({probes}) => (podToVpcExpectation(probes)?.reply === false ? VPC_NO_ROUTE_BACK : undefined),
} satisfies ProbeCheck
