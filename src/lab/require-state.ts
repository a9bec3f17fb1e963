// The saved state of a lab a command works on, or the error that says why there is none: its own
// module, below status and policy, which both need it.
import {netlabCmd} from '../core/invocation.js'
import {NetlabError, UsageError} from '../core/errors.js'
import {labDirExists, listLabs, readLabState, type LabState} from '../state/store.js'

/**
 * A lab's saved state, for the commands that work on a lab that is up. A damaged one (or a state
 * directory without state.json) is a failure that says what is wrong and that `down` still
 * works; no state directory at all is "no lab named LAB" (exit 2).
 */
export function requireState(lab: string): LabState {
  const r = readLabState(lab)
  if (r.ok) return r.state
  if (labDirExists(lab)) throw new NetlabError(damagedMessage(lab, r.reason))
  const labs = listLabs()
  throw new UsageError(`no lab named ${lab} is up${labs.length ? ` (labs up: ${labs.join(', ')})` : ''}`)
}

function damagedMessage(lab: string, reason: string): string {
  return `lab ${lab}'s saved state is damaged: ${reason}; "${netlabCmd()} down ${lab}" still removes the lab (its marked namespaces and its processes)`
}
