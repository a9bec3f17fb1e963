import {clusterIpEndpoint, fromPod, servesOf, servicesNotApplicable, toolOf} from '../services.js'
import {planOver, type ProbeCheck} from './types.js'
import {podServices} from './walks.js'

export const serviceClusterIp = {
  id: 'service-cluster-ip',
  section: 'services',
  title: 'pod → ClusterIP: answered by an endpoint, which sees the pod itself (HTTP and UDP echo)',
  plan: planOver(podServices, ([p, s], add, {model, pod}) =>
    add(toolOf(s), pod(p), clusterIpEndpoint(s), s.port.port, {expect: fromPod(model, p, s), serves: servesOf(model, s)}),
  ),
  notApplicable: servicesNotApplicable,
  note: ({probes, coverage}) =>
    !probes.some((p) => p.check === 'service-cluster-ip')
      ? 'no Service has endpoints'
      : `${coverage === 'all-pairs' ? 'every pod' : 'a pod of every node, another for each port'} → every ClusterIP:port: ` +
        "the answer names the endpoint that served it (one of the Service's), and that endpoint saw the pod's own " +
        "address: kube-proxy translates the destination only (DNAT), never a pod's source; a pod that lands on itself is hairpin (below)",
  showsSeen: true,
} satisfies ProbeCheck
