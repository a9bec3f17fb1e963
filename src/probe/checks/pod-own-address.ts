import {planOver, type ProbeCheck} from './types.js'
import {eachPod} from './walks.js'

// A pod reaches its own address through its own lo: with lo down (a runtime that left it to a
// conflist without the loopback plugin) the ping is lost, though every other check passes.
export const podOwnAddress = {
  id: 'pod-own-address',
  section: 'pod-pod',
  title: 'pod → its own address (ping, through its lo)',
  plan: planOver(eachPod, (p, add, {pod}) => add('ping', pod(p), pod(p))),
  // trace follows packets between namespaces; this one never leaves the pod, so say where to look
  note: ({counts}) =>
    (counts('pod-own-address')?.failed ?? 0) > 0
      ? "these packets never leave the pod: the kernel delivers them through the pod's own lo, so look there (ip -n POD link show lo: is it UP?) and at the pod's own firewall"
      : undefined,
} satisfies ProbeCheck
