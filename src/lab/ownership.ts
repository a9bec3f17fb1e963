// Which namespaces belong to a lab when its state is gone: the name says "netlab-<lab>.",
// and the loopback alias written at creation says "netlab:<lab>". Both must match.
import {pool} from '../exec/executor.js'
import {run} from '../exec/runner.js'
import {labOfNetns, ownerMark} from '../model/names.js'
import {existingNetns} from '../state/store.js'
import {stateRoot} from '../state/paths.js'

export async function ownerOf(netns: string): Promise<string | undefined> {
  const r = await run('ip', ['-n', netns, '-j', 'link', 'show', 'dev', 'lo'])
  if (r.exitCode !== 0) return undefined
  try {
    const [lo] = JSON.parse(r.stdout) as {ifalias?: string}[]
    return lo?.ifalias
  } catch {
    return undefined
  }
}

/**
 * Namespaces named for `lab` (or for any lab), split into those that carry the lab's mark for
 * this state directory, and those without any netlab mark. Namespaces marked for another state
 * directory belong to labs kept there: they are in neither list.
 */
export async function findLabNetns(lab?: string): Promise<{marked: string[]; unmarked: string[]}> {
  const named = [...existingNetns()].filter((ns) => {
    const owner = labOfNetns(ns)
    return owner !== undefined && (lab === undefined || owner === lab)
  })
  const marked: string[] = []
  const unmarked: string[] = []
  await pool(named, 8, async (ns) => {
    const mark = await ownerOf(ns)
    if (mark === ownerMark(labOfNetns(ns)!, stateRoot())) marked.push(ns)
    else if (!mark?.startsWith('netlab:')) unmarked.push(ns)
  })
  return {marked: marked.sort(), unmarked: unmarked.sort()}
}
