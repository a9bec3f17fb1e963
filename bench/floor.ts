// The kernel's floor for a lab, measured in the same run as netlab (issue 27): the same
// namespaces, links, addresses and routes as the lab's own plan, made by the plainest fast means
// there is, with nothing of netlab in between — then deleted. netlab's `up` and `down` are
// reported as ratios to it, which hold from one machine to the next where seconds do not.
//
//   namespaces    the plan's `ip netns add` lines, in one `ip -batch` per core, side by side
//   links         its `ip link add` lines run from the root namespace (the veth pairs, each end
//                 put into its namespace), the same way
//   inside        per namespace, its `ip` lines that make a device, set a link, add an address or a
//                 route, in plan order, by `nsenter --net=/run/netns/NS ip -batch -` (one per core
//                 at a time; `ip -n` would copy the mount table each time, and a batch line cannot
//                 name a namespace in this iproute2)
//   delete        every namespace in one `ip -batch` of `netns del` per core
//
// No sysctl, firewall or neighbour entry: the floor is what any tool must make for the lab to
// exist. The namespaces are named for a lab of this run (netlab-<lab>.*), so the bench's cleanup
// removes them whatever happens.
import {availableParallelism} from 'node:os'
import type {Plan} from '../src/core/actions.js'
import {firstLine, runTimed} from './proc.js'

export interface FloorRun {
  /** namespaces, links and inside, wall clock */
  upMs: number
  /** namespaces and links alone */
  nsLinksMs: number
  insideMs: number
  deleteMs: number
  namespaces: number
  links: number
  /** ip lines run inside the namespaces */
  inside: number
  error?: string
}

const IN_NAMESPACE = new Set(['link', 'addr', 'address', 'route'])

/** The floor's work, from a plan: what it makes and where. */
export function floorWork(plan: Plan): {namespaces: string[]; links: string[]; inside: Map<string, string[]>} {
  const namespaces: string[] = []
  const links: string[] = []
  const inside = new Map<string, string[]>()
  for (const a of plan.actions) {
    if (a.tool !== 'ip') continue
    if (a.netns === null) {
      if (a.args[0] === 'netns' && a.args[1] === 'add') namespaces.push(a.args[2])
      else if (a.args[0] === 'link' && a.args[1] === 'add') links.push(a.args.join(' '))
    } else if (IN_NAMESPACE.has(a.args[0]) && ['add', 'set', 'replace'].includes(a.args[1])) {
      inside.set(a.netns, [...(inside.get(a.netns) ?? []), a.args.join(' ')])
    }
  }
  return {namespaces, links, inside}
}

/** `lines` in `parts` about equal slices, each to its own `ip -batch`, all at once; the first failure's message. */
async function batches(lines: string[], parts: number, force = false): Promise<{ms: number; error?: string}> {
  const started = performance.now()
  const size = Math.ceil(lines.length / parts)
  const slices = Array.from({length: parts}, (_, i) => lines.slice(i * size, (i + 1) * size)).filter((s) => s.length > 0)
  const runs = await Promise.all(
    slices.map((s) => runTimed('ip', [...(force ? ['-force'] : []), '-batch', '-'], {input: s.join('\n') + '\n', timeoutMs: 600_000})),
  )
  const bad = runs.find((r) => r.code !== 0)
  return {ms: performance.now() - started, error: bad ? `ip -batch: ${firstLine(bad.stderr)}` : undefined}
}

/** Each namespace's lines through its own `ip -batch` inside it, `parallel` at a time. */
async function insideEach(inside: Map<string, string[]>, parallel: number): Promise<{ms: number; error?: string}> {
  const started = performance.now()
  const todo = [...inside]
  let error: string | undefined
  const worker = async () => {
    for (let next = todo.shift(); next && !error; next = todo.shift()) {
      const [ns, lines] = next
      const r = await runTimed('nsenter', [`--net=/run/netns/${ns}`, 'ip', '-batch', '-'], {
        input: lines.join('\n') + '\n',
        timeoutMs: 60_000,
      })
      if (r.code !== 0) error = `${ns}: ${firstLine(r.stderr)}`
    }
  }
  await Promise.all(Array.from({length: parallel}, worker))
  return {ms: performance.now() - started, error}
}

/** Build the floor of `plan` (a plan of a lab of this run, never built by netlab), time it, delete it, time that. */
export async function runFloor(plan: Plan): Promise<FloorRun> {
  const cores = availableParallelism()
  const work = floorWork(plan)
  const run: FloorRun = {
    upMs: 0,
    nsLinksMs: 0,
    insideMs: 0,
    deleteMs: 0,
    namespaces: work.namespaces.length,
    links: work.links.length,
    inside: 0,
  }
  run.inside = [...work.inside.values()].reduce((n, l) => n + l.length, 0)
  try {
    const ns = await batches(
      work.namespaces.map((n) => `netns add ${n}`),
      cores,
    )
    const links = ns.error ? ns : await batches(work.links, cores)
    const inside = links.error ? links : await insideEach(work.inside, cores)
    run.nsLinksMs = Math.round(ns.ms + links.ms)
    run.insideMs = Math.round(inside.ms)
    run.upMs = run.nsLinksMs + run.insideMs
    run.error = ns.error ?? links.error ?? inside.error
  } finally {
    const del = await batches(
      work.namespaces.map((n) => `netns del ${n}`),
      cores,
      true, // whatever was made, even when the floor failed half-way
    )
    run.deleteMs = Math.round(del.ms)
  }
  return run
}
