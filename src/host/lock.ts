// One netlab process at a time may change a lab, and one may probe it. A lock is a file holding
// its owner's PID and start time; it appears with its content at once (written aside, then
// linked into place), and a lock whose owner is gone (killed, crashed, or its PID now someone
// else's) is taken over.
import {linkSync, mkdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync} from 'node:fs'
import {dirname} from 'node:path'
import {NetlabError} from '../core/errors.js'
import {files} from '../state/paths.js'
import {finished, procStat} from './processes.js'

export interface Lock {
  release(): void
}

/** What the lock is for: changing the lab (up, down, policy apply, break, fix) or probing it. */
export type LockPurpose = 'change' | 'probe'

const HELD: Record<LockPurpose, (lab: string, owner: number) => string> = {
  change: (lab, owner) => `lab ${lab} is being changed by another netlab process (pid ${owner}); wait for it to finish`,
  // two probes of one lab at once would compete for its namespaces' conntrack tables and the
  // machine's cores: one's load would fail the other's checks that go unanswered in time
  probe: (lab, owner) => `lab ${lab} is being probed by another netlab probe (pid ${owner}); run one probe of a lab at a time`,
}

const lockFile = (lab: string, purpose: LockPurpose) => (purpose === 'probe' ? files.probeLock(lab) : files.lock(lab))

/** "PID START [NOTE]": the start time tells the owner from a process that got its PID later; the note, what it does. */
function ownerLine(note?: string): string {
  return `${process.pid} ${procStat(process.pid)?.start ?? ''} ${note ?? ''}`.trim()
}

/** The owner a lock's content names, if that very process still runs. */
function liveOwner(content: string): number | undefined {
  const [pid, start] = content.trim().split(' ').map(Number)
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  const st = procStat(pid)
  if (finished(st)) return undefined
  return start === undefined || st!.start === start ? pid : undefined
}

/** Create the lock with its content, or false when one exists. */
function create(path: string, note?: string): boolean {
  const aside = `${path}.${process.pid}.new`
  writeFileSync(aside, ownerLine(note))
  try {
    linkSync(aside, path)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    rmSync(aside, {force: true})
  }
}

/**
 * The live owner of the lock at `path`; a dead owner's lock is moved aside and removed. Moving
 * (rename) lets one of two takers win; one that moved a lock taken meanwhile puts it back.
 */
function ownerOrClear(path: string): number | undefined {
  let content: string
  try {
    content = readFileSync(path, 'utf8')
  } catch {
    return undefined // released meanwhile
  }
  const owner = liveOwner(content)
  if (owner !== undefined) return owner
  const aside = `${path}.${process.pid}.stale`
  try {
    renameSync(path, aside)
  } catch {
    return undefined // another taker moved it first
  }
  try {
    if (readFileSync(aside, 'utf8') !== content) linkSync(aside, path) // not the stale one: someone's new lock
  } catch {
    // a lock exists again: its owner's
  }
  rmSync(aside, {force: true})
  return undefined
}

/** `note`: what the owner does, for others to read while it holds the lock (lockNote: 'down'). */
export function acquireLock(lab: string, purpose: LockPurpose = 'change', note?: string): Lock {
  const path = lockFile(lab, purpose)
  mkdirSync(dirname(path), {recursive: true, mode: 0o755}) // whatever the umask: see stateDirProblem
  for (let attempt = 0; attempt < 5; attempt++) {
    if (create(path, note)) {
      const mine = ownerLine(note)
      return {
        release() {
          try {
            if (readFileSync(path, 'utf8') === mine) unlinkSync(path)
          } catch {
            // already gone
          }
        },
      }
    }
    const owner = ownerOrClear(path)
    if (owner !== undefined) throw new NetlabError(HELD[purpose](lab, owner))
  }
  throw new NetlabError(`could not take the lock for lab ${lab} (${path})`)
}

/** The note of the lab's change lock, while its owner lives ('down': the lab is being taken down). */
export function lockNote(lab: string): string | undefined {
  let content: string
  try {
    content = readFileSync(files.lock(lab), 'utf8')
  } catch {
    return undefined
  }
  return liveOwner(content) === undefined ? undefined : content.trim().split(' ')[2]
}

/** The live process that holds the lab's lock, if any (it reads only: a stale lock stays for its next taker). */
export function lockHolder(lab: string, purpose: LockPurpose = 'change'): number | undefined {
  try {
    return liveOwner(readFileSync(lockFile(lab, purpose), 'utf8'))
  } catch {
    return undefined
  }
}

/** `down`: a lock left by a process that died (a probe killed with SIGKILL) goes with the lab. */
export function removeStaleLock(lab: string, purpose: LockPurpose): void {
  ownerOrClear(lockFile(lab, purpose))
}
