import {policyNote} from './policy-note.js'
import {planOver, type ProbeCheck} from './types.js'
import {podToPod} from './walks.js'

export const noNatPodPod = {
  id: 'no-nat-pod-pod',
  section: 'no-nat',
  title: "pod → pod: the receiver sees the source pod's own address (HTTP echo)",
  udpTitle: "pod → pod: the receiver sees the source pod's own address (UDP echo, --udp)",
  plan: planOver(podToPod, ([s, d], add, {pod, echo}) => add(echo, pod(s), pod(d))),
  note: (ctx) =>
    policyNote(ctx, 'no-nat-pod-pod') ??
    "a masquerade rule on pod-to-pod traffic (the bridge plugin's ipMasq mistake) still lets " + 'ping through; this check does not',
  showsSeen: true,
} satisfies ProbeCheck
