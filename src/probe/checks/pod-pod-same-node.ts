import {policyNote} from './policy-note.js'
import {planOver, type ProbeCheck} from './types.js'
import {podToPod} from './walks.js'

export const podPodSameNode = {
  id: 'pod-pod-same-node',
  section: 'pod-pod',
  title: 'pod → pod on the same node (ping)',
  plan: planOver(podToPod, ([s, d], add, {pod}) => {
    if (s.node === d.node) add('ping', pod(s), pod(d))
  }),
  note: (ctx) =>
    policyNote(ctx, 'pod-pod-same-node') ??
    (ctx.probes.length > 0 && !ctx.probes.some((p) => p.check === 'pod-pod-same-node') ? 'no node has two pods' : undefined),
} satisfies ProbeCheck
