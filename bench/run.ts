// netlab benchmark: for each topology size and routing mode, build the same network twice —
// the hard way (`netlab plan --format sh`: one process per command, run by bash) and with
// `netlab up` — check that both really work, tear them down, and compare.
//
//   npm run bench                                   # three-node, 50x10, 100x10; every routing mode
//   npm run bench -- --sizes three,10x10 --repeat 1 # a quick check
//   node dist/bench/run.js --help
//
// Run as root. Every lab gets a unique name and is removed again, also on failure and Ctrl-C.
// Exit code: 0 when every network passed verification (targets missed or not), 1 when one did
// not, 2 for a bad command line, 130 when interrupted.
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import {loadLab} from '../src/lab/load.js'
import {labDir} from '../src/state/paths.js'
import {ROUTING_MODES} from '../src/modes/index.js'
import {bgpSessions} from '../src/modes/bgp-peers.js'
import type {RoutingMode} from '../src/topology/types.js'
import {firstLine, interruptRunning, netlab, parseJson, ROOT, runTimed} from './proc.js'
import {runFloor} from './floor.js'
import {upPlot} from './plot.js'
import {
  flagWorse,
  median,
  nodePairActions,
  probePerCheck,
  renderTable,
  summarize,
  tableRows,
  type Case,
  type NaiveRun,
  type NetlabRun,
} from './report.js'
import {describeMachine, kernelBaseline, machine, neighbourTable, netnsList, settle, tableFullsSince, type Quiet} from './system.js'
import {gridTopology, LabNames, parseSize, rackSizes, writeTopology, type Size} from './topology.js'
import {stringify} from 'yaml'
import {pingSample, probeAvailable, runPingSample, runProbe} from './verify.js'

const DEFAULT_SIZES = 'three,50x10,100x10,10x100,200x5'
const DEFAULT_MODE_SIZES = 'three,50x10,1000x10'
const DEFAULT_NAIVE_SIZES = '50x10'
const DEFAULT_FULL_SIZES = '50x10'
const BASELINE = join(ROOT, 'bench', 'results', 'baseline.json')
/** a lab of this many pods or more is a large one: --repeat-large rounds */
const LARGE_PODS = 10_000
/**
 * Node-to-node entries (nodes² in host-gw, vxlan…) past which the bench does not build a mode at a
 * size: its plan alone outgrows Node's heap (vxlan at 1000 nodes, ~3 million entries, ran out of
 * 4 GB compiling it) long before the machine would.
 */
const MAX_NODE_PAIR_ENTRIES = 300_000
/**
 * BGP sessions (routing bgp: a BIRD per node, each session a keepalive a second) past which the
 * bench does not build the lab. 1000x10 is a full mesh per rack of 125: 62,000 sessions; the
 * first 430 BIRDs kept both cores busy (437 runnable processes, 90 % system time) and every
 * further start took 1.7 s. Route reflectors (bench/bgp.ts) are how such a cluster is built.
 */
const MAX_BGP_SESSIONS = 10_000

const HELP = `Usage: npm run bench -- [options]     (or: node dist/bench/run.js [options], as root)

  --sizes LIST        topologies: "three" (topologies/three-node.yaml) and NODESxPODS
                      (default: ${DEFAULT_SIZES})
  --only LIST         the same as --sizes: a subset of the bench, e.g. --only 50x10
  --modes LIST        routing modes (default: every mode netlab has: ${ROUTING_MODES.join(',')})
  --mode-sizes LIST   sizes at which the modes other than host-gw run (default: ${DEFAULT_MODE_SIZES};
                      host-gw runs at every size)
  --repeat N          netlab up/down runs (rounds, each with its floor) per topology; the table shows
                      medians (default 3)
  --repeat-large N    rounds for labs of ${LARGE_PODS.toLocaleString('en')} pods or more (default 3; the first is
                      probed; this machine's kernel stages vary by half from one round to the next)
  --no-floor          do not measure the kernel's floor (bench/floor.ts) beside each round
  --baseline FILE     the committed run whose ratios this run's are compared with (default
                      bench/results/baseline.json); --save-baseline writes this run there
  --plot FILE.svg     up time against pods, a line per mode and the floor
  --skip-naive        do not run the hard-way script at all
  --naive-sizes LIST  run the hard-way script (host-gw) only for these sizes (default: ${DEFAULT_NAIVE_SIZES}; it
                      starts one process per command, so 100x10 alone takes several minutes)
  --full-sizes LIST   sizes whose first host-gw run is also probed with --full (default: ${DEFAULT_FULL_SIZES})
  --no-probe          verify netlab's labs with the ping sample only
  --probe-sizes LIST  sizes whose first run is probed (default: every size; the representative set
                      is about 12 checks a pod: 130,000 at 100x100, 122,000 at 1000x10 routes)
  --no-cni            skip the CNI presets at 50x10 (bench/cni.ts; plugin-call time apart)
  --out FILE          raw results (default bench/results/latest.json)
  -h, --help          this text`

