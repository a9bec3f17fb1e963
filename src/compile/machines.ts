// The first phases of a plan: make the machines. Every member of the lab is a namespace, and
// every namespace is IPv4-only before any interface is made in it.
import {allNetns, type PlanContext} from '../model/types.js'

/** namespaces phase: one per member, in the model's order. */
export function namespacesPhase({model, b}: PlanContext): void {
  b.phase({
    id: 'namespaces',
    title: 'Create the network namespaces',
    why:
      'Each machine of the lab is a network namespace: its own interfaces, routes and firewall. ' +
      'The fabric is the switch joining the nodes; every node and every pod gets one of its own, ' +
      'exactly like a container runtime creates one per pod before calling CNI.',
    scope: 'lab',
    independent: true,
  })
  for (const m of model.members) b.createNetns(m.netns, m.role)
}

/** ipv4-only phase: no IPv6 on any interface made from now on. */
export function ipv4OnlyPhase({model, b}: PlanContext): void {
  b.phase({
    id: 'ipv4-only',
    title: 'Make every namespace IPv4-only',
    why:
      "The lab is IPv4, like most clusters' pod networks. With IPv6 off for every interface " +
      'created from now on, none of them sends router solicitations or multicast reports, and ' +
      "the lab stays out of the kernel's IPv6 neighbour table, which the whole machine shares.",
    scope: 'netns',
  })
  for (const ns of allNetns(model))
    b.inNetns(ns, 'sysctl', ['net.ipv6.conf.default.disable_ipv6=1'], 'interfaces created in this namespace get no IPv6')
}
