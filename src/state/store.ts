// A lab's saved state: the model it was built from, its plan, and whether it is fully up.
import {upgradeModel} from '../compile/model.js'
import {mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync} from 'node:fs'
import {basename, join} from 'node:path'
import type {LabModel} from '../model/types.js'
import type {Plan, UndoPlan, UndoStep} from '../core/actions.js'
import {files, labDir, NETNS_DIR, stateRoot} from './paths.js'

export interface LabState {
  version: 1
  lab: string
  /** building: `up` is running, or died before finishing (the journal says what exists) */
  status: 'building' | 'up'
  topology: string
  startedAt: string
  model: LabModel
}

function writeAtomic(path: string, data: string): void {
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
export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T
  } catch {
    return undefined
  }
}

export function readState(lab: string): LabState | undefined {
  const state = readJson<LabState>(files.state(lab))
  if (state) state.model = upgradeModel(state.model)
  return state
}

/**
 * plan.json holds what `down` needs of the plan: the actions undone by commands (creating a
 * namespace: `ip netns del`; a CNI ADD: its DEL). Every other action is undone by deleting its namespace, so it is
 * left out: a 1,000-pod plan's ten thousand commands and their explanations were most of a
 * `down`'s time, just to read. (`netlab plan` prints the whole plan again from the topology.)
 */
export function writePlan(plan: Plan): void {
  const undo: UndoPlan = {lab: plan.lab, actions: plan.actions.filter((a) => a.undo.kind === 'commands').map(undoStep)}
  writeAtomic(files.plan(plan.lab), JSON.stringify(undo))
}

const undoStep = ({id, why, creates, undo, undoFailed}: UndoStep): UndoStep => ({
  id,
  why,
  ...(creates ? {creates} : {}),
  undo,
  ...(undoFailed ? {undoFailed} : {}),
})

/** The undo steps of a lab's plan (a whole plan, as older versions wrote it, reads as one too). */
export function readPlan(lab: string): UndoPlan | undefined {
  return readJson<UndoPlan>(files.plan(lab))
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
  try {
    return readdirSync(stateRoot(), {withFileTypes: true})
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
