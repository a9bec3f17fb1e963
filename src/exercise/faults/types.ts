// What a fault module says: the places in a lab where its fault can go, each as one change with
// its undo. The registry (./index.ts) turns them into plans; a new kind of fault is a module here
// and a line there.
import type {Action, Command, Plan} from '../../core/actions.js'
import type {LabModel, Member} from '../../model/types.js'
import type {FaultKind} from './kinds.js'

/** One place a fault can go: the change that injects it, and the commands that put back what was there. */
export interface FaultSite {
  netns: string
  tool: string
  args: string[]
  undo: Command[]
  /** what was done, in words (shown only with --reveal, and by fix) */
  what: string
}

export interface FaultContext {
  model: LabModel
  /** the lab's own plan: a fault spoils something the plan made, so its undo restores exactly that */
  plan: Plan
  /** the lab member an action runs in (undefined: the root namespace, or no member) */
  memberOf(a: Pick<Action, 'netns'>): Member | undefined
  /** the sites of another kind (forwarding goes where routes to pods are) */
  sitesOf(kind: FaultKind): FaultSite[]
}

export interface FaultModule {
  kind: FaultKind
  /** one line: what the fault is (netlab break --list, the fault plan's why) */
  text: string
  /** a random pick leaves it out: probe's small packets pass it, so only trace finds it (name it to get one) */
  namedOnly?: boolean
  /** every place this lab can take the fault, in plan order */
  sites(ctx: FaultContext): FaultSite[]
}

/** The action, run again: the undo of a fault that deleted or changed what the plan made. */
export const restore = (a: Action): Command[] => [{tool: a.tool, netns: a.netns, args: a.args}]
