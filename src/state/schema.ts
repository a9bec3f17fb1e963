// What a saved state.json must hold before anything reads it: the fields the commands rely on
// (status, ls, probe, trace, down's hints), checked once where the file is read, so a damaged
// or hand-edited file is one lab's problem with a reason, never a TypeError in another lab's `ls`.
// Deliberately small: shapes and types, not the model's meaning (that came from a checked topology).
import {isRecord} from '../core/record.js'

type Shape = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'string[]'

/** Where in the file, as a reader would name it: model.nodes[2].pods. */
type Path = string

function kindOf(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`
}

function fits(v: unknown, shape: Shape): boolean {
  switch (shape) {
    case 'array':
      return Array.isArray(v)
    case 'string[]':
      return Array.isArray(v) && v.every((x) => typeof x === 'string')
    case 'object':
      return isRecord(v)
    case 'number':
      return typeof v === 'number' && Number.isFinite(v)
    default:
      return typeof v === shape
  }
}

const SHAPE_WORDS: Record<Shape, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  'string[]': 'a list of strings',
}

/** A problem found: thrown inside the check, caught at its top (the first problem is the reason). */
class Problem extends Error {}

function need(obj: Record<string, unknown>, at: Path, fields: Record<string, Shape>, optional = false): void {
  for (const [key, shape] of Object.entries(fields)) {
    const v = obj[key]
    if (v === undefined && optional) continue
    if (v === undefined) throw new Problem(`${at}${key} is missing`)
    if (!fits(v, shape)) throw new Problem(`${at}${key} is ${kindOf(v)}, not ${SHAPE_WORDS[shape]}`)
  }
}

/** Each element of the list at `at` is an object with `fields`; `each` checks more of it. */
function eachOf(list: unknown[], at: Path, fields: Record<string, Shape>, each?: (o: Record<string, unknown>, at: Path) => void): void {
  list.forEach((item, i) => {
    const here = `${at}[${i}]`
    if (!fits(item, 'object')) throw new Problem(`${here} is ${kindOf(item)}, not an object`)
    const o = item as Record<string, unknown>
    need(o, `${here}.`, fields)
    each?.(o, here)
  })
}

/** What state.json's model must hold: what status, ls and the model's upgrade (upgradeModel) read. */
function checkModel(m: Record<string, unknown>, lab: string): void {
  need(m, 'model.', {lab: 'string', routing: 'string', podCIDR: 'string', underlay: 'string', ipMasq: 'boolean'})
  need(m, 'model.', {nodes: 'array', external: 'array', fabric: 'object'})
  need(m, 'model.', {segments: 'array', members: 'array', policies: 'array'}, true)
  if (m.lab !== lab) throw new Problem(`model.lab is "${String(m.lab)}", not "${lab}"`)
  need(m.fabric as Record<string, unknown>, 'model.fabric.', {netns: 'string', bridge: 'string'})
  const endpoint = {name: 'string', netns: 'string', ip: 'string'} as const
  eachOf(m.nodes as unknown[], 'model.nodes', {...endpoint, podCIDR: 'string', gateway: 'string', pods: 'array'}, (n, at) => {
    need(n, `${at}.`, {segment: 'number'}, true)
    eachOf(n.pods as unknown[], `${at}.pods`, endpoint)
  })
  eachOf(m.external as unknown[], 'model.external', endpoint, (e, at) => need(e, `${at}.`, {segment: 'number', vpc: 'boolean'}, true))
  if (m.segments) eachOf(m.segments as unknown[], 'model.segments', {index: 'number', cidr: 'string'})
  if (m.members) eachOf(m.members as unknown[], 'model.members', {kind: 'string', name: 'string', netns: 'string', ips: 'string[]'})
  if (m.policies) eachOf(m.policies as unknown[], 'model.policies', {name: 'string', pods: 'string[]', types: 'string[]'})
}

/**
 * Why `data` (state.json, parsed) is not a usable state of lab `lab`, in a few words naming the
 * field; undefined when it is. Pure.
 */
export function stateProblem(data: unknown, lab: string): string | undefined {
  try {
    if (!fits(data, 'object')) throw new Problem(`it holds ${kindOf(data)}, not an object`)
    const s = data as Record<string, unknown>
    if (s.version !== 1) throw new Problem(s.version === undefined ? 'version is missing' : `version ${JSON.stringify(s.version)} is not 1`)
    need(s, '', {lab: 'string', status: 'string', topology: 'string', startedAt: 'string', model: 'object'})
    if (s.lab !== lab) throw new Problem(`it names lab "${String(s.lab)}", not "${lab}"`)
    if (s.status !== 'up' && s.status !== 'building') throw new Problem(`status "${String(s.status)}" is neither "up" nor "building"`)
    checkModel(s.model as Record<string, unknown>, lab)
    return undefined
  } catch (error) {
    if (error instanceof Problem) return error.message
    throw error
  }
}

/**
 * Why `data` (plan.json, parsed) is not the shape of a plan's undo steps for lab `lab`; undefined
 * when it is. The shape only: which undo steps may run at all is checked where they are run.
 */
export function planProblem(data: unknown, lab: string): string | undefined {
  try {
    if (!fits(data, 'object')) throw new Problem(`it holds ${kindOf(data)}, not an object`)
    const p = data as Record<string, unknown>
    need(p, '', {lab: 'string', actions: 'array'})
    if (p.lab !== lab) throw new Problem(`it names lab "${String(p.lab)}", not "${lab}"`)
    eachOf(p.actions as unknown[], 'actions', {id: 'number', why: 'string', undo: 'object'}, (a, at) =>
      need(a.undo as Record<string, unknown>, `${at}.undo.`, {kind: 'string'}),
    )
    return undefined
  } catch (error) {
    if (error instanceof Problem) return error.message
    throw error
  }
}

/** Is `e` (a journal line, parsed) an entry `summarize` can read? A line that is not is skipped, as a torn one is. */
export function isJournalEntry(e: unknown): boolean {
  if (!fits(e, 'object')) return false
  const o = e as Record<string, unknown>
  const ids = (v: unknown) => Array.isArray(v) && v.every((x) => Number.isInteger(x))
  if (o.t === 'failed') return ids(o.applied) && ids(o.notRun) && (o.failed === null || Number.isInteger(o.failed))
  return ['begin', 'done', 'undone'].includes(o.t as string) && ids(o.ids)
}
