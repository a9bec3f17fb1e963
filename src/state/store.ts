// A lab's saved state: the model it was built from, its plan, and whether it is fully up.
import {upgradeModel} from '../compile/model.js'
import {mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync} from 'node:fs'
import {basename, join} from 'node:path'
import type {LabModel} from '../model/types.js'
import type {Plan, UndoPlan, UndoStep} from '../core/actions.js'
import {files, labDir, NETNS_DIR, stateRoot} from './paths.js'
import {markSteps} from '../plan/undo-check.js'
import {planProblem, stateProblem} from './schema.js'

export interface LabState {
  version: 1
  lab: string
  /** building: `up` is running, or died before finishing (the journal says what exists) */
  status: 'building' | 'up'
  topology: string
  startedAt: string
  model: LabModel
}

/** Write by rename: a crash mid-write leaves the old file or the new one, never half of one. */
export function writeAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`
  writeFileSync(tmp, data)
  renameSync(tmp, path)
}

export function createLabDir(lab: string): void {
  mkdirSync(labDir(lab), {recursive: true, mode: 0o755})
}

export function writeJson(path: string, data: unknown): void {
  writeAtomic(path, JSON.stringify(data))
}

export function writeState(state: LabState): void {
  writeAtomic(files.state(state.lab), JSON.stringify(state))
}

/** A JSON file, or undefined when it is missing or cut short (a crash mid-write cannot leave half: writes rename). */
function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T
  } catch {
    return undefined
  }
}

/**
 * A record a command left for the next one (fault.json, policy-plan.json), parsed but not yet
 * checked: undefined when there is none, `damaged` when it is not JSON (never quoted).
 */
export function readRecord(path: string): {json: unknown} | {damaged: string} | undefined {
  if (!existsSync(path)) return undefined
  try {
    return {json: JSON.parse(readFileSync(path, 'utf8')) as unknown}
  } catch {
    return {damaged: 'damaged: it is not valid JSON'}
  }
}

/** A lab's state.json as read: its state, or why there is none to use (missing, or damaged: the reason; missing: there is no state.json at all, as opposed to one that cannot be used). */
export type StateRead = {ok: true; state: LabState} | {ok: false; reason: string; missing?: boolean}

/** Read and check state.json (src/state/schema.ts): a damaged file is a reason, never a crash later. */
export function readLabState(lab: string): StateRead {
  let text: string
  try {
    text = readFileSync(files.state(lab), 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return code === 'ENOENT'
      ? {ok: false, reason: 'state.json is missing', missing: true}
      : {ok: false, reason: `state.json cannot be read (${code})`}
  }
  if (text.trim() === '') return {ok: false, reason: 'state.json is empty'}
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    // never quote the content: position and reason only
    return {ok: false, reason: 'state.json is not valid JSON (cut short or edited by hand?)'}
  }
  const problem = stateProblem(data, lab)
  if (problem) return {ok: false, reason: `state.json: ${problem}`}
  const state = data as LabState
  try {
    state.model = upgradeModel(state.model)
  } catch (error) {
    // an old state without its members list, of a routing mode this netlab does not know
    return {ok: false, reason: `state.json: ${(error as Error).message}`}
  }
  return {ok: true, state}
}

/** The lab's state when it is there and sound; undefined when it is missing or damaged (readLabState says why). */
export function readState(lab: string): LabState | undefined {
  const r = readLabState(lab)
  return r.ok ? r.state : undefined
}

/**
 * plan.json holds what `down` needs of the plan: the actions undone by commands (creating a
 * namespace: `ip netns del`; a CNI ADD: its DEL). Every other action is undone by deleting its namespace, so it is
 * left out: a 1,000-pod plan's ten thousand commands and their explanations were most of a
 * `down`'s time, just to read. (`netlab plan` prints the whole plan again from the topology.)
 */
export function writePlan(plan: Plan): void {
  const marks = markSteps(plan.actions)
  const undo: UndoPlan = {lab: plan.lab, actions: plan.actions.filter((a) => a.undo.kind === 'commands').map((a) => undoStep(a, marks))}
  writeAtomic(files.plan(plan.lab), JSON.stringify(undo))
}

const undoStep = ({id, why, creates, undo, undoFailed}: UndoStep, marks: Map<string, number>): UndoStep => ({
  id,
  why,
  ...(creates ? {creates} : {}),
  ...(creates && marks.has(creates) ? {markedBy: marks.get(creates)} : {}),
  undo,
  ...(undoFailed ? {undoFailed} : {}),
})

/** Has the lab a plan.json (written by up with its state: a lab netlab built)? */
export function hasPlan(lab: string): boolean {
  return existsSync(files.plan(lab))
}

/** The undo steps of a lab's plan (a whole plan, as older versions wrote it, reads as one too). */
export function readPlan(lab: string): UndoPlan | undefined {
  const plan = readJson<unknown>(files.plan(lab))
  // damaged: as if there were none, so `down` removes the lab by its namespaces' marks alone
  return plan !== undefined && planProblem(plan, lab) === undefined ? (plan as UndoPlan) : undefined
}

export function labDirExists(lab: string): boolean {
  return existsSync(labDir(lab))
}

export function removeLabDir(lab: string): void {
  rmSync(labDir(lab), {recursive: true, force: true})
}

/** All of a lab's state but its process records: kept while one of its processes refuses to die. */
export function removeLabStateKeepingPids(lab: string): void {
  let entries: string[]
  try {
    entries = readdirSync(labDir(lab))
  } catch {
    return
  }
  for (const f of entries) if (f !== basename(files.pids(lab))) rmSync(join(labDir(lab), f), {recursive: true, force: true})
}

/** Labs that have a state directory (up, or left behind by an interrupted run). */
export function listLabs(): string[] {
  const root = stateRoot() // an unsafe root is an error, not "no labs"
  try {
    return readdirSync(root, {withFileTypes: true})
      .filter((d) => d.isDirectory() && /^[a-z][a-z0-9-]*$/.test(d.name))
      .map((d) => d.name)
      .sort()
  } catch {
    return []
  }
}

/** The network namespaces that exist right now (one readdir, no process). */
export function existingNetns(): Set<string> {
  try {
    return new Set(readdirSync(NETNS_DIR))
  } catch {
    return new Set()
  }
}

/** The scratch directories of the lab's runs (src/exec/fanout.ts makes them), named so. */
const SCRATCH = /^nsexec-/

/** Scratch directories left in the lab's state directory (by a run that was killed). */
export function scratchDirs(lab: string): string[] {
  try {
    return readdirSync(labDir(lab)).filter((f) => SCRATCH.test(f))
  } catch {
    return []
  }
}

/**
 * Remove them. Only a holder of the lab's lock makes them (up, policy apply, break, fix): call it
 * holding the lock and before making any, and every one there is a dead run's.
 */
export function removeScratch(lab: string): void {
  for (const f of scratchDirs(lab)) rmSync(join(labDir(lab), f), {recursive: true, force: true})
}
