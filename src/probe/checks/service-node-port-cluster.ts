import {servicesNotApplicable} from '../services.js'
import {nodePortPlan, noNodePorts} from './service-node-port.js'
import type {ProbeCheck} from './types.js'

export const serviceNodePortCluster = {
  id: 'service-node-port-cluster',
  section: 'services',
  title: 'NodePort, externalTrafficPolicy Cluster: every node answers, masqueraded to itself',
  plan: nodePortPlan('Cluster'),
  notApplicable: servicesNotApplicable,
  note: (ctx) =>
    noNodePorts(ctx, 'service-node-port-cluster', 'Cluster') ??
    `each external host → every node's NodePort, each node → ${ctx.coverage === 'all-pairs' ? 'every node' : 'itself and the next node'}: ` +
      'any endpoint may answer, on any node; the node that took the connection masquerades it (KUBE-EXT → KUBE-MARK-MASQ), so ' +
      "the endpoint sees that node's address on the way out toward it (cni0's for its own pods) and its answer comes back through it",
  showsSeen: true,
} satisfies ProbeCheck
