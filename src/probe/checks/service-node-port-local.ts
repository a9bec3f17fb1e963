import {servicesNotApplicable} from '../services.js'
import {nodePortPlan, noNodePorts} from './service-node-port.js'
import type {ProbeCheck} from './types.js'

export const serviceNodePortLocal = {
  id: 'service-node-port-local',
  section: 'services',
  title: "NodePort, externalTrafficPolicy Local: only nodes with an endpoint answer, the client's address kept",
  plan: nodePortPlan('Local'),
  notApplicable: servicesNotApplicable,
  note: (ctx) =>
    noNodePorts(ctx, 'service-node-port-local', 'Local') ??
    `each external host → every node's NodePort, each node → ${ctx.coverage === 'all-pairs' ? 'every node' : 'itself and the next node'}: ` +
      "only the node's own endpoints answer (KUBE-SVL), seeing the client's own address (nothing masquerades it); a node " +
      "without one drops it (no reply). A node's connection to its own NodePort is the exception kube-proxy makes: " +
      'cluster-wide and masqueraded (its -m addrtype --src-type LOCAL rules)',
  showsSeen: true,
} satisfies ProbeCheck
