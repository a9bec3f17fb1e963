// `netlab topology` and the shortcuts (pod add|delete, node add|delete): the lab's topology as it
// is now (the text up saved, and each apply since), and an edit of it applied as `netlab apply`
// applies a file. The edits themselves are pure: src/topology/edit.ts.
import {parse} from 'yaml'
import {NetlabError} from '../core/errors.js'
import {netlabCmd} from '../core/invocation.js'
import {readTopologySource} from '../state/topology-source.js'
import {requireState} from './require-state.js'
import {resolveLab} from './status.js'
import {applyTopology, type ApplyOptions, type ApplyResult} from './apply.js'

export interface LabTopology {
  lab: string
  /** the file `up` read it from (it may have changed since, or be gone) */
  file: string
  /** the topology as it is now: what to edit for `netlab apply` */
  yaml: string
}

/** What error positions name an edit's text by (it has no file). */
const sourceName = (lab: string) => `<lab ${lab} topology>`

/** The lab's topology as it is now; a lab brought up by a netlab that kept none says so (exit 1). */
export function labTopology(labArg: string | undefined, verb: string): LabTopology {
  const lab = resolveLab(labArg, verb)
  const state = requireState(lab)
  let yaml: string | undefined
  try {
    yaml = readTopologySource(lab)
  } catch (error) {
    throw new NetlabError(`lab ${lab}'s saved topology cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`)
  }
  if (yaml === undefined)
    throw new NetlabError(
      `lab ${lab} was brought up by an older netlab, which kept no copy of its topology: it was built from ` +
        `${state.topology}; edit that file and run "${netlabCmd()} apply ${state.topology}"`,
    )
  return {lab, file: state.topology, yaml}
}

/** `netlab topology --json`: the text, and the same as data (as written: a count of pods stays a count). */
export function topologyJson(t: LabTopology): LabTopology & {topology: unknown} {
  return {...t, topology: parse(t.yaml) as unknown}
}

/** A shortcut: edit the lab's topology (a UsageError names what is wrong, before anything runs) and apply it. */
export function editAndApply(
  labArg: string | undefined,
  verb: string,
  edit: (text: string, name: string) => string,
  opts: ApplyOptions,
): Promise<ApplyResult> {
  const {lab, yaml} = labTopology(labArg, verb)
  const name = sourceName(lab)
  return applyTopology({name, text: edit(yaml, name), base: yaml}, opts)
}
