// A lab built the hard way (`netlab plan --format sh`, run with bash) has no state: netlab knows
// it only from its topology. Before anything runs in it, every namespace the model names must
// exist and carry the lab's mark, so netlab never probes namespaces it cannot tell are the lab's.
import {tmpdir} from 'node:os'
import {UsageError} from '../core/errors.js'
import {netlabCmd} from '../core/invocation.js'
import {NSEXEC, readMarks} from '../exec/fanout.js'
import {ownerMark} from '../core/names.js'
import {allNetns, type LabModel} from '../model/types.js'
import {stateRoot} from '../state/paths.js'
import {existingNetns, labDirExists, readState, removeLabDir} from '../state/store.js'
import {loadLab, printWarnings} from './load.js'
import {requirePerl, requireRoot} from '../host/preflight.js'

const LISTED = 3

function some(names: string[]): string {
  return names.slice(0, LISTED).join(', ') + (names.length > LISTED ? ` and ${names.length - LISTED} more` : '')
}

/** Pure: what is wrong with the namespaces found for a model, as the one line to print, or undefined. */
export function handmadeProblem(
  lab: string,
  file: string,
  expected: string[],
  present: Set<string>,
  marks: Map<string, string | undefined>,
  owner: string,
): string | undefined {
  const missing = expected.filter((ns) => !present.has(ns))
  const build = `build it with: ${netlabCmd()} plan ${file} --format sh > lab.sh && bash lab.sh`
  if (missing.length === expected.length) return `lab ${lab} is not built: none of its ${expected.length} namespaces exist (${build})`
  if (missing.length > 0)
    return `lab ${lab} is incomplete: ${missing.length} of its ${expected.length} namespaces are missing (${some(missing)}); tear it down (bash lab.sh down) and build it again`
  const unmarked = expected.filter((ns) => marks.get(ns) !== owner)
  if (unmarked.length > 0)
    return (
      `${unmarked.length === 1 ? 'a namespace' : `${unmarked.length} namespaces`} of lab ${lab} ${unmarked.length === 1 ? 'does' : 'do'} not carry its mark "${owner}" (${some(unmarked)}): they were not ` +
      `built from this topology's plan (with this NETLAB_STATE_DIR), so netlab will not run anything in them`
    )
  return undefined
}

/** The model of a lab built by hand from `file`, once its namespaces are checked; exit 2 when they do not match. */
export async function handmadeModel(file: string): Promise<LabModel> {
  const {model, warnings} = loadLab(file) // bad input: exit 2 before anything else
  printWarnings(warnings)
  requireRoot('netlab probe --topology')
  const expected = allNetns(model)
  const present = existingNetns()
  const owner = ownerMark(model.lab, stateRoot())
  let marks = new Map<string, string | undefined>()
  if (expected.every((ns) => present.has(ns))) {
    await requirePerl([NSEXEC])
    const read = await readMarks(expected, {parallel: 4, workDir: tmpdir()})
    marks = new Map(expected.map((ns, i) => [ns, read[i]]))
  }
  const problem = handmadeProblem(model.lab, file, expected, present, marks, owner)
  if (problem) throw new UsageError(problem)
  return model
}

/**
 * Run `f` for a lab that may have no state directory: probe records its processes there, so it is
 * made for the run and removed after it when the lab had none (a hand-built lab leaves no trace).
 */
export async function withLabDir<T>(lab: string, f: () => Promise<T>): Promise<T> {
  const existed = labDirExists(lab)
  try {
    return await f()
  } finally {
    if (!existed && !readState(lab)) removeLabDir(lab)
  }
}
