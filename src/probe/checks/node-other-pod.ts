import {policyNote} from './policy-note.js'
import {planOver, type ProbeCheck} from './types.js'
import {nodeToPod} from './walks.js'

export const nodeOtherPod = {
  id: 'node-other-pod',
  section: 'node-pod',
  title: 'node → pods on other nodes (ping)',
  plan: planOver(nodeToPod, ([n, p], add, {node, pod}) => {
    if (p.node !== n.name) add('ping', node(n), pod(p))
  }),
  note: (ctx) => policyNote(ctx, 'node-other-pod'),
} satisfies ProbeCheck