class Interrupted extends Error {}

let stopping = false
let cleaningUp = false
const live = new Set<string>() // labs that may have namespaces or state right now

function onSignal(sig: NodeJS.Signals): void {
  if (cleaningUp) {
    process.stderr.write(`bench: ${sig}: cleaning up, please wait\n`)
    return
  }
  if (!stopping) process.stderr.write(`\nbench: ${sig}: stopping the running command and removing every lab of this run...\n`)
  stopping = true
  // `netlab up` rolls itself back on SIGINT; SIGTERM stops the naive script's bash.
  interruptRunning()
}

function checkStop(): void {
  if (stopping) throw new Interrupted('interrupted')
}

function log(msg: string): void {
  process.stdout.write(`${msg}\n`)
}

const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`
const FULL = (n: number) => (n > 0 ? ` [meanwhile the machine-wide neighbour table was full ${n} times: see the warning at the top]` : '')

function labNetns(lab: string): string[] {
  return netnsList().filter((ns) => ns.startsWith(`netlab-${lab}.`))
}

/** Make sure nothing of `lab` is left: `netlab down` (state or marks), then delete any namespace still named for it. */
async function ensureGone(lab: string): Promise<string | undefined> {
  if (labNetns(lab).length > 0 || existsSync(labDir(lab))) await netlab(['down', lab, '--json'], {timeoutMs: 300_000})
  const left = labNetns(lab)
  if (left.length > 0) {
    // Named netlab-<this run's unique lab>.*: ours, even if the mark never got written.
    await runTimed('ip', ['-force', '-batch', '-'], {input: left.map((ns) => `netns del ${ns}`).join('\n') + '\n'})
  }
  const still = labNetns(lab)
  if (still.length > 0) return `${still.length} namespace(s) of lab ${lab} could not be removed: ${still.slice(0, 3).join(', ')}`
  live.delete(lab)
  return undefined
}

interface Options {
  sizes: Size[]
  modes: RoutingMode[]
  repeat: number
  naiveSizes: Set<string>
  modeSizes: Set<string>
  fullSizes: Set<string>
  probe: boolean
  cni: boolean
  out: string
  repeatLarge: number
  floor: boolean
  baseline: string
  saveBaseline: boolean
  plot?: string
  /** undefined: every size */
  probeSizes?: Set<string>
}

function options(): Options | undefined {
  const {values} = parseArgs({
    options: {
      sizes: {type: 'string'},
      only: {type: 'string'},
      'mode-sizes': {type: 'string', default: DEFAULT_MODE_SIZES},
      'full-sizes': {type: 'string', default: DEFAULT_FULL_SIZES},
      modes: {type: 'string', default: ROUTING_MODES.join(',')},
      repeat: {type: 'string', default: '3'},
      'skip-naive': {type: 'boolean', default: false},
      'naive-sizes': {type: 'string'},
      'no-probe': {type: 'boolean', default: false},
      'probe-sizes': {type: 'string'},
      'no-cni': {type: 'boolean', default: false},
      out: {type: 'string', default: join(ROOT, 'bench', 'results', 'latest.json')},
      'repeat-large': {type: 'string', default: '3'},
      'no-floor': {type: 'boolean', default: false},
      baseline: {type: 'string', default: BASELINE},
      'save-baseline': {type: 'boolean', default: false},
      plot: {type: 'string'},
      help: {type: 'boolean', short: 'h', default: false},
    },
    strict: true,
  })
  if (values.help) {
    log(HELP)
    return undefined
  }
  const sizes = (values.only ?? values.sizes ?? DEFAULT_SIZES).split(',').filter(Boolean).map(parseSize)
  const labels = (list: string) =>
    new Set(
      list
        .split(',')
        .filter(Boolean)
        .map((x) => parseSize(x).label),
    )
  const modes = values.modes!.split(',').filter(Boolean) as RoutingMode[]
  const bad = modes.find((m) => !ROUTING_MODES.includes(m))
  if (bad) throw new Error(`unknown routing mode "${bad}" (netlab has: ${ROUTING_MODES.join(', ')})`)
  const repeat = Number(values.repeat)
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error('--repeat must be a whole number ≥ 1')
  const repeatLarge = Number(values['repeat-large'])
  if (!Number.isInteger(repeatLarge) || repeatLarge < 1) throw new Error('--repeat-large must be a whole number ≥ 1')
  const naiveSizes = new Set(values['skip-naive'] ? [] : labels(values['naive-sizes'] ?? DEFAULT_NAIVE_SIZES))
  const modeSizes = labels(values['mode-sizes']!)
  const fullSizes = labels(values['full-sizes']!)
  return {
    sizes,
    modes,
    repeat,
    naiveSizes,
    modeSizes,
    fullSizes,
    probe: !values['no-probe'],
    cni: !values['no-cni'],
    out: values.out!,
    repeatLarge,
    floor: !values['no-floor'],
    baseline: values.baseline!,
    saveBaseline: values['save-baseline']!,
    plot: values.plot,
    probeSizes: values['probe-sizes'] === undefined ? undefined : labels(values['probe-sizes']),
  }
}

interface Context {
  dir: string
  names: LabNames
  baseline: Quiet
  probe: boolean
}

/** The hard way: the plan as a bash script, one process per command. */
async function naiveRun(ctx: Context, size: Size, mode: RoutingMode, c: Case): Promise<void> {
  const lab = ctx.names.next(size)
  const file = writeTopology(ctx.dir, size, lab, mode)
  const {model, plan} = loadLab(file)
  const sh = await netlab(['plan', file, '--format', 'sh'])
  if (sh.code !== 0) {
    c.naive = {lab, commands: 0, upMs: 0, exitCode: sh.code, error: `netlab plan --format sh failed: ${firstLine(sh.stderr)}`}
    return
  }
  const script = join(ctx.dir, `${lab}.sh`)
  writeFileSync(script, sh.stdout)
  const commands = plan.actions.length
  const created = plan.actions.filter((a) => a.creates).map((a) => a.creates!)
  log(`  naive: bash ${lab}.sh (${commands} commands, one process each)...`)
  live.add(lab)
  const run: NaiveRun = {lab, commands, upMs: 0, exitCode: -1, error: 'interrupted'}
  c.naive = run
  try {
    const r = await runTimed('bash', [script], {quiet: true, timeoutMs: 4 * 3600_000})
    Object.assign(run, {upMs: Math.round(r.ms), exitCode: r.code, error: stopping ? 'interrupted' : undefined})
    if (r.code !== 0 && !stopping)
      run.error =
        firstLine(
          r.stderr
            .split('\n')
            .filter((l) => l.startsWith('failed:'))
            .join('\n') || r.stderr,
        ) || `bash exited ${r.code}`
    log(`  naive: ${r.code === 0 ? 'up' : `FAILED (${run.error})`} in ${sec(r.ms)}`)
    checkStop()
    if (r.code === 0) {
      run.ping = await runPingSample(pingSample(model))
      log(
        `  naive: ping sample ${run.ping.passed}/${run.ping.passed + run.ping.failed}${run.ping.failed ? `  FAILED: ${run.ping.failures.map((f) => `${f.from} -> ${f.to} ${f.ip} (${f.detail})`).join('; ')}${FULL(run.ping.tableFulls)}` : ''}`,
      )
    }
  } finally {
    // The hard-way teardown: every namespace it created, in one `ip -batch`.
    const existing = new Set(netnsList())
    const dels = created.filter((ns) => existing.has(ns)).reverse()
    if (dels.length > 0) {
      const d = await runTimed('ip', ['-force', '-batch', '-'], {input: dels.map((ns) => `netns del ${ns}`).join('\n') + '\n'})
      run.downMs = Math.round(d.ms)
    }
    const problem = await ensureGone(lab)
    if (problem) run.error = [run.error, problem].filter(Boolean).join('; ')
  }
}

interface UpJson {
  ms: number
  fallbacks: number
  maxRssKB: number
}
interface DownJson {
  labs: {ms: number}[]
  maxRssKB: number
}

async function netlabRun(ctx: Context, size: Size, mode: RoutingMode, withProbe: boolean, withFull: boolean, c: Case): Promise<void> {
  const lab = ctx.names.next(size)
  const file = writeTopology(ctx.dir, size, lab, mode)
  const {model} = loadLab(file)
  live.add(lab)
  const run: NetlabRun = {lab, upWallMs: 0, error: 'interrupted'}
  c.runs.push(run)
  try {
    const up = await netlab(['up', file, '--json'], {timeoutMs: 600_000})
    const uj = parseJson<UpJson>(up.stdout)
    Object.assign(run, {upWallMs: Math.round(up.ms), upMs: uj?.ms, upRssKB: uj?.maxRssKB, upFallbacks: uj?.fallbacks, error: undefined})
    if (up.code !== 0 || !uj) {
      run.error = `netlab up failed (exit ${up.code}): ${up.stderr.trim().split('\n').slice(0, 3).join(' | ')}`
      log(`  netlab: ${run.error}`)
      return
    }
    checkStop()
    run.ping = await runPingSample(pingSample(model))
    checkStop()
    if (withProbe) run.probe = await runProbe(lab)
    checkStop()
    if (withFull) run.probeFull = await runProbe(lab, true)
    checkStop()
    const down = await netlab(['down', lab, '--json'], {timeoutMs: 300_000})
    const dj = parseJson<DownJson>(down.stdout)
    if (down.code !== 0 || !dj) run.error = `netlab down failed (exit ${down.code}): ${firstLine(down.stderr)}`
    else Object.assign(run, {downWallMs: Math.round(down.ms), downMs: dj.labs[0]?.ms, downRssKB: dj.maxRssKB})
    const p = run.probe
    log(
      `  netlab ${mode} ${size.label}: up ${sec(run.upWallMs)} (self ${run.upMs} ms, ${Math.round((run.upRssKB ?? 0) / 1024)} MB), pings ${run.ping.passed}/${run.ping.passed + run.ping.failed}` +
        [p, run.probeFull]
          .filter((x) => x !== undefined)
          .map(
            (x) =>
              `, probe${x.full ? ' --full' : ''} ${x.error ? `ERROR ${x.error}` : `${x.passed} passed ${x.failed} failed in ${sec(x.wallMs)}, ${Math.round((x.peakTreeKB ?? 0) / 1024)} MB`}`,
          )
          .join('') +
        (run.downWallMs !== undefined ? `, down ${sec(run.downWallMs)} (self ${run.downMs} ms)` : `, ${run.error}`),
    )
    if (run.ping.failed)
      log(
        `  netlab: ping failures: ${run.ping.failures.map((f) => `${f.from} -> ${f.to} ${f.ip} (${f.detail})`).join('; ')}${FULL(run.ping.tableFulls)}`,
      )
    if (p && p.failures.length) log(`  netlab: probe failures (first ${p.failures.length}): ${p.failures.join('; ')}${FULL(p.tableFulls)}`)
  } finally {
    const problem = await ensureGone(lab)
    if (problem) run.error = [run.error, problem].filter(Boolean).join('; ')
  }
}

async function main(): Promise<number> {
  let opts: Options | undefined
  try {
    opts = options()
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n\n${HELP}\n`)
    return 2
  }
  if (!opts) return 0
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: run as root (it builds network namespaces)\n')
    return 2
  }
  const m = machine()
  log(describeMachine(m))
  const neigh = neighbourTable()
  const startup = [] as number[]
  for (let i = 0; i < 3; i++) startup.push((await netlab(['--version'])).ms)
  const cliStartupMs = Math.round(median(startup))
  const hasProbe = opts.probe && (await probeAvailable())
  log(
    `netlab CLI start-up (node bin/run.js --version): ${cliStartupMs} ms; netlab probe: ${hasProbe ? 'used' : opts.probe ? 'not available, ping sample only' : 'off (--no-probe)'}`,
  )
  const baseline = await kernelBaseline()
  const fulls = tableFullsSince(neigh?.tableFulls)
  if (neigh && fulls > 0) {
    log(
      `warning: the machine-wide neighbour (ARP) table is full right now: the kernel refused ${fulls} new entries in the last few seconds (it holds ${neigh.entries}, permanent ones included; new dynamic ones are refused past ${neigh.thresh3}). ` +
        'Other labs on this machine fill it; labs that learn neighbours by ARP (small ones, like three-node) may then fail verification through no fault of their own.',
    )
  }

  const dir = mkdtempSync(join(tmpdir(), 'netlab-bench-'))
  const ctx: Context = {dir, names: new LabNames(), baseline, probe: hasProbe}
  const cases: Case[] = []
  const started = new Date()
  let interrupted = false
  let fatal: string | undefined
  try {
    for (const size of opts.sizes) {
      // the other modes are compared with host-gw at a few sizes; host-gw runs at every size
      const modes = opts.modes.filter((mode) => mode === 'host-gw' || opts.modeSizes.has(size.label))
      const sized: Case[] = []
      for (const mode of modes) {
        checkStop()
        const skip = (why: string) => {
          cases.push({
            size: size.label,
            mode,
            nodes: size.nodes ?? 0,
            pods: 0,
            namespaces: 0,
            actions: 0,
            nodePairActions: 0,
            runs: [],
            failed: false,
            skipped: why,
          })
          log(`\n== ${size.label}, routing ${mode}: ${why}`)
        }
        const tooBig = nodePairLimit(dir, size, mode)
        if (tooBig) {
          cases.push({...tooBig, runs: [], failed: false})
          log(`\n== ${size.label}, routing ${mode}: not built: ${tooBig.skipped}`)
          continue
        }
        let lab: ReturnType<typeof loadLab>
        try {
          lab = loadLab(writeTopology(dir, size, 'counting', mode)) // for the counts only; never built
        } catch (error) {
          // a mode whose lab this size cannot be (aws-vpc's pods in a /20 underlay at 10,000 pods)
          skip(`not valid at this size: ${firstLine((error as Error).message)}`)
          continue
        } finally {
          rmSync(join(dir, 'counting.yaml'), {force: true})
        }
        const {model, plan} = lab
        const sessions = model.bgp ? bgpSessions(model).length : 0
        if (sessions > MAX_BGP_SESSIONS) {
          skip(
            `${sessions.toLocaleString('en')} BGP sessions (a BIRD per node, a keepalive a second each), more than the ` +
              `${MAX_BGP_SESSIONS.toLocaleString('en')} the bench builds: they keep every core busy before half the BIRDs have started`,
          )
          continue
        }
        const pods = model.nodes.reduce((n, x) => n + x.pods.length, 0)
        const namespaces = plan.actions.filter((a) => a.creates).length
        const c: Case = {
          size: size.label,
          mode,
          nodes: model.nodes.length,
          pods,
          namespaces,
          actions: plan.actions.length,
          nodePairActions: nodePairActions(model, plan),
          runs: [],
          failed: false,
        }
        cases.push(c)
        sized.push(c)
        log(
          `\n== ${size.label === 'three' ? 'three-node' : size.label} (${model.nodes.length} nodes, ${pods} pods, ${namespaces} namespaces, ${plan.actions.length} actions), routing ${mode}`,
        )
        // the hard way once per size, with host-gw (the ratio's target is host-gw's)
        if (opts.naiveSizes.has(size.label) && mode === 'host-gw') {
          await naiveRun(ctx, size, mode, c)
          checkStop()
          log(`  (waiting for the kernel to finish deleting namespaces: ${sec(await settle(namespaces, baseline))})`)
        } else c.naiveSkipped = opts.naiveSizes.size === 0 ? '--skip-naive' : mode !== 'host-gw' ? 'host-gw only' : 'not in --naive-sizes'
      }
      // Round by round, each mode once per round: a mode's ratio to host-gw compares runs made
      // minutes apart at most, not a quiet quarter of an hour with a busy one (this machine's
      // kernel stages vary by half from one minute to the next).
      const rounds = sized.some((c) => c.pods >= LARGE_PODS) ? opts.repeatLarge : opts.repeat
      for (let i = 0; i < rounds; i++)
        for (const c of sized) {
          checkStop()
          if (opts.floor) {
            await floorRound(ctx, size, c)
            checkStop()
            log(`  (settled in ${sec(await settle(c.namespaces, baseline))})`)
          }
          const first = hasProbe && i === 0 && (opts.probeSizes?.has(size.label) ?? true)
          await netlabRun(ctx, size, c.mode, first, first && c.mode === 'host-gw' && opts.fullSizes.has(size.label), c)
          checkStop()
          log(`  (settled in ${sec(await settle(c.namespaces, baseline))})`)
        }
      sized.forEach(summarize)
    }
  } catch (error) {
    if (error instanceof Interrupted) interrupted = true
    else fatal = (error as Error).stack ?? String(error)
  } finally {
    cleaningUp = true
    for (const lab of [...live]) {
      const problem = await ensureGone(lab)
      if (problem) process.stderr.write(`bench: ${problem}\n`)
    }
    rmSync(dir, {recursive: true, force: true})
    cleaningUp = false
  }
  cases.forEach(summarize)
  const committed = readBaseline(opts.baseline)
  referenceProbe(cases, committed)
  flagWorse(cases, committed)

  const rows = tableRows(cases)
  const failed = cases.filter((c) => c.failed)
  mkdirSync(join(opts.out, '..'), {recursive: true})
  writeFileSync(
    opts.out,
    JSON.stringify(
      {
        startedAt: started.toISOString(),
        finishedAt: new Date().toISOString(),
        machine: m,
        cliStartupMs,
        loadavgAtEnd: machine().loadavg,
        options: {...opts, sizes: opts.sizes.map((x) => x.label), naiveSizes: [...opts.naiveSizes]},
        cases,
        rows,
        interrupted,
        fatal,
      },
      null,
      2,
    ) + '\n',
  )

  log(`\n${interrupted ? 'INTERRUPTED: partial results\n' : ''}${describeMachine(m)}`)
  log(
    `load average at the end: ${machine().loadavg.join(' ')}; medians of ${opts.repeat} netlab run(s), naive once; wall clock from outside the process (in brackets: what netlab reports from inside); CLI start-up alone ${cliStartupMs} ms\n`,
  )
  log(renderTable(rows))
  const notBuilt = cases.filter((c) => c.skipped)
  if (notBuilt.length > 0) log(`\nnot built: ${notBuilt.map((c) => `${c.size} ${c.mode} (${c.skipped})`).join('; ')}`)
  if (opts.plot) {
    writeFileSync(opts.plot, upPlot(cases))
    log(`plot: ${opts.plot}`)
  }
  if (opts.saveBaseline && !interrupted && !fatal) {
    writeFileSync(opts.baseline, readFileSync(opts.out))
    log(`saved as the baseline the next run compares with: ${opts.baseline} (commit it)`)
  }
  if (opts.cni && !interrupted) log(`\n${await cniSection()}`)
  log(`\nraw results: ${opts.out}`)
  if (failed.length > 0 && !interrupted)
    log(`\nVERIFICATION FAILED for: ${failed.map((c) => `${c.size}/${c.mode}`).join(', ')} (details above and in the JSON)`)
  const left = netnsList().filter((ns) => ns.startsWith(`netlab-nb${ctx.names.runId}-`))
  if (left.length > 0) log(`\nWARNING: ${left.length} namespace(s) of this run are still there: ${left.slice(0, 5).join(', ')}`)
  if (fatal) {
    process.stderr.write(`bench: ${fatal}\n`)
    return 1
  }
  if (interrupted) return 130
  return failed.length > 0 || left.length > 0 ? 1 : 0
}

