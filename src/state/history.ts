// Which labs were taken down here, so `netlab down LAB` can tell "already down" (safe to
// repeat: exit 0) from a name that never was a lab (a typo: exit 2). One line per lab, the
// latest KEEP; /run is a tmpfs, so it is forgotten at reboot with everything else.
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname} from 'node:path'
import {files} from './paths.js'

const KEEP = 200

function read(): string[] {
  const log = files.downLog() // an unsafe state root is an error, not an empty history
  try {
    return readFileSync(log, 'utf8').split('\n').filter(Boolean)
  } catch {
    return []
  }
}

export function recordDown(lab: string): void {
  const labs = [...read().filter((l) => l !== lab), lab].slice(-KEEP)
  mkdirSync(dirname(files.downLog()), {recursive: true, mode: 0o755}) // whatever the umask: see stateDirProblem
  writeFileSync(files.downLog(), labs.join('\n') + '\n')
}

export function wasDown(lab: string): boolean {
  return read().includes(lab)
}
