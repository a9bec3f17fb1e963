// Plan -> stages of batches. Pure. This is where a process per action stops:
// - a lab-scoped phase waits for everything before it; its actions run as one batch per
//   (namespace, tool), e.g. all `ip netns add` lines in one `ip -batch` — or, when the phase
//   says its actions are independent, split over a few such batches to use every core;
// - consecutive netns-scoped phases become one lane per namespace: that namespace's ip lines
//   in one `ip -n NS -batch`, its sysctls in one sysctl, its rules in one iptables-restore;
//   lanes run concurrently, since no namespace depends on another's inside.
import type {Action, Plan, Tool} from '../core/actions.js'
import {driver} from '../tools/index.js'

export interface Batch {
  netns: string | null
  tool: Tool
  actions: Action[]
}

/** Batches of one namespace, run one after another. */
export interface Lane {
  netns: string | null
  batches: Batch[]
}

/** Lanes that run concurrently; a stage starts when the previous one has finished. */
export interface Stage {
  phases: string[]
  lanes: Lane[]
}

function appendToLane(lanes: Map<string, Lane>, key: string, a: Action): void {
  let lane = lanes.get(key)
  if (!lane) {
    lane = {netns: a.netns, batches: []}
    lanes.set(key, lane)
  }
  const last = lane.batches.at(-1)
  if (last && last.tool === a.tool) last.actions.push(a)
  else lane.batches.push({netns: a.netns, tool: a.tool, actions: [a]})
}

/** Below this many actions a split is not worth a second process. */
const MIN_SPLIT = 64

export function schedule(plan: Plan, opts: {split?: number} = {}): Stage[] {
  const split = Math.max(1, opts.split ?? 1)
  const stages: Stage[] = []
  let lanes = new Map<string, Lane>()
  let phases: string[] = []
  let openScope: 'lab' | 'netns' | undefined
  const close = () => {
    if (lanes.size > 0) stages.push({phases, lanes: [...lanes.values()]})
    lanes = new Map()
    phases = []
  }
  // each phase's actions in one pass (a phase's actions are not always contiguous in the plan)
  const byPhase = new Map<string, Action[]>(plan.phases.map((p) => [p.id, []]))
  for (const a of plan.actions) byPhase.get(a.phase)?.push(a)
  for (const phase of plan.phases) {
    const actions = byPhase.get(phase.id)!
    if (actions.length === 0) continue
    if (!(phase.scope === 'netns' && openScope === 'netns')) close()
    openScope = phase.scope
    phases.push(phase.id)
    const chunks = phase.scope === 'lab' && phase.independent && actions.length >= MIN_SPLIT ? split : 1
    const chunkSize = Math.ceil(actions.length / chunks)
    actions.forEach((a, i) => appendToLane(lanes, `${a.netns ?? ''}#${chunks > 1 ? Math.floor(i / chunkSize) : 0}`, a))
  }
  close()
  return stages
}

/**
 * The stages before which the kernel's link watch is synced (Executor.syncLinks): each stage
 * inside namespaces that comes after a stage making interfaces (its tool driver's addsLinks),
 * the first such one after them. Pure: the stages say it all.
 */
export function linkSyncStages(stages: Stage[]): Set<Stage> {
  const before = new Set<Stage>()
  let linksAdded = false
  for (const stage of stages) {
    if (linksAdded && stage.lanes.some((l) => l.netns !== null)) {
      before.add(stage)
      linksAdded = false
    }
    if (stage.lanes.some((l) => l.batches.some((b) => b.actions.some((a) => driver(b.tool).addsLinks?.(a))))) linksAdded = true
  }
  return before
}
