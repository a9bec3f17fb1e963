import {policyNote} from './policy-note.js'
import {planOver, type ProbeCheck} from './types.js'
import {podToPod} from './walks.js'

export const podPodOtherNode = {
  id: 'pod-pod-other-node',
  section: 'pod-pod',
  title: 'pod → pod on other nodes (ping)',
  plan: planOver(podToPod, ([s, d], add, {pod}) => {
    if (s.node !== d.node) add('ping', pod(s), pod(d))
  }),
  note: (ctx) => policyNote(ctx, 'pod-pod-other-node'),
} satisfies ProbeCheck
