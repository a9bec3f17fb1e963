// Where a lab's state lives: $NETLAB_STATE_DIR/<lab>/ (default /run/netlab/<lab>/).
// /run is a tmpfs: after a reboot the state is gone, and so are the namespaces it describes.
import {join, resolve} from 'node:path'
import {DEFAULT_STATE_ROOT} from '../core/names.js'

export function stateRoot(): string {
  return process.env.NETLAB_STATE_DIR ? resolve(process.env.NETLAB_STATE_DIR) : DEFAULT_STATE_ROOT
}

export function labDir(lab: string): string {
  return join(stateRoot(), lab)
}

export const files = {
  state: (lab: string) => join(labDir(lab), 'state.json'),
  plan: (lab: string) => join(labDir(lab), 'plan.json'),
  journal: (lab: string) => join(labDir(lab), 'journal.jsonl'),
  pids: (lab: string) => join(labDir(lab), 'pids'),
  /** `netlab policy apply`: its plan and journal while it runs (and after it was killed) */
  policyPlan: (lab: string) => join(labDir(lab), 'policy-plan.json'),
  policyJournal: (lab: string) => join(labDir(lab), 'policy-journal.jsonl'),
  /** `netlab break`: the fault injected (its plan, each action with its undo) and its journal, until `netlab fix` */
  fault: (lab: string) => join(labDir(lab), 'fault.json'),
  faultJournal: (lab: string) => join(labDir(lab), 'fault-journal.jsonl'),
  /** beside the state dir, so `down` can remove the dir while holding the lock */
  lock: (lab: string) => join(stateRoot(), `${lab}.lock`),
  /** `netlab probe`: one at a time per lab (see src/host/lock.ts), beside the state dir too */
  probeLock: (lab: string) => join(stateRoot(), `${lab}.probe.lock`),
  /** the labs `down` removed (the latest few), so a second `down` is "already down", not "no such lab" */
  downLog: () => join(stateRoot(), 'down.log'),
}

/** Where `ip netns add` puts its namespace files. */
export const NETNS_DIR = '/run/netns'
