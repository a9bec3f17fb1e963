// One netlab process at a time may change a lab. The lock is a file created with O_EXCL that
// holds the owner's PID; a lock whose owner is gone (killed, crashed) is taken over.
import {mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync} from 'node:fs'
import {dirname} from 'node:path'
import {NetlabError} from '../cli/errors.js'
import {files} from './paths.js'
import {alive} from '../lab/processes.js'

export interface Lock {
  release(): void
}

export function acquireLock(lab: string): Lock {
  const path = files.lock(lab)
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
      let owner: number
      try {
        owner = Number(readFileSync(path, 'utf8'))
      } catch {
        continue // released meanwhile
      }
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
        throw new NetlabError(`lab ${lab} is being changed by another netlab process (pid ${owner}); wait for it to finish`)
      }
      try {
        unlinkSync(path) // stale: its owner died
      } catch {
        // someone else cleaned it first
      }
    }
  }
  throw new NetlabError(`could not take the lock for lab ${lab} (${path})`)
}
