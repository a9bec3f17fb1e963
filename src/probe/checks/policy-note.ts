// The note of a check whose pairs the policies may deny (the checks of the other sections).
import type {CheckId} from '../types.js'
import type {NoteContext} from './types.js'

/** In a lab with policies that deny some of the check's pairs: those must go unanswered. */
export function policyNote({model, probes}: NoteContext, id: CheckId): string | undefined {
  if (!model.policies || !probes.some((p) => p.check === id && p.policy?.verdict === 'denied')) return undefined
  return 'where the policies allow it; a pair they deny must go unanswered (see Policies below)'
}
