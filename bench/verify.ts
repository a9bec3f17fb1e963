// Does the network that was just built actually work? Two ways:
// - a ping sample, for any network (the naive script's has no netlab state): from a few pods
//   spread over the nodes to a pod on the same node, pods on other nodes, their own node, another
//   node and the external host (through masquerade), plus node -> pod on another node. Every
//   target is an address of the lab's own namespaces.
// - `netlab probe LAB --json`, for labs netlab built, when the command exists.
import {pool} from '../src/exec/executor.js'
import type {LabModel, NodeModel} from '../src/model/types.js'
import {firstLine, netlab, parseJson, runTimed} from './proc.js'
import {neighbourTable, tableFullsSince} from './system.js'

export interface PingTarget {
  from: string
  netns: string
  to: string
  ip: string
}

export interface PingResult extends PingTarget {
  ok: boolean
  detail?: string
}

export interface PingSummary {
  passed: number
  failed: number
  ms: number
  failures: PingResult[]
  /** the machine-wide neighbour table refused this many entries meanwhile (anyone's: it is shared) */
  tableFulls: number
}

function spread<T>(items: T[], k: number): T[] {
  if (items.length <= k) return items
  return Array.from({length: k}, (_, i) => items[Math.round((i * (items.length - 1)) / (k - 1))])
}

/** The sample: deterministic, about 20 pings whatever the lab's size. */
export function pingSample(model: LabModel, sources = 3): PingTarget[] {
  const withPods = model.nodes.filter((n) => n.pods.length > 0)
  const out: PingTarget[] = []
  const other = (n: NodeModel, step: number): NodeModel | undefined => {
    const i = withPods.indexOf(n)
    const o = withPods[(i + step + withPods.length) % withPods.length]
    return o === n ? undefined : o
  }
  spread(withPods, sources).forEach((node, k) => {
    const pod = node.pods[k % node.pods.length]
    const from = {from: pod.name, netns: pod.netns}
    const sibling = node.pods.find((p) => p !== pod)
    if (sibling) out.push({...from, to: `pod ${sibling.name} (same node)`, ip: sibling.ip})
    for (const step of [1, -1, Math.floor(withPods.length / 2)]) {
      const o = other(node, step)
      if (!o) continue
      const target = o.pods[(k + step + o.pods.length) % o.pods.length]
      if (!out.some((t) => t.netns === pod.netns && t.ip === target.ip))
        out.push({...from, to: `pod ${target.name} (on ${o.name})`, ip: target.ip})
    }
    out.push({...from, to: `its node ${node.name}`, ip: node.ip})
    const o = other(node, 1)
    if (o) {
      out.push({...from, to: `node ${o.name}`, ip: o.ip})
      const target = o.pods[o.pods.length - 1]
      out.push({from: node.name, netns: node.netns, to: `pod ${target.name} (on ${o.name})`, ip: target.ip})
    }
    if (model.ipMasq) for (const e of model.external) out.push({...from, to: `external ${e.name} (masqueraded)`, ip: e.ip})
  })
  return out
}

async function ping(t: PingTarget): Promise<PingResult> {
  const r = await runTimed('ip', ['netns', 'exec', t.netns, 'ping', '-n', '-q', '-c1', '-W1', t.ip], {timeoutMs: 10_000})
  return r.code === 0
    ? {...t, ok: true}
    : {...t, ok: false, detail: firstLine(r.stderr) || (r.code === 1 ? 'no reply' : `ping exited ${r.code}`)}
}

export async function runPingSample(targets: PingTarget[]): Promise<PingSummary> {
  const started = performance.now()
  const fulls = neighbourTable()?.tableFulls
  const results: PingResult[] = []
  await pool(targets, 4, async (t) => {
    let r = await ping(t)
    if (!r.ok) r = await ping(t) // one retry: a first packet may be lost to a slow ARP answer on a loaded machine
    results.push(r)
  })
  const failures = results.filter((r) => !r.ok)
  return {
    passed: results.length - failures.length,
    failed: failures.length,
    ms: Math.round(performance.now() - started),
    failures,
    tableFulls: tableFullsSince(fulls),
  }
}

export interface ProbeSummary {
  /** wall clock of the whole `netlab probe` command */
  wallMs: number
  /** what the probe itself reports */
  ms?: number
  /** --full: every pair */
  full?: boolean
  /** the largest resident memory of the whole probe (Node and its engines), KB */
  peakTreeKB?: number
  passed: number
  failed: number
  coverage?: string
  error?: string
  /** a few failed checks, for the report */
  failures: string[]
  /** the machine-wide neighbour table refused this many entries meanwhile */
  tableFulls: number
}

interface ProbeJson {
  passed: number
  failed: number
  ms: number
  coverage: string
  checks: {
    id: string
    results: {src: {name: string}; dst: {name: string}; expected: string; seen: string; ok: boolean; detail?: string}[]
  }[]
}

export async function probeAvailable(): Promise<boolean> {
  const r = await netlab(['probe', '--help'], {timeoutMs: 60_000})
  return r.code === 0 && /USAGE/.test(r.stdout)
}

export async function runProbe(lab: string, full = false): Promise<ProbeSummary> {
  const fulls = neighbourTable()?.tableFulls
  const r = await netlab(['probe', lab, '--json', ...(full ? ['--full'] : [])], {timeoutMs: 1_200_000, sampleTree: true})
  const tableFulls = tableFullsSince(fulls)
  const j = parseJson<ProbeJson>(r.stdout)
  if (!j || typeof j.passed !== 'number')
    return {
      wallMs: Math.round(r.ms),
      passed: 0,
      failed: 0,
      // with --json, netlab's error is the JSON on stdout
      error: (j as {error?: {message?: string}} | undefined)?.error?.message ?? (firstLine(r.stderr) || `netlab probe exited ${r.code}`),
      failures: [],
      tableFulls,
      full,
    }
  const failures = j.checks.flatMap((c) =>
    c.results
      .filter((x) => !x.ok)
      .map((x) => `${c.id}: ${x.src.name} -> ${x.dst.name}: expected ${x.expected}, saw ${x.seen}${x.detail ? ` (${x.detail})` : ''}`),
  )
  return {
    wallMs: Math.round(r.ms),
    ms: j.ms,
    passed: j.passed,
    failed: j.failed,
    coverage: j.coverage,
    failures: failures.slice(0, 5),
    tableFulls,
    full,
    peakTreeKB: r.peakTreeKB,
  }
}
