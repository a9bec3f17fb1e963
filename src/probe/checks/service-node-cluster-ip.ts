import {clusterIpEndpoint, endpointPods, servesOf, servicesNotApplicable, toolOf, viaNode} from '../services.js'
import {planOver, type ProbeCheck} from './types.js'
import {nodeServices} from './walks.js'

export const serviceNodeClusterIp = {
  id: 'service-node-cluster-ip',
  section: 'services',
  title: 'node → ClusterIP: answered by an endpoint, masqueraded to the node (HTTP and UDP echo)',
  plan: planOver(nodeServices, ([n, s], add, {model, node}) =>
    add(toolOf(s), node(n), clusterIpEndpoint(s), s.port.port, {
      expect: viaNode(model, n, endpointPods(model, s)),
      serves: servesOf(model, s),
    }),
  ),
  notApplicable: servicesNotApplicable,
  note: ({probes}) =>
    !probes.some((p) => p.check === 'service-node-cluster-ip')
      ? 'no Service has endpoints'
      : "every node → every ClusterIP:port. A node's own connection leaves from its underlay address (the service range's " +
        "route is via eth0), which is outside the pods' range, so kube-proxy masquerades it (! -s POD-RANGE -j KUBE-MARK-MASQ): " +
        "the endpoint sees the node's address on the way out toward it — cni0's for the node's own pods, the one its own " +
        'connections to a pod on another node leave from otherwise',
  showsSeen: true,
} satisfies ProbeCheck
