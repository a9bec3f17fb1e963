import {planOver, type ProbeCheck} from './types.js'
import {nodeToPod} from './walks.js'

export const nodeOwnPod = {
  id: 'node-own-pod',
  section: 'node-pod',
  title: 'node → its own pods (ping)',
  plan: planOver(nodeToPod, ([n, p], add, {node, pod}) => {
    if (p.node === n.name) add('ping', node(n), pod(p))
  }),
} satisfies ProbeCheck
