import {planOver, type ProbeCheck} from './types.js'
import {policyPairs, policyServices} from './walks.js'

export const policyPorts = {
  id: 'policy-ports',
  section: 'policy',
  title: 'the ports the policies name and the pods serve, TCP and UDP (HTTP and UDP echo)',
  // service by service, every pair of the other sections that can be answered
  plan: planOver(policyServices, ([tool, port], add, ctx) => {
    for (const [s, d] of ctx.items(policyPairs)) add(tool, s, d, port)
  }),
  note: ({probes}) =>
    !probes.some((p) => p.check === 'policy-ports')
      ? 'no policy names a TCP or UDP port, and no pod serves one'
      : 'every pair of the other sections again, on each port a policy names or a pod serves (its ports:): ' +
        'the echo service listens on all of them, in every pod and external host',
  showsSeen: true,
  perService: true,
} satisfies ProbeCheck
