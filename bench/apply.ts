// netlab apply on a 50 × 10 lab, per routing mode: add one pod, remove it, add a node with 10 pods
// (its routes on every other node), remove it, and an apply with no difference. Each is timed as
// the user runs it (the CLI's wall clock), and as a ratio to the apply that changes nothing (the
// floor: start the CLI, read the lab, compile both plans) and to a fresh `up` of the same lab
// in the same run: machines differ by 2×, ratios do not. After every change the lab is probed.
//
//   node dist/bench/apply.js [--modes host-gw,vxlan] [--repeat 3]     (as root)
//
// Lab names and the state directory are unique to this run; everything is removed at the end,
// also on failure.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import {stringify} from 'yaml'
import {netlab, runTimed} from './proc.js'
import {gridTopology} from './topology.js'
import {ROUTING_MODES} from '../src/modes/index.js'
import type {RoutingMode} from '../src/topology/types.js'

const {values} = parseArgs({options: {modes: {type: 'string', default: 'host-gw,vxlan,routes'}, repeat: {type: 'string', default: '3'}}})
const modes = values.modes.split(',') as RoutingMode[]
for (const m of modes) if (!(ROUTING_MODES as readonly string[]).includes(m)) throw new Error(`unknown routing mode ${m}`)
const repeat = Number(values.repeat)
const stateDir = mkdtempSync(join(tmpdir(), 'netlab-bench-apply-state-'))
const dir = mkdtempSync(join(tmpdir(), 'netlab-bench-apply-'))
const env = {NETLAB_STATE_DIR: stateDir}
const runId = `${(Date.now() % 36 ** 3).toString(36)}${(process.pid % 36 ** 2).toString(36)}`
const [NODES, PODS] = [50, 10]

type Topo = {nodes: {name: string; pods: unknown}[]}

function write(lab: string, mode: RoutingMode, edit: (t: Topo) => void): string {
  const t = gridTopology(lab, NODES, PODS, mode) as unknown as Topo
  edit(t)
  const file = join(dir, `${lab}-${Math.random().toString(36).slice(2, 8)}.yaml`)
  writeFileSync(file, stringify(t))
  return file
}

const names = (n: string) => Array.from({length: PODS}, (_, k) => `${n}-p${k}`)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function timed(args: string[]): Promise<number> {
  const r = await netlab(args, {env, timeoutMs: 300_000})
  if (r.code !== 0) throw new Error(`netlab ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`)
  return r.ms
}

async function probeOk(lab: string): Promise<string> {
  const r = await netlab(['probe', lab], {env, timeoutMs: 300_000})
  return r.code === 0 ? 'ok' : `FAILED (${r.stdout.trimEnd().split('\n').at(-1)})`
}

interface Row {
  mode: string
  up: number
  same: number
  addPod: number
  delPod: number
  addNode: number
  delNode: number
  probes: string[]
}

async function one(mode: RoutingMode): Promise<Row> {
  const lab = `ba${runId}${mode.replace(/[^a-z]/g, '').slice(0, 4)}`
  const base = write(lab, mode, () => {})
  const plusPod = write(lab, mode, (t) => (t.nodes[0].pods = [...names('n0'), 'extra']))
  const plusNode = write(lab, mode, (t) => t.nodes.push({name: `n${NODES}`, pods: PODS}))
  const runs: Omit<Row, 'mode' | 'up'>[] = []
  const up = await timed(['up', base, '-q'])
  try {
    for (let i = 0; i < repeat; i++) {
      const r = {
        same: await timed(['apply', base]),
        addPod: await timed(['apply', plusPod]),
        delPod: 0,
        addNode: 0,
        delNode: 0,
        probes: [] as string[],
      }
      r.probes.push(await probeOk(lab))
      r.delPod = await timed(['apply', base])
      r.addNode = await timed(['apply', plusNode])
      r.probes.push(await probeOk(lab))
      r.delNode = await timed(['apply', base])
      r.probes.push(await probeOk(lab))
      runs.push(r)
    }
  } finally {
    await netlab(['down', lab], {env})
    const left = (await runTimed('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(`netlab-${lab}.`))
    if (left.length > 0) console.error(`bench: ${left.length} namespaces of ${lab} left`)
  }
  const m = (k: keyof Omit<Row, 'mode' | 'up' | 'probes'>) => median(runs.map((r) => r[k]))
  return {
    mode,
    up,
    same: m('same'),
    addPod: m('addPod'),
    delPod: m('delPod'),
    addNode: m('addNode'),
    delNode: m('delNode'),
    probes: runs.flatMap((r) => r.probes),
  }
}

const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`
const vs = (ms: number, floor: number) => `${sec(ms)} (${(ms / floor).toFixed(2)}×)`

let code = 0
try {
  const rows = [['mode', 'up (fresh)', 'apply, no change (floor)', '+1 pod', '−1 pod', '+1 node (10 pods)', '−1 node', 'probe after each']]
  for (const mode of modes) {
    const r = await one(mode)
    if (r.probes.some((p) => p !== 'ok')) code = 1
    rows.push([
      r.mode,
      sec(r.up),
      sec(r.same),
      vs(r.addPod, r.same),
      vs(r.delPod, r.same),
      vs(r.addNode, r.same),
      vs(r.delNode, r.same),
      r.probes.every((p) => p === 'ok') ? `${r.probes.length} ok` : r.probes.filter((p) => p !== 'ok')[0],
    ])
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  console.log(`netlab apply on ${NODES} × ${PODS}, medians of ${repeat}; (×) = ratio to the apply that changes nothing:\n`)
  console.log(
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]))
          .join('  ')
          .trimEnd(),
      )
      .join('\n'),
  )
} catch (error) {
  console.error(`apply bench: ${(error as Error).message}`)
  code = 1
} finally {
  rmSync(dir, {recursive: true, force: true})
  rmSync(stateDir, {recursive: true, force: true})
}
process.exit(code)
