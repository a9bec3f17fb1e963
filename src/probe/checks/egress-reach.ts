import {egressNote} from './egress.js'
import {policyNote} from './policy-note.js'
import {planOver, type ProbeCheck} from './types.js'
import {internetHostPods} from './walks.js'

export const egressReach = {
  id: 'egress-reach',
  section: 'egress',
  title: 'pod → external hosts (ping)',
  plan: planOver(internetHostPods, ([e, p], add, {external, pod}) => add('ping', pod(p), external(e))),
  note: (ctx) => egressNote(ctx) ?? policyNote(ctx, 'egress-reach'),
} satisfies ProbeCheck