/** The kernel's floor for the lab of `c` (bench/floor.ts), in a lab of its own, removed again whatever happens. */
async function floorRound(ctx: Context, size: Size, c: Case): Promise<void> {
  const lab = ctx.names.next(size)
  const {plan} = loadLab(writeTopology(ctx.dir, size, lab, c.mode))
  live.add(lab)
  try {
    const f = await runFloor(plan)
    ;(c.floors ??= []).push(f)
    log(
      `  floor: up ${sec(f.upMs)} (namespaces and links ${sec(f.nsLinksMs)}, ${f.inside} lines inside ${sec(f.insideMs)}), delete ${sec(f.deleteMs)}${f.error ? `  FAILED: ${f.error}` : ''}`,
    )
  } finally {
    const problem = await ensureGone(lab)
    if (problem) log(`  floor: ${problem}`)
  }
}

/**
 * A mode whose node-to-node entries (nodes²) at this size pass MAX_NODE_PAIR_ENTRIES is not built.
 * The big plan is never compiled: two small grids of the mode give the entries per ordered pair of
 * nodes in one rack (20 nodes, one rack) and across racks (20 nodes, two racks of 10), and the
 * size's racks (bench/topology.ts) how many pairs of each kind it has. A mode that cannot span
 * racks (host-gw) counts every pair as in one rack: that is what it would need.
 */
