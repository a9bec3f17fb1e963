// Where does the time of `netlab up` go? Replays what `netlab up` does (src/lab/up.ts), step by
// step in this process, with a clock around each step and each executor stage, then tears the
// lab down the way `netlab down` does (src/lab/down.ts), also timed.
//
//   node dist/bench/stages.js [TOPOLOGY]      (as root; default topologies/fifty-node.yaml)
//
// The lab is renamed to a unique name and its state goes to a temp dir, so this never meets a
// lab someone has up. Everything is removed at the end, also on failure and Ctrl-C.
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {parseDocument} from 'yaml'

process.env.NETLAB_STATE_DIR = mkdtempSync(join(tmpdir(), 'netlab-stages-state-'))
const stateDir = process.env.NETLAB_STATE_DIR

const {Executor} = await import('../src/exec/executor.js')
const {rollback} = await import('../src/exec/rollback.js')
const {buildModel} = await import('../src/model/build.js')
const {compilePlan} = await import('../src/plan/compile.js')
const {parseTopology} = await import('../src/topology/parse.js')
const {Journal, readJournal, summarize} = await import('../src/state/journal.js')
const {acquireLock} = await import('../src/state/lock.js')
const {files, labDir} = await import('../src/state/paths.js')
const {createLabDir, existingNetns, readPlan, removeLabDir, writePlan, writeState} = await import('../src/state/store.js')
const {stopLabProcesses} = await import('../src/lab/processes.js')
const {findLabNetns} = await import('../src/lab/ownership.js')
const {concurrency} = await import('../src/concurrency.js')
const {netlab, ROOT, runTimed} = await import('./proc.js')

const file = resolve(process.argv[2] ?? join(ROOT, 'topologies', 'fifty-node.yaml'))
const lab = `st${(Date.now() % 36 ** 4).toString(36)}-${process.pid.toString(36)}`.slice(0, 24)
const rows: [string, number, string][] = []
const t = async <T>(what: string, f: () => T | Promise<T>, note = ''): Promise<T> => {
  const s = performance.now()
  const r = await f()
  rows.push([what, performance.now() - s, note])
  return r
}

let stopping = false
process.on('SIGINT', () => (stopping = true))
process.on('SIGTERM', () => (stopping = true))

const doc = parseDocument(readFileSync(file, 'utf8'))
doc.set('name', lab)
const text = doc.toString()
const ns = () => [...existingNetns()].filter((n) => n.startsWith(`netlab-${lab}.`))
let code = 0
try {
  const topo = await t('parse topology (YAML)', () => parseTopology(text, file))
  const model = await t('build model (addresses, names)', () => buildModel(topo))
  const plan = await t('compile plan', () => compilePlan(model), '')
  rows[rows.length - 1][2] = `${plan.actions.length} actions`
  await t('existing namespaces (preconditions)', () => existingNetns())
  const lock = acquireLock(lab)
  try {
    await t('write state + plan.json', () => {
      createLabDir(lab)
      writeState({version: 1, lab, status: 'building', topology: file, startedAt: new Date().toISOString(), model})
      writePlan(plan)
    })
    const executor = await t('schedule', () => new Executor(plan, {journal: new Journal(files.journal(lab)), concurrency: concurrency(), workDir: labDir(lab)}))
    for (const stage of executor.stages) {
      if (stopping) throw new Error('interrupted')
      const actions = stage.lanes.reduce((n, l) => n + l.batches.reduce((m, b) => m + b.actions.length, 0), 0)
      const batches = stage.lanes.reduce((n, l) => n + l.batches.length, 0)
      const inNetns = stage.lanes.some((l) => l.netns !== null)
      const how = inNetns ? `${stage.lanes.length} namespaces, ${batches} batches via one netlab-nsexec` : `${batches} ip -batch process(es)`
      await t(`  stage ${stage.phases.join('+')}`, () => executor.runStage(stage), `${actions} actions; ${how}`)
    }
    await t('write state (up)', () => writeState({version: 1, lab, status: 'up', topology: file, startedAt: new Date().toISOString(), model}))
  } finally {
    lock.release()
  }
  const up = rows.reduce((n, r) => n + r[1], 0)
  rows.push(['= in-process total of up (node start-up not included)', up, ''])
  // src/lab/down.ts, step by step
  const downStart = rows.length
  await t('down: stop lab processes', () => stopLabProcesses(lab))
  const saved = await t('down: read plan.json', () => readPlan(lab))
  rows[rows.length - 1][2] = `${saved?.actions.length ?? 0} actions`
  const summary = await t('down: read journal', () => summarize(readJournal(files.journal(lab))))
  const r = await t('down: rollback (one ip -batch of netns del)', () => rollback(saved ?? plan, summary))
  rows[rows.length - 1][2] = `${r.deleted.length} namespaces`
  const found = await t('down: look for marked leftovers', () => findLabNetns(lab))
  rows[rows.length - 1][2] = `${found.marked.length + found.unmarked.length} found`
  await t('down: remove state dir', () => removeLabDir(lab))
  rows.push(['= in-process total of down', rows.slice(downStart).reduce((n, x) => n + x[1], 0), ''])
  const startup = []
  for (let i = 0; i < 3; i++) startup.push((await netlab(['--version'])).ms)
  rows.push(['for comparison: CLI start-up (node bin/run.js --version), median of 3', startup.sort((a, b) => a - b)[1], ''])
} catch (error) {
  console.error(`stages: ${(error as Error).message}`)
  code = 1
} finally {
  const left = ns()
  if (left.length > 0) await runTimed('ip', ['-force', '-batch', '-'], {input: left.map((n) => `netns del ${n}`).join('\n') + '\n'})
  if (ns().length > 0) {
    await netlab(['down', lab], {env: {NETLAB_STATE_DIR: stateDir}})
  }
  rmSync(stateDir, {recursive: true, force: true})
  if (ns().length > 0) {
    console.error(`stages: namespaces of ${lab} are left: ${ns().slice(0, 3).join(', ')}`)
    code = 1
  }
}
const w = Math.max(...rows.map((r) => r[0].length))
console.log(`netlab up, step by step: ${file} (as lab ${lab})\n`)
for (const [what, ms, note] of rows) console.log(`${what.padEnd(w)}  ${ms.toFixed(0).padStart(6)} ms  ${note}`)
mkdirSync(join(ROOT, 'bench', 'results'), {recursive: true})
writeFileSync(join(ROOT, 'bench', 'results', 'stages.json'), JSON.stringify({file, rows: rows.map(([what, ms, note]) => ({what, ms: Math.round(ms), note}))}, null, 2) + '\n')
process.exitCode = code
