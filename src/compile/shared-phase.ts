// A phase every routing mode has, in the mode's own words where it has them.
import type {Phase} from '../core/actions.js'
import type {PlanContext, RoutingModeModule} from '../model/types.js'

/** The shared phases a mode may retitle or explain anew (RoutingModeModule.phases). */
export type SharedPhaseId = keyof NonNullable<RoutingModeModule['phases']>

/** Start a shared phase: its default title and why, unless the lab's mode has its own. */
export function sharedPhase({model, b}: PlanContext, p: Phase & {id: SharedPhaseId}): void {
  b.phase({...p, ...model.mode.phases?.[p.id]})
}