function nodePairLimit(dir: string, size: Size, mode: RoutingMode): Omit<Case, 'runs' | 'failed'> | undefined {
  if (size.nodes === undefined) return undefined
  const entries = (rackNodes?: number) => {
    try {
      const {model, plan} = loadLab(writeGrid(dir, 20, mode, rackNodes))
      return nodePairActions(model, plan)
    } catch {
      return undefined // the mode cannot span racks
    }
  }
  const same = entries()! / (20 * 19)
  const twoRacks = entries(10)
  const across = twoRacks === undefined ? same : Math.max(0, twoRacks - same * 2 * 10 * 9) / (20 * 19 - 2 * 10 * 9)
  const racks = rackSizes(size.nodes)
  const sameRack = racks.reduce((n, r) => n + r * (r - 1), 0)
  const total = Math.round(same * sameRack + across * (size.nodes * (size.nodes - 1) - sameRack))
  if (total <= MAX_NODE_PAIR_ENTRIES) return undefined
  return {
    size: size.label,
    mode,
    nodes: size.nodes,
    pods: size.nodes * size.pods!,
    namespaces: 0,
    actions: 0,
    nodePairActions: total,
    skipped: `nodes²: about ${total.toLocaleString('en')} node-to-node entries (${same.toFixed(1)} per ordered pair of nodes in a rack, ${across.toFixed(1)} across racks), more than the ${MAX_NODE_PAIR_ENTRIES.toLocaleString('en')} the bench builds`,
  }
}

