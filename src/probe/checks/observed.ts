// The checks judged from what each pod reported of itself (its eth0, read inside it), one result
// per pod: the loop and the result's shape in one place.
import type {LabModel, PodModel} from '../../model/types.js'
import type {ProbeResult, SelfObservation} from '../types.js'

/** What one pod's observation says: what was expected, what was seen, and what is wrong (none: it passes). */
interface PodVerdict {
  expected: string
  seen: string
  problems: string[]
}

/** A result for each pod that reported itself, judged by `judge`; pods without a report are left out. */
export function judgeEachPod(
  model: LabModel,
  self: Map<string, SelfObservation>,
  judge: (pod: PodModel, s: SelfObservation) => PodVerdict,
): ProbeResult[] {
  return model.nodes.flatMap((n) =>
    n.pods.flatMap((pod) => {
      const s = self.get(pod.name)
      if (!s) return []
      const {expected, seen, problems} = judge(pod, s)
      const me = {kind: 'pod' as const, name: pod.name, ip: pod.ip}
      return [{src: me, dst: me, expected, seen, ok: problems.length === 0, ...(problems.length ? {detail: problems.join('; ')} : {})}]
    }),
  )
}
