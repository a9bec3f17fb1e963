import {policyNote} from './policy-note.js'
import {planOver, type ProbeCheck} from './types.js'
import {nodeToPodSource} from './walks.js'

export const noNatNodePod = {
  id: 'no-nat-node-pod',
  section: 'no-nat',
  title: "node → pod: the pod sees the node's address on the path: cni0 for its own pods, the " + "route's device for others (HTTP echo)",
  udpTitle:
    "node → pod: the pod sees the node's address on the path: cni0 for its own pods, the route's device for others (UDP echo, --udp)",
  plan: planOver(nodeToPodSource, ([n, p], add, {node, pod, echo}) => add(echo, node(n), pod(p))),
  note: (ctx) => policyNote(ctx, 'no-nat-node-pod'),
  showsSeen: true,
} satisfies ProbeCheck
