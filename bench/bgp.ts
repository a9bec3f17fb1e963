// routing bgp at scale: 50 × 10 in Calico's node-to-node full mesh (50 × 49 / 2 sessions) against
// the same lab with two route reflectors (2 × 48 + 1), and host-gw's 50 × 10 for reference; a
// 10 × 5 full mesh for "converges in about a second". For each: `up` (its whole time, and the
// part that is BGP converging: from the first BIRD started until every node has learned every
// block), the sessions, and the daemons' memory (the summed proportional set size, Pss, of every
// BIRD of the lab, read from /proc/PID/smaps_rollup once it has converged), then `down`.
//
//   node dist/bench/bgp.js [--repeat N]      (as root; default 1 run of each)
//
// Runs the real up() and down() in this process, like ./services.ts; lab names and the state
// directory are unique to this run, and everything is removed at the end, also on failure.
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {stringify} from 'yaml'

process.env.NETLAB_STATE_DIR = mkdtempSync(join(tmpdir(), 'netlab-bench-bgp-state-'))
const stateDir = process.env.NETLAB_STATE_DIR

const {up} = await import('../src/lab/up.js')
const {down} = await import('../src/lab/down.js')
const {existingNetns} = await import('../src/state/store.js')
const {processesWithArg} = await import('../src/host/processes.js')
const {gridTopology} = await import('./topology.js')

interface Case {
  what: string
  nodes: number
  pods: number
  routing: 'bgp' | 'host-gw'
  reflectors?: string[]
}
const CASES: Case[] = [
  {what: 'bgp, full mesh', nodes: 10, pods: 5, routing: 'bgp'},
  {what: 'host-gw (reference)', nodes: 50, pods: 10, routing: 'host-gw'},
  {what: 'bgp, full mesh', nodes: 50, pods: 10, routing: 'bgp'},
  {what: 'bgp, route reflectors n0, n1', nodes: 50, pods: 10, routing: 'bgp', reflectors: ['n0', 'n1']},
]
const at = process.argv.indexOf('--repeat')
const repeat = at > 0 ? Number(process.argv[at + 1]) : 1
const dir = mkdtempSync(join(tmpdir(), 'netlab-bench-bgp-'))
const runId = `${(Date.now() % 36 ** 3).toString(36)}${(process.pid % 36 ** 2).toString(36)}`
let labs = 0

/** The summed Pss (kB) of the lab's BIRDs, and how many there are. */
function birdMemory(lab: string): {daemons: number; pssKB: number} {
  const pids = processesWithArg((a) => a.startsWith('netlab-bird:') && a.split(':')[1] === lab).map((p) => p.pid)
  let pssKB = 0
  for (const pid of pids) {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))
    pssKB += m ? Number(m[1]) : 0
  }
  return {daemons: pids.length, pssKB}
}

interface Row {
  c: Case
  upMs: number
  convergedMs?: number
  sessions?: number
  daemons?: number
  pssKB?: number
  downMs: number
}

async function measure(c: Case): Promise<Row> {
  const lab = `bb${runId}-${labs++}`
  const topo = gridTopology(lab, c.nodes, c.pods, c.routing) as {cluster: Record<string, unknown>}
  if (c.reflectors) topo.cluster.bgp = {routeReflectors: c.reflectors}
  const file = join(dir, `${lab}.yaml`)
  writeFileSync(file, stringify(topo))
  const ns = () => [...existingNetns()].filter((n) => n.startsWith(`netlab-${lab}.`))
  try {
    const u = await up(file, {progress: 'silent'})
    const mem = c.routing === 'bgp' ? birdMemory(lab) : undefined
    const d0 = performance.now()
    await down(lab)
    return {
      c,
      upMs: u.ms,
      ...(u.bgp ? {convergedMs: u.bgp.ms, sessions: u.bgp.sessions} : {}),
      ...(mem ? {daemons: mem.daemons, pssKB: mem.pssKB} : {}),
      downMs: Math.round(performance.now() - d0),
    }
  } finally {
    if (ns().length > 0) await down(lab).catch(() => undefined)
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const sec = (ms: number | undefined) => (ms === undefined ? '–' : `${(ms / 1000).toFixed(2)} s`)

try {
  const lines = [
    '| lab | up (whole) | of which BGP converging | sessions | BIRD daemons | their memory (Pss, summed) | per daemon | down |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ]
  for (const c of CASES) {
    const rows: Row[] = []
    for (let i = 0; i < repeat; i++) rows.push(await measure(c))
    const r = rows[0]
    const pss = r.pssKB === undefined ? undefined : median(rows.map((x) => x.pssKB!))
    lines.push(
      `| ${c.nodes} × ${c.pods}, ${c.what} | ${sec(median(rows.map((x) => x.upMs)))} | ` +
        `${r.convergedMs === undefined ? '–' : sec(median(rows.map((x) => x.convergedMs!)))} | ${r.sessions ?? '–'} | ` +
        `${r.daemons ?? '–'} | ${pss === undefined ? '–' : `${(pss / 1024).toFixed(1)} MB`} | ` +
        `${pss === undefined ? '–' : `${Math.round(pss / r.daemons!)} kB`} | ${sec(median(rows.map((x) => x.downMs)))} |`,
    )
    console.error(lines.at(-1))
  }
  console.log(lines.join('\n'))
} finally {
  rmSync(dir, {recursive: true, force: true})
  rmSync(stateDir, {recursive: true, force: true})
}
