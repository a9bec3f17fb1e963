// Where does the time of `netlab up` go? Runs the real `up` and `down` (src/lab/up.ts,
// src/lab/down.ts) in this process with their timing hook, which reports every step and every
// executor stage as it ends: nothing here re-implements them, so nothing can drift.
//
//   node dist/bench/stages.js [TOPOLOGY]      (as root; default topologies/fifty-node.yaml)
//
// The lab is renamed to a unique name and its state goes to a temp dir, so this never meets a
// lab someone has up. Everything is removed at the end, also on failure and Ctrl-C (during
// `up`, Ctrl-C makes it roll back, as it does for `netlab up`).
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {parseDocument} from 'yaml'
import type {StepTiming} from '../src/lab/steps.js'

// before anything reads it: the state (and the namespaces' ownership mark) belong to this run
process.env.NETLAB_STATE_DIR = mkdtempSync(join(tmpdir(), 'netlab-stages-state-'))
const stateDir = process.env.NETLAB_STATE_DIR

const {up} = await import('../src/lab/up.js')
const {down} = await import('../src/lab/down.js')
const {existingNetns} = await import('../src/state/store.js')
const {netlab, ROOT, runTimed} = await import('./proc.js')

const file = resolve(process.argv[2] ?? join(ROOT, 'topologies', 'fifty-node.yaml'))
const lab = `st${(Date.now() % 36 ** 4).toString(36)}-${process.pid.toString(36)}`.slice(0, 24)
const rows: [string, number, string][] = []
const row = (prefix: string) => (s: StepTiming) =>
  rows.push([`${prefix}${s.step.startsWith('stage ') ? '  ' : ''}${s.step}`, s.ms, s.note ?? ''])

// up() and down() handle signals while they change the lab; between them, just note it and clean up
let stopping = false
process.on('SIGINT', () => (stopping = true))
process.on('SIGTERM', () => (stopping = true))

const topoDir = mkdtempSync(join(tmpdir(), 'netlab-stages-topo-'))
const renamed = join(topoDir, `${lab}.yaml`)
const doc = parseDocument(readFileSync(file, 'utf8'))
doc.set('name', lab)
writeFileSync(renamed, doc.toString())
const ns = () => [...existingNetns()].filter((n) => n.startsWith(`netlab-${lab}.`))
let code = 0
try {
  const u = await up(renamed, {progress: 'silent', onStep: row('')})
  rows.push(['= up, in-process total as up --json reports it (no node start-up)', u.ms, `${u.actions} actions`])
  const d = await down(lab, {onStep: row('down: ')})
  rows.push(['= down, in-process total', d.ms, `${d.deletedNetns} namespaces`])
  if (!stopping) {
    const startup = []
    for (let i = 0; i < 3; i++) startup.push((await netlab(['--version'])).ms)
    rows.push(['for comparison: CLI start-up (node bin/run.js --version), median of 3', startup.sort((a, b) => a - b)[1], ''])
  }
} catch (error) {
  console.error(`stages: ${(error as Error).message}`)
  code = 1
} finally {
  if (ns().length > 0) await down(lab).catch((error) => console.error(`stages: down ${lab}: ${(error as Error).message}`))
  // last resort, by name: the lab name is unique to this run, so whatever carries it is ours
  const left = ns()
  if (left.length > 0) await runTimed('ip', ['-force', '-batch', '-'], {input: left.map((n) => `netns del ${n}`).join('\n') + '\n'})
  rmSync(stateDir, {recursive: true, force: true})
  rmSync(topoDir, {recursive: true, force: true})
  if (ns().length > 0) {
    console.error(`stages: namespaces of ${lab} are left: ${ns().slice(0, 3).join(', ')}`)
    code = 1
  }
}
const w = Math.max(...rows.map((r) => r[0].length))
console.log(`netlab up, step by step: ${file} (as lab ${lab})\n`)
for (const [what, ms, note] of rows) console.log(`${what.padEnd(w)}  ${ms.toFixed(0).padStart(6)} ms  ${note}`)
mkdirSync(join(ROOT, 'bench', 'results'), {recursive: true})
writeFileSync(
  join(ROOT, 'bench', 'results', 'stages.json'),
  JSON.stringify({file, rows: rows.map(([what, ms, note]) => ({what, ms: Math.round(ms), note}))}, null, 2) + '\n',
)
process.exitCode = code
