import {egressNote} from './egress.js'
import {planOver, type ProbeCheck} from './types.js'
import {internetHostPods} from './walks.js'

export const egressSource = {
  id: 'egress-source',
  section: 'egress',
  title: 'the source address external hosts see (HTTP echo)',
  plan: planOver(internetHostPods, ([e, p], add, {external, pod}) => add('http', pod(p), external(e))),
  note: (ctx) => {
    const none = egressNote(ctx)
    if (none) return none
    const podPod = ctx.counts('no-nat-pod-pod')
    const tail = podPod ? `; pod → pod in this same run: ${podPod.passed} of ${podPod.passed + podPod.failed} not masqueraded` : ''
    return `ipMasq is on: the external host must see the pod's node's underlay address (masquerade)${tail}`
  },
  showsSeen: true,
} satisfies ProbeCheck
