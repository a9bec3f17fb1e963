// Which namespaces belong to a lab when its state is gone: the name says "netlab-<lab>.",
// and the loopback alias written at creation says "netlab:<lab>". Both must match.
import {tmpdir} from 'node:os'
import {NSEXEC, readMarks} from '../exec/fanout.js'
import {labOfNetns, ownerMark} from '../core/names.js'
import {existingNetns} from '../state/store.js'
import {stateRoot} from '../state/paths.js'
import {requirePerl} from '../host/preflight.js'

/**
 * Namespaces named for `lab` (or for any lab, or for the labs it accepts), split into those that carry the lab's mark for
 * this state directory, and those without any netlab mark. Namespaces marked for another state
 * directory belong to labs kept there: they are in neither list.
 */
export async function findLabNetns(lab?: string | ((lab: string) => boolean)): Promise<{marked: string[]; unmarked: string[]}> {
  // a predicate: the labs whose namespaces to look at (`ls`: only labs without a sound state)
  const wanted = typeof lab === 'function' ? lab : (owner: string) => lab === undefined || owner === lab
  const named = [...existingNetns()].filter((ns) => {
    const owner = labOfNetns(ns)
    return owner !== undefined && wanted(owner)
  })
  const marked: string[] = []
  const unmarked: string[] = []
  if (named.length === 0) return {marked, unmarked}
  await requirePerl([NSEXEC]) // only now: `down` of a lab with a plan needs no perl
  // one process reads every namespace's mark (setns + one netlink request each)
  const marks = await readMarks(named, {parallel: 4, workDir: tmpdir()})
  named.forEach((ns, i) => {
    const mark = marks[i]
    if (mark === ownerMark(labOfNetns(ns)!, stateRoot())) marked.push(ns)
    else if (!mark?.startsWith('netlab:')) unmarked.push(ns)
  })
  return {marked: marked.sort(), unmarked: unmarked.sort()}
}
