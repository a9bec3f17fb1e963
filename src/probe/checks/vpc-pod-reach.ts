import {vpcReachesPods} from '../../model/types.js'
import {planOver, type ProbeCheck} from './types.js'
import {vpcToPodNotApplicable} from './vpc.js'
import {vpcHostPods} from './walks.js'

export const vpcPodReach = {
  id: 'vpc-pod-reach',
  section: 'vpc',
  title: 'VPC host → pod (ping)',
  plan: planOver(vpcHostPods, ([e, p], add, {model, external, pod}) => {
    if (vpcReachesPods(model)) add('ping', external(e), pod(p))
  }),
  notApplicable: vpcToPodNotApplicable,
} satisfies ProbeCheck
