// Where a lab's state lives: $NETLAB_STATE_DIR/<lab>/ (default /run/netlab/<lab>/).
// /run is a tmpfs: after a reboot the state is gone, and so are the namespaces it describes.
// The directory is trusted with what `down` and rollback run as root, so it must be as private as
// ssh and sudo want their files: owned by root (or whoever runs netlab) and writable by no one else.
import {lstatSync, type Stats} from 'node:fs'
import {join, resolve} from 'node:path'
import {DEFAULT_STATE_ROOT} from '../core/names.js'
import {UsageError} from '../core/errors.js'
import {trustPath} from '../core/trust.js'

type DirStat = Pick<Stats, 'uid' | 'mode' | 'isDirectory' | 'isSymbolicLink'>

/** Why a state directory with these attributes is not to be trusted by `uid`, and the fix; undefined when it is. */
export function stateDirProblem(dir: string, st: DirStat, uid: number): {why: string; fix: string} | undefined {
  if (st.isSymbolicLink()) return {why: 'is a symbolic link', fix: `point NETLAB_STATE_DIR at the directory itself`}
  if (!st.isDirectory()) return {why: 'is not a directory', fix: `remove it, or point NETLAB_STATE_DIR elsewhere`}
  if (st.uid !== 0 && st.uid !== uid) return {why: `is owned by uid ${st.uid}, not by root`, fix: `sudo chown root: ${dir}`}
  const mode = (st.mode & 0o7777).toString(8).padStart(4, '0')
  if (st.mode & 0o022) return {why: `is writable by its group or others (mode ${mode})`, fix: `chmod 700 ${dir}`}
  return undefined
}

/** Directories already found safe in this process (one lstat each, however often the root is asked for). */
const trusted = new Set<string>()

/**
 * A state directory that exists must be safe (stateDirProblem), else a UsageError names it and
 * the fix; a missing one is fine (netlab creates it, 0755 and root's).
 */
function checkStateDir(dir: string): string {
  if (trusted.has(dir)) return dir
  let st: Stats
  try {
    st = lstatSync(dir)
  } catch {
    return dir
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0
  const refuse = (what: string, fix: string) =>
    new UsageError(
      `state directory ${dir}${what}: netlab does not trust it (whoever can write there could make ` +
        `netlab run commands as root); fix: ${fix}`,
    )
  const problem = stateDirProblem(dir, st, uid)
  if (problem) throw refuse(` ${problem.why}`, problem.fix)
  // and every directory above it: whoever can rename one of them can put another state directory in its place
  const above = trustPath(dir, 'dir', uid === 0 ? [0] : [0, uid])
  if (!above.ok && 'why' in above)
    throw refuse(
      `: ${above.path} ${above.why}`,
      above.why.startsWith('is owned') ? `sudo chown root: ${above.path}` : `chmod go-w ${above.path}`,
    )
  trusted.add(dir)
  return dir
}

export function stateRoot(): string {
  return checkStateDir(process.env.NETLAB_STATE_DIR ? resolve(process.env.NETLAB_STATE_DIR) : DEFAULT_STATE_ROOT)
}

export function labDir(lab: string): string {
  return join(stateRoot(), lab)
}

export const files = {
  state: (lab: string) => join(labDir(lab), 'state.json'),
  plan: (lab: string) => join(labDir(lab), 'plan.json'),
  journal: (lab: string) => join(labDir(lab), 'journal.jsonl'),
  pids: (lab: string) => join(labDir(lab), 'pids'),
  /** the topology the lab is now, as its text (comments and all): `netlab topology` prints it, apply replaces it */
  topology: (lab: string) => join(labDir(lab), 'topology.yaml'),
  /** `netlab policy apply`: its plan and journal while it runs (and after it was killed) */
  policyPlan: (lab: string) => join(labDir(lab), 'policy-plan.json'),
  policyJournal: (lab: string) => join(labDir(lab), 'policy-journal.jsonl'),
  /** `netlab apply`: the record that a change of topology is running (or was killed), and its journal */
  applyPlan: (lab: string) => join(labDir(lab), 'apply.json'),
  applyJournal: (lab: string) => join(labDir(lab), 'apply-journal.jsonl'),
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
