import {clusterIpEndpoint, REFUSED, servicesNotApplicable, toolOf} from '../services.js'
import {planOver, type ProbeCheck} from './types.js'
import {servicesWithoutEndpoints} from './walks.js'

const NOTHING: readonly [] = []

export const serviceNoEndpoints = {
  id: 'service-no-endpoints',
  section: 'services',
  title: 'a Service without endpoints: refused at once',
  plan: planOver(servicesWithoutEndpoints, ([c, s], add) =>
    add(toolOf(s), c, clusterIpEndpoint(s), s.port.port, {expect: REFUSED, serves: NOTHING}),
  ),
  notApplicable: servicesNotApplicable,
  note: ({probes}) =>
    !probes.some((p) => p.check === 'service-no-endpoints')
      ? 'every Service has endpoints'
      : 'pods and every node → each ClusterIP:port of a Service no pod serves: kube-proxy REJECTs it in the filter table ' +
        '(ICMP port unreachable), so the client gets ECONNREFUSED at once — not a timeout, which is what a missing rule would give ' +
        "(a node's own datagram meets the rule in its OUTPUT chain: its send fails at once, EPERM)",
} satisfies ProbeCheck
