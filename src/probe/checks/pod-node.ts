import {policyNote} from './policy-note.js'
import {planOver, type ProbeCheck} from './types.js'
import {podToNode} from './walks.js'

export const podNode = {
  id: 'pod-node',
  section: 'node-pod',
  title: 'pod → nodes (ping)',
  plan: planOver(podToNode, ([p, n], add, {node, pod}) => add('ping', pod(p), node(n))),
  note: (ctx) => policyNote(ctx, 'pod-node'),
} satisfies ProbeCheck
