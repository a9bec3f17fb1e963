// Services at scale: the 50 × 10 lab (host-gw) with 200 Services × 5 endpoints against the same
// lab without Services, per kube-proxy mode: plan actions and plan size, `up` time (the target:
// ≤ 1.5× the lab without Services), kube-proxy's rules per node (what one node's nat and filter
// tables hold), and `down`. Runs the real up() and down() in this process, like ./cni.ts; the
// labs alternate (without, with, without, …) so each ratio compares runs made a minute apart.
//
//   node dist/bench/services.js [--repeat N] [MODE…]      (as root; default: iptables, 3 rounds)
//
// Lab names and the state directory are unique to this run; everything is removed at the end,
// also on failure.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {stringify} from 'yaml'

process.env.NETLAB_STATE_DIR = mkdtempSync(join(tmpdir(), 'netlab-bench-svc-state-'))
const stateDir = process.env.NETLAB_STATE_DIR

const {up} = await import('../src/lab/up.js')
const {down} = await import('../src/lab/down.js')
const {loadLab} = await import('../src/lab/load.js')
const {existingNetns} = await import('../src/state/store.js')
const {runTimed} = await import('./proc.js')
const {gridTopology} = await import('./topology.js')

const NODES = 50
const PODS = 10
const SERVICES = 200
const ENDPOINTS = 5
const args = process.argv.slice(2)
const repeatAt = args.indexOf('--repeat')
const repeat = repeatAt >= 0 ? Number(args.splice(repeatAt, 2)[1]) : 3
const modes = args.length > 0 ? args : ['iptables']
const dir = mkdtempSync(join(tmpdir(), 'netlab-bench-svc-'))

/**
 * 50 × 10 pods, each serving 8080 and labelled with its group of ENDPOINTS (100 groups); Service i
 * selects group i mod 100, so every pod is an endpoint of two Services. Every fourth is a NodePort
 * (every eighth of them externalTrafficPolicy Local), every tenth has ClientIP affinity.
 */
function servicesTopology(lab: string, proxy?: string): Record<string, unknown> {
  const topo = gridTopology(lab, NODES, PODS, 'host-gw')
  if (!proxy) return topo
  let k = 0
  topo.nodes = (topo.nodes as {name: string}[]).map((n) => ({
    name: n.name,
    pods: Array.from({length: PODS}, (_, i) => ({
      name: `${n.name}-p${i}`,
      labels: {group: `g${Math.floor(k++ / ENDPOINTS)}`},
      ports: [{name: 'http', port: 8080}],
    })),
  }))
  const groups = (NODES * PODS) / ENDPOINTS
  ;(topo.cluster as Record<string, unknown>).proxy = proxy
  topo.services = Array.from({length: SERVICES}, (_, i) => ({
    name: `svc-${i}`,
    ...(i % 4 === 0 ? {type: 'NodePort', ...(i % 32 === 0 ? {externalTrafficPolicy: 'Local'} : {})} : {}),
    ...(i % 10 === 0 ? {sessionAffinity: 'ClientIP'} : {}),
    selector: {group: `g${i % groups}`},
    ports: [{name: 'http', port: 80, targetPort: 'http'}],
  }))
  return topo
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`
const rows: string[][] = [['lab', 'plan actions', 'plan JSON', 'up (median)', 'up runs', 'ratio', 'rules per node', 'down (median)']]
let code = 0

async function measure(name: string, topo: Record<string, unknown>): Promise<{up: number; down: number; rules?: string}> {
  const lab = String(topo.name)
  const file = join(dir, `${lab}.yaml`)
  writeFileSync(file, stringify(topo))
  const ns = () => [...existingNetns()].filter((n) => n.startsWith(`netlab-${lab}.`))
  try {
    const u = await up(file, {progress: 'silent'})
    // kube-proxy's rules in one node, as iptables-save lists them
    const save = execFileSync('ip', ['netns', 'exec', `netlab-${lab}.n0`, 'iptables-save'], {encoding: 'utf8', maxBuffer: 64 << 20})
    const kube = save.split('\n').filter((l) => /^-[AI] \S+ .*KUBE-|^-A KUBE-/.test(l)).length
    const d = await down(lab)
    return {up: u.ms, down: d.ms, rules: `${kube}`}
  } catch (error) {
    code = 1
    throw new Error(`${name}: ${(error as Error).message.split('\n')[0]}`, {cause: error})
  } finally {
    if (ns().length > 0) await down(lab).catch(() => undefined)
    const left = ns()
    if (left.length > 0) await runTimed('ip', ['-force', '-batch', '-'], {input: left.map((n) => `netns del ${n}`).join('\n') + '\n'})
  }
}

try {
  const labs = [undefined, ...modes].map((proxy) => {
    const topo = servicesTopology(`bs${process.pid.toString(36)}-${proxy ?? 'none'}`.slice(0, 24), proxy)
    writeFileSync(join(dir, 'plan.yaml'), stringify(topo))
    const label = proxy ? `${SERVICES} Services × ${ENDPOINTS}, ${proxy}` : 'no Services'
    return {label, topo, plan: loadLab(join(dir, 'plan.yaml')).plan, runs: [] as {up: number; down: number; rules?: string}[]}
  })
  for (let r = 0; r < repeat; r++) for (const l of labs) l.runs.push(await measure(l.label, l.topo))
  for (const {label, plan, runs} of labs)
    rows.push([
      label,
      String(plan.actions.length),
      `${(JSON.stringify(plan).length / 1e6).toFixed(1)} MB`,
      sec(median(runs.map((x) => x.up))),
      runs.map((x) => (x.up / 1000).toFixed(2)).join(' '),
      '',
      runs[0].rules ?? '',
      sec(median(runs.map((x) => x.down))),
    ])
  const base = Number(rows[1][3].split(' ')[0])
  for (const r of rows.slice(2)) {
    const ratio = Number(r[3].split(' ')[0]) / base
    r[5] = `${ratio.toFixed(2)}× ${ratio <= 1.5 ? '✓' : '✗'} (target ≤ 1.5×)`
  }
} finally {
  rmSync(dir, {recursive: true, force: true})
  rmSync(stateDir, {recursive: true, force: true})
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
console.log(`Services at ${NODES} × ${PODS} (routing host-gw), ${repeat} runs each:\n`)
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '))
process.exitCode = code
