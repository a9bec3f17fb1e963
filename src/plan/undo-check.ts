// Undo steps are checked, not trusted: a lab's plan.json, a policy apply's plan and a fault's
// plan are read back from the state directory, and rollback runs what they say as root. Before
// anything runs, every step must be one that netlab's own plans make, acting on this lab only:
// - deleting a namespace named for the lab (the undo of creating it: ip's netnsDel);
// - removing a file of the lab's own, under its state directory (a node's conflist);
// - a CNI DEL (or a CNI 1.1 GC) exactly as the lab's model makes it (the plugin, its environment and configuration);
// - a change inside a namespace named for the lab, by a tool whose driver says the command stays
//   in that namespace (ToolDriver.confined: an allowlist of the shapes netlab's own undo steps take).
// Whether each namespace is really the lab's (its mark) is asked when the steps run
// (src/exec/rollback.ts). Pure.
import {normalize} from 'node:path/posix'
import {labOfNetns} from '../core/names.js'
import type {Command, UndoStep} from '../core/actions.js'
import {driver} from '../tools/index.js'
import {undoCommands} from '../tools/command.js'
import {netnsDel} from '../tools/ip.js'
import {isRecord} from '../core/record.js'

export interface UndoTrust {
  /** the lab the steps must act on (from the state directory's name, never from the file) */
  lab: string
  /** the lab's state directory: the only place its files are */
  labDir: string
  /** the CNI calls (DELs, GCs) the lab's rollback makes (cniUndoCalls): a CNI step must be one of them, exactly (none without a model) */
  cniUndo?: readonly Command[]
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string')
const isStringMap = (v: unknown) => v === undefined || (isRecord(v) && Object.values(v).every((x) => typeof x === 'string'))

/**
 * JSON with keys in order, so two commands compare equal whatever order a file wrote their keys
 * in (also the form a fault's and a policy apply's records are compared in).
 */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (isRecord(v))
    return `{${Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`
  return JSON.stringify(v)
}

/**
 * A CNI call compared by what it runs: the plugin, its environment and configuration, but not
 * runtimeConfig (the addresses and MAC the lab asked for): up replaces the model's predictions
 * with what the plugins really gave (lab/cni-results.ts), and a DEL runs the same plugin whatever
 * they are.
 */
function cniKey(c: Command): string {
  let conf: unknown
  try {
    conf = JSON.parse(c.stdin ?? '')
  } catch {
    return canonical(c)
  }
  if (!isRecord(conf)) return canonical(c)
  const {runtimeConfig: _ignored, ...rest} = conf
  return canonical({...c, stdin: rest})
}

/** A command as a person reads it in an error (drivers are not asked: the tool may be unknown). */
const shown = (c: Command) => `${c.tool}${c.netns ? ` (in ${c.netns})` : ''} ${c.args.join(' ')}`.trim()

function commandShape(c: unknown): string | undefined {
  if (!isRecord(c)) return 'is not a command'
  if (typeof c.tool !== 'string' || !isStrings(c.args)) return 'has no tool or arguments'
  if (c.netns !== null && typeof c.netns !== 'string') return 'has no place to run'
  if (!isStringMap(c.env) || (c.stdin !== undefined && typeof c.stdin !== 'string')) return 'has a malformed environment or input'
  return undefined
}

