// Exercises: the faults `netlab break` can inject into a running lab, each a small plan (the
// same Action/Undo as `up`'s) made from the lab's model and its own plan, so a fault undoes to
// exactly what the plan set. Which kinds apply depends on the routing mode (an overlay has an
// MTU and an fdb to spoil; every mode has routes and forwarding). Pure.
// Each kind is a module of ./faults/ (the registry: ./faults/index.ts).
import type {Plan} from '../core/actions.js'
import type {LabModel, Member} from '../model/types.js'
import {PlanBuilder} from '../plan/builder.js'
import {canonical, undoProblems} from '../plan/undo-check.js'
import {FAULTS} from './faults/index.js'
import {FAULT_KINDS, type FaultKind} from './faults/kinds.js'
import type {FaultContext, FaultSite} from './faults/types.js'
import {isRecord} from '../core/record.js'

export {FAULT_KINDS, type FaultKind}

export const FAULT_TEXT: Record<FaultKind, string> = Object.fromEntries(FAULT_KINDS.map((k) => [k, FAULTS[k].text])) as Record<
  FaultKind,
  string
>

/** One concrete fault: what it breaks, where, and the plan that injects it (each action knows its undo). */
export interface Fault {
  kind: FaultKind
  /** the member it is injected in */
  where: string
  /** what was done, in words (shown only with --reveal, and by fix) */
  what: string
  plan: Plan
}

function faultPlan(lab: string, kind: FaultKind, site: FaultSite): Plan {
  return new PlanBuilder(lab)
    .phase({id: 'fault', title: `Inject a fault (${kind})`, why: FAULTS[kind].text, scope: 'netns'})
    .change({tool: site.tool, netns: site.netns, args: site.args}, site.what, site.undo)
    .build()
}

/** Every fault of `kind` that this lab can take, in plan order. */
export function candidates(model: LabModel, plan: Plan, kind: FaultKind): Fault[] {
  const memberOf = (a: {netns: string | null}): Member | undefined => model.members.find((m) => m.netns === a.netns)
  const ctx: FaultContext = {model, plan, memberOf, sitesOf: (k) => FAULTS[k].sites(ctx)}
  return FAULTS[kind].sites(ctx).flatMap((site) => {
    const m = memberOf(site)
    return m ? [{kind, where: m.name, what: site.what, plan: faultPlan(model.lab, kind, site)}] : []
  })
}

/** The kinds this lab can take. */
export function applicableKinds(model: LabModel, plan: Plan): FaultKind[] {
  return FAULT_KINDS.filter((k) => candidates(model, plan, k).length > 0)
}

/** A small seeded generator (mulberry32): the same --seed picks the same fault. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Pick a fault: of `kind` when named (undefined when the lab cannot take it), else of any kind that applies and probe can see. */
export function pickFault(model: LabModel, plan: Plan, kind: FaultKind | undefined, random: () => number): Fault | undefined {
  const kinds = kind ? [kind] : applicableKinds(model, plan).filter((k) => !FAULTS[k].namedOnly)
  if (kinds.length === 0) return undefined
  const k = kinds[Math.floor(random() * kinds.length)]
  const all = candidates(model, plan, k)
  return all.length > 0 ? all[Math.floor(random() * all.length)] : undefined
}

/**
 * Why a fault record (fault.json as read) is not one `netlab break` made for this lab, or
 * undefined when it is. Checked, not trusted: fix runs its commands as root, so the record's
 * fault must be, exactly, one that the lab's saved model makes (a candidate of its kind); then
 * every command in it (the rule check, the undo) is netlab's own. Pure.
 */
export function faultRecordProblem(record: unknown, model: LabModel, plan: Plan, labDir: string): string | undefined {
  if (!isRecord(record) || !isRecord(record.fault)) return 'damaged: it holds no fault'
  if (record.lab !== model.lab) return `damaged: it is for lab ${JSON.stringify(record.lab)}, not ${model.lab}`
  const f = record.fault
  if (!(FAULT_KINDS as readonly unknown[]).includes(f.kind)) return `damaged: ${JSON.stringify(f.kind)} is no kind of fault netlab has`
  if (!isRecord(f.plan) || !Array.isArray(f.plan.actions) || typeof f.where !== 'string' || typeof f.what !== 'string')
    return 'damaged: its fault has no plan'
  const made = new Set(candidates(model, plan, f.kind as FaultKind).map(canonical))
  if (made.has(canonical(f))) return undefined
  // name the first step that is not netlab's, when one is the reason
  const [step] = undoProblems(f.plan.actions as unknown[], {lab: model.lab, labDir})
  return `it is not a ${String(f.kind)} fault netlab makes for lab ${model.lab} (rebuilt from the lab's saved model)${step ? `: ${step}` : ''}`
}
