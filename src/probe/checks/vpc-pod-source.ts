import {vpcReachesPods} from '../../model/types.js'
import {planOver, type ProbeCheck} from './types.js'
import {vpcToPodNotApplicable} from './vpc.js'
import {vpcHostPods} from './walks.js'

export const vpcPodSource = {
  id: 'vpc-pod-source',
  section: 'vpc',
  title: "VPC host → pod: the pod sees the VPC host's own address (HTTP echo)",
  plan: planOver(vpcHostPods, ([e, p], add, {model, external, pod}) => {
    if (vpcReachesPods(model)) add('http', external(e), pod(p))
  }),
  notApplicable: vpcToPodNotApplicable,
  note: () => "the VPC delivers the pod's address, and no node translates what comes in: the pod must " + "see the VPC host's own address",
  showsSeen: true,
} satisfies ProbeCheck
