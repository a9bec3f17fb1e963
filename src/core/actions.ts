// A plan is the lab as data: an ordered list of actions, each saying what runs, where, why,
// and how it is undone. The same plan is printed, exported as a shell script, batched,
// journaled and rolled back; nothing else decides what netlab does to the machine.

/** A tool netlab drives: a name in the driver registry (src/tools), e.g. ip, sysctl, iptables. */
export type Tool = string

/** One command: a tool, where it runs, its arguments, and optionally its environment and input. */
export interface Command {
  tool: Tool
  /** the namespace the command runs in; null = started from the root namespace, acting only on lab namespaces */
  netns: string | null
  args: string[]
  /** extra environment variables (a CNI plugin reads its command from CNI_COMMAND, say) */
  env?: Record<string, string>
  /** standard input (a CNI plugin reads its network configuration there) */
  stdin?: string
  /** a CNI plugin call (tool cni): what the runtime adds to the configuration and keeps of the result */
  cni?: CniCall
}

/**
 * How the runtime threads results through a chain (the CNI spec's "prevResult"): the first
 * plugin of an ADD gets none, the next ones the previous plugin's result; CHECK and DEL get the
 * cached result of the ADD. The last ADD of a chain caches its result; the last DEL (of the
 * first plugin) removes it.
 */
interface CniCall {
  plugin: string
  /** the pod of an attachment's call (ADD, DEL, CHECK) */
  pod?: string
  /** the node of a network's call (STATUS, GC: CNI 1.1), which has no container */
  node?: string
  prevResult: 'none' | 'previous' | 'cached'
  /** the result cache file (libcni's layout: <cache dir>/results/<network>-<container id>-<ifname>); none for STATUS and GC */
  cache?: string
  /** ADD: cache this call's result (the chain's last plugin); DEL: remove the cache after it (the chain's first plugin) */
  last?: boolean
}

/**
 * How an action is undone.
 * - commands: run these, in order (namespace creation: `ip netns del`; a CNI ADD would be
 *   undone by its DEL, which must run before the namespace goes).
 * - netns: the action only changed the inside of this lab namespace, so deleting the
 *   namespace undoes it exactly, whatever else happened in there.
 */
export type Undo = {kind: 'commands'; commands: Command[]} | {kind: 'netns'; netns: string}

export interface Action extends Command {
  /** position in the plan, from 0 */
  id: number
  phase: string
  why: string
  /** set on the action that creates a namespace: the lab owns it from then on */
  creates?: string
  /** undo it even when it failed: a CNI ADD that fails may have left state, which its DEL removes (the spec asks runtimes to call DEL then) */
  undoFailed?: boolean
  undo: Undo
}

/**
 * Phase scope tells the executor what an action may depend on:
 * - lab: anything earlier in the plan (the phase waits for every earlier action);
 * - netns: only earlier actions in the same namespace, and earlier lab-scoped phases;
 *   consecutive netns-scoped phases run as one batch per namespace.
 */
export interface Phase {
  id: string
  title: string
  why: string
  scope: 'lab' | 'netns'
  /** lab-scoped phases only: its actions do not depend on each other, so they may run split over several processes */
  independent?: boolean
}

export interface Plan {
  lab: string
  phases: Phase[]
  actions: Action[]
}

/**
 * What undoing an action needs of it (rollback): a whole Action is one. A step that creates a
 * namespace may say which step marks it as the lab's (plan.json keeps it: the marking step
 * itself is not kept there), so rollback can tell a namespace stopped before its mark from one
 * that lost it.
 */
export type UndoStep = Pick<Action, 'id' | 'why' | 'creates' | 'undo' | 'undoFailed'> & {markedBy?: number}

/** A plan as far as undoing it goes: what a lab's state keeps (src/state/store.ts). */
export interface UndoPlan {
  lab: string
  actions: UndoStep[]
}