/** A 20-node, one-pod-per-node grid of `mode` (in racks of `rackNodes`, if given), for counting only. */
function writeGrid(dir: string, nodes: number, mode: RoutingMode, rackNodes?: number): string {
  const file = join(dir, 'counting.yaml')
  writeFileSync(file, stringify(gridTopology('counting', nodes, 1, mode, rackNodes)))
  return file
}

/** The committed run's cases (--baseline), or none. */
function readBaseline(file: string): Case[] {
  if (!existsSync(file)) return []
  return parseJson<{cases: Case[]}>(readFileSync(file, 'utf8'))?.cases ?? []
}

/**
 * The 10,000-pod labs' probe target: the representative probe's time per check at 1,000 pods in
 * the same routing mode (a check in routes crosses the router, one namespace more than in
 * host-gw), of this run or else of the committed one; none without such a lab.
 */
function referenceProbe(cases: Case[], committed: Case[]): void {
  const perCheck = (cs: Case[], mode: RoutingMode) =>
    cs
      .filter((c) => c.pods === 1000 && c.mode === mode)
      .flatMap((c) => c.runs.map((r) => probePerCheck(r.probe)).filter((x) => x !== undefined))[0]
  for (const c of cases) if (c.pods >= LARGE_PODS) c.probeRefPerCheckMs = perCheck(cases, c.mode) ?? perCheck(committed, c.mode)
}

/** The CNI presets' rows: a script of its own (bench/cni.ts), so this table stays as it is. */
async function cniSection(): Promise<string> {
  const r = await runTimed(process.execPath, [join(ROOT, 'dist', 'bench', 'cni.js')], {timeoutMs: 1_800_000})
  return r.code === 0 ? r.stdout.trimEnd() : `CNI presets: failed (exit ${r.code})\n${r.stdout}${r.stderr}`.trimEnd()
}

process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)
process.on('SIGHUP', onSignal)
process.exitCode = await main()
