// One netlab process at a time may change a lab, and one may probe it. A lock is a file created
// with O_EXCL that holds the owner's PID; a lock whose owner is gone (killed, crashed) is taken over.
import {mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync} from 'node:fs'
import {dirname} from 'node:path'
import {NetlabError} from '../cli/errors.js'
import {files} from './paths.js'
import {alive} from '../lab/processes.js'

export interface Lock {
  release(): void
}

/** What the lock is for: changing the lab (up, down, policy apply, break, fix) or probing it. */
export type LockPurpose = 'change' | 'probe'

const HELD: Record<LockPurpose, (lab: string, owner: number) => string> = {
  change: (lab, owner) => `lab ${lab} is being changed by another netlab process (pid ${owner}); wait for it to finish`,
  // two probes of one lab share its echo ports (SO_REUSEPORT): when one ends, the connections
  // queued on its sockets are reset, and the other would count them as failures
  probe: (lab, owner) => `lab ${lab} is being probed by another netlab probe (pid ${owner}); run one probe of a lab at a time`,
}

const lockFile = (lab: string, purpose: LockPurpose) => (purpose === 'probe' ? files.probeLock(lab) : files.lock(lab))

/**
 * The live owner of the lock at `path`, or undefined: no lock, or one whose owner is gone,
 * which is then removed ('released' when it went away while being read).
 */
function liveOwner(path: string): number | 'released' | undefined {
  let owner: number
  try {
    owner = Number(readFileSync(path, 'utf8'))
  } catch {
    return 'released'
  }
  if (Number.isInteger(owner) && owner > 0 && alive(owner)) return owner
  try {
    unlinkSync(path) // stale: its owner died
  } catch {
    // someone else cleaned it first
  }
  return undefined
}

export function acquireLock(lab: string, purpose: LockPurpose = 'change'): Lock {
  const path = lockFile(lab, purpose)
  mkdirSync(dirname(path), {recursive: true})
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644)
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return {
        release() {
          try {
            if (readFileSync(path, 'utf8') === String(process.pid)) unlinkSync(path)
          } catch {
            // already gone
          }
        },
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const owner = liveOwner(path)
      if (typeof owner === 'number') throw new NetlabError(HELD[purpose](lab, owner))
    }
  }
  throw new NetlabError(`could not take the lock for lab ${lab} (${path})`)
}

/** `down`: a lock left by a process that died (a probe killed with SIGKILL) goes with the lab. */
export function removeStaleLock(lab: string, purpose: LockPurpose): void {
  liveOwner(lockFile(lab, purpose))
}
