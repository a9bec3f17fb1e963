// What the egress section's checks share: their note when there is nothing to reach, or when the
// outside is not meant to answer.
import {NO_ROUTE_BACK, ROUTED_BACK} from '../expect.js'
import type {NoteContext} from './types.js'

/** No internet host, or ipMasq off (then the answer depends on the underlay); undefined otherwise. */
export function egressNote({model}: NoteContext): string | undefined {
  if (!model.external.some((e) => !e.vpc))
    return model.external.length === 0
      ? 'the topology has no external hosts'
      : 'the topology has no external host outside the VPC (the internet)'
  if (!model.ipMasq) return model.mode.podsRoutableFromUnderlay ? ROUTED_BACK : NO_ROUTE_BACK
  return undefined
}
