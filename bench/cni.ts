// The CNI presets at 50 nodes × 10 pods: how long `up` takes when CNI plugins wire the pods,
// and how much of it is the plugin calls (the executor's "cni" stage: every ADD of every pod,
// serial per node, nodes in parallel), then `netlab probe` and `down` (which runs every DEL).
// Runs the real up() and down() in this process with their timing hook, like ./stages.ts.
//
//   node dist/bench/cni.js [PRESET…]      (as root; default: reference netlab bash)
//
// A preset whose plugin is not installed (netlab-cni, bash-cni before they are built) is
// reported as skipped. Lab names and the state directory are unique to this run; everything is
// removed at the end, also on failure.
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {stringify} from 'yaml'
import type {StepTiming} from '../src/lab/steps.js'
import {CNI_PRESETS} from '../src/topology/types.js'

process.env.NETLAB_STATE_DIR = mkdtempSync(join(tmpdir(), 'netlab-bench-cni-state-'))
const stateDir = process.env.NETLAB_STATE_DIR

const {up} = await import('../src/lab/up.js')
const {down} = await import('../src/lab/down.js')
const {loadLab} = await import('../src/lab/load.js')
const {existingNetns} = await import('../src/state/store.js')
const {netlab, runTimed} = await import('./proc.js')
const {gridTopology} = await import('./topology.js')
const {concurrency} = await import('../src/core/concurrency.js')

const NODES = 50
const PODS = 10
const presets = process.argv.length > 2 ? process.argv.slice(2) : CNI_PRESETS
const dir = mkdtempSync(join(tmpdir(), 'netlab-bench-cni-'))
const rows: string[][] = [['preset', 'up', 'of which plugin calls', 'calls', 'probe', 'down (DELs included)']]
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`
let code = 0

for (const preset of presets) {
  const lab = `bc${(Date.now() % 36 ** 3).toString(36)}${process.pid.toString(36)}-${preset}`.slice(0, 24)
  const file = join(dir, `${lab}.yaml`)
  const topo = gridTopology(lab, NODES, PODS, 'host-gw')
  ;(topo.cluster as Record<string, unknown>).cni = {preset}
  writeFileSync(file, stringify(topo))
  const missing = loadLab(file).model.cni!.chain.filter((c) => !existsSync(c.file))
  if (missing.length > 0) {
    rows.push([preset, `skipped: ${missing.map((c) => c.file).join(', ')} not installed`, '', '', '', ''])
    continue
  }
  const steps: StepTiming[] = []
  const ns = () => [...existingNetns()].filter((n) => n.startsWith(`netlab-${lab}.`))
  try {
    const u = await up(file, {progress: 'silent', onStep: (s) => steps.push(s)})
    const cni = steps.find((s) => s.step === 'stage cni')
    const calls = loadLab(file).plan.actions.filter((a) => a.tool === 'cni').length
    const probe = await netlab(['probe', lab], {env: {NETLAB_STATE_DIR: stateDir}, timeoutMs: 600_000})
    const verdict = probe.stdout.trimEnd().split('\n').at(-1) ?? `exit ${probe.code}`
    if (probe.code !== 0) code = 1
    const d = await down(lab)
    rows.push([
      preset,
      sec(u.ms),
      cni ? `${sec(cni.ms)} (${((cni.ms * concurrency()) / calls).toFixed(0)} ms a call, ${concurrency()} at once)` : '?',
      String(calls),
      `${verdict} (${sec(probe.ms)})`,
      sec(d.ms),
    ])
  } catch (error) {
    rows.push([preset, `failed: ${(error as Error).message.split('\n')[0]}`, '', '', '', ''])
    code = 1
  } finally {
    if (ns().length > 0) await down(lab).catch(() => undefined)
    const left = ns()
    if (left.length > 0) await runTimed('ip', ['-force', '-batch', '-'], {input: left.map((n) => `netns del ${n}`).join('\n') + '\n'})
  }
}
rmSync(dir, {recursive: true, force: true})
rmSync(stateDir, {recursive: true, force: true})
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
console.log(`CNI presets at ${NODES} × ${PODS} (routing host-gw):\n`)
for (const r of rows)
  console.log(
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  )
process.exitCode = code
