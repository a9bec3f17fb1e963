// The lab's topology as text: what `up` read (and each apply since), comments and layout as the
// user wrote them, so `netlab topology` prints what to edit and the shortcuts (pod add, node
// delete…) edit it in place. state.json keeps the path it came from; this is what the lab is now.
import {readFileSync} from 'node:fs'
import {files} from './paths.js'
import {writeAtomic} from './store.js'

export function saveTopologySource(lab: string, text: string): void {
  writeAtomic(files.topology(lab), text)
}

/** The saved text; undefined when there is none (a lab brought up by a netlab before this file existed). */
export function readTopologySource(lab: string): string | undefined {
  try {
    return readFileSync(files.topology(lab), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}
