// A plan is the lab as data: an ordered list of actions, each saying what runs, where, why,
// and how it is undone. The same plan is printed, exported as a shell script, batched,
// journaled and rolled back; nothing else decides what netlab does to the machine.

export type Tool = 'ip' | 'sysctl' | 'iptables'

/**
 * How an action is undone.
 * - command: run this command (only namespace creation has one: `ip netns del`).
 * - netns: the action only changed the inside of this lab namespace, so deleting the
 *   namespace undoes it exactly, whatever else happened in there.
 */
export type Undo = {kind: 'command'; tool: 'ip'; netns: null; args: string[]} | {kind: 'netns'; netns: string}

export interface Action {
  /** position in the plan, from 0 */
  id: number
  phase: string
  /** the namespace the command runs in; null = started from the root namespace, acting only on lab namespaces */
  netns: string | null
  tool: Tool
  args: string[]
  why: string
  /** set on the action that creates a namespace: the lab owns it from then on */
  creates?: string
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
