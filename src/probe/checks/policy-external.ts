import {planOver, type ProbeCheck} from './types.js'
import {policyInternetPods} from './walks.js'

export const policyExternal = {
  id: 'policy-external',
  section: 'policy',
  title: 'external hosts → pods (ping, HTTP echo): the underlay routes pod subnets',
  plan: planOver(policyInternetPods, ([e, p], add, {external, pod}) => {
    add('ping', external(e), pod(p))
    add('http', external(e), pod(p))
  }),
  // internet hosts reach pods only where the underlay routes pod subnets; elsewhere not a word of it
  inReport: (model) => model.mode.podsRoutableFromUnderlay === true,
  note: () => "nothing translates what comes in: an allowed pod sees the external host's own address",
} satisfies ProbeCheck