/** Why this undo command is not one netlab's plans make for `trust.lab`, or undefined when it is. */
function commandProblem(c: Command, trust: UndoTrust, cniUndo: Set<string>): string | undefined {
  const ours = (ns: string) => labOfNetns(ns) === trust.lab
  if (c.netns === null) {
    if (canonical(c) === canonical(netnsDel(c.args[2] ?? '')))
      return ours(c.args[2]) ? undefined : `deletes namespace ${c.args[2]}, which is not named for lab ${trust.lab}`
    if (c.tool === 'file' && c.args.length === 2 && c.args[0] === 'remove' && c.stdin === undefined && c.env === undefined) {
      const path = c.args[1]
      return path === normalize(path) && path.startsWith(`${trust.labDir}/`)
        ? undefined
        : `removes ${path}, which is not under the lab's state directory ${trust.labDir}`
    }
    return 'runs in the root namespace, and is not the deletion of a namespace or a file of the lab'
  }
  if (!ours(c.netns)) return `runs in namespace ${c.netns}, which is not named for lab ${trust.lab}`
  if (c.tool === 'cni') return cniUndo.has(cniKey(c)) ? undefined : `is not a CNI DEL or GC that lab ${trust.lab}'s model makes`
  let confined: ((c: Command) => string | undefined) | undefined
  try {
    confined = driver(c.tool).confined
  } catch {
    return `uses ${c.tool}, a tool netlab does not drive`
  }
  if (!confined || c.env !== undefined) return `uses ${c.tool} in a way netlab's plans do not undo with`
  const bad = c.args.find((a) => driver(c.tool).badArg(a))
  return bad !== undefined ? `argument ${JSON.stringify(bad)} ${driver(c.tool).badArg(bad)}` : confined(c)
}

function stepProblem(step: unknown, trust: UndoTrust, cniUndo: Set<string>): string | undefined {
  if (!isRecord(step) || !Number.isInteger(step.id) || !isRecord(step.undo)) return 'is not an undo step'
  const u = step.undo
  if (u.kind === 'netns')
    return typeof u.netns === 'string' && labOfNetns(u.netns) === trust.lab ? undefined : 'names a namespace of another lab'
  if (!(u.kind === 'commands' && Array.isArray(u.commands)) && u.kind !== 'command') return 'has an undo of no known kind'
  const commands = u.kind === 'commands' ? (u.commands as unknown[]) : [u]
  for (const c of commands) {
    const shape = commandShape(c)
    if (shape) return `a command ${shape}`
  }
  const cmds = undoCommands(u as Parameters<typeof undoCommands>[0])
  for (const c of cmds) {
    const problem = commandProblem(c, trust, cniUndo)
    if (problem) return `${shown(c)}: ${problem}`
  }
  const creates = step.creates
  if (creates === undefined) return undefined
  if (typeof creates !== 'string' || labOfNetns(creates) !== trust.lab)
    return `creates ${String(creates)}, which is not named for lab ${trust.lab}`
  // only the deletion of what it created: a step that creates a namespace undoes nothing else
  return canonical(cmds) === canonical([netnsDel(creates)]) ? undefined : `creates ${creates}, and is undone by more than deleting it`
}

/**
 * Every step that is not one of netlab's for this lab, as "step N (why): command: problem".
 * Empty when all are: only then may any of them run.
 */
export function undoProblems(steps: readonly unknown[], trust: UndoTrust): string[] {
  const cniUndo = new Set((trust.cniUndo ?? []).map(cniKey))
  const problems: string[] = []
  steps.forEach((step, i) => {
    const problem = stepProblem(step, trust, cniUndo)
    if (!problem) return
    const s = isRecord(step) ? step : {}
    // the file's own words, on one line and cut short: they cannot pass for netlab's
    const why = typeof s.why === 'string' ? ` (${s.why.replace(/\p{Cc}+/gu, ' ').slice(0, 120)})` : ''
    const name = `step ${Number.isInteger(s.id) ? String(s.id) : `#${i}`}${why}`
    problems.push(`${name}: ${problem}`)
  })
  return problems
}

/**
 * For each namespace a plan creates, the step that writes the lab's mark into it (its loopback's
 * alias): until that step has run, the namespace is the lab's without carrying the mark.
 */
export function markSteps(steps: readonly (UndoStep & Partial<Command>)[]): Map<string, number> {
  const marks = new Map<string, number>()
  for (const a of steps) {
    if (a.creates && a.markedBy !== undefined) marks.set(a.creates, a.markedBy)
    const args = a.args ?? []
    if (a.tool === 'ip' && a.netns && args[0] === 'link' && args[1] === 'set' && args[2] === 'lo' && args.includes('alias'))
      if (!marks.has(a.netns)) marks.set(a.netns, a.id)
  }
  return marks
}
