// `netlab probe`: plan the probes from the lab's saved model, run them from inside the lab's own
// namespaces (a few processes per source, many sources at once), and judge them against the model.
import {cpus} from 'node:os'
import {NetlabError, UsageError} from '../cli/errors.js'
import {requireRoot, requireTools} from '../lab/preflight.js'
import {statusOf} from '../lab/status.js'
import {allPods, type LabModel} from '../model/types.js'
import {readState} from '../state/store.js'
import {eth0Of, httpFrom, pingFrom, type Runner} from './clients.js'
import {reapStaleHubs, startHub, type Hub} from './hub-control.js'
import {JobRunner} from './jobs.js'
import {buildReport} from './report.js'
import {coverageFor, labAddresses, sectionsFor, selectProbes} from './select.js'
import {ANSWERED, SILENT} from './tools.js'
import type {Observation, Only, Probe, ProbeReport, SelfObservation} from './types.js'

export interface ProbeOptions {
  full?: boolean
  only?: Only[]
}

/** Processes at once for probes that must be answered: about two per core. */
export function probeConcurrency(): number {
  const fromEnv = Number(process.env.NETLAB_CONCURRENCY)
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.max(2, cpus().length * 2)
}

export interface Task {
  tool: Probe['tool']
  netns: string
  probes: Probe[]
  /** every probe in it must go unanswered: the task mostly waits, so it gets its own wider runner */
  silent: boolean
}

/** One task per (tool, source namespace, answered or not): all of a source's targets in one process. */
export function groupTasks(probes: Probe[]): Task[] {
  const tasks = new Map<string, Task>()
  for (const p of probes) {
    const silent = !p.expect.reply
    const key = `${p.tool}|${p.src.netns}|${silent}`
    const t = tasks.get(key) ?? {tool: p.tool, netns: p.src.netns, probes: [], silent}
    t.probes.push(p)
    tasks.set(key, t)
  }
  return [...tasks.values()]
}

export function preflight(lab: string): LabModel {
  const status = statusOf(lab) // unknown lab: UsageError
  if (status.state === 'building') throw new UsageError(`lab ${lab} is not up: its "netlab up" is still running or was interrupted; run "netlab down ${lab}" and "netlab up" again`)
  requireRoot('netlab probe')
  requireTools({ip: 'iproute2', fping: 'fping', curl: 'curl', perl: 'perl'})
  if (status.missing.length > 0) {
    const some = status.missing.slice(0, 3).join(', ')
    throw new NetlabError(`lab ${lab} is broken: ${status.missing.length} of its namespaces are gone (${some}${status.missing.length > 3 ? ', ...' : ''}); rebuild it: netlab down ${lab} && netlab up`)
  }
  const state = readState(lab)
  if (!state) throw new UsageError(`no lab named ${lab} is up`)
  return state.model
}

export async function probeLab(lab: string, opts: ProbeOptions = {}): Promise<ProbeReport> {
  const started = performance.now()
  const model = preflight(lab)
  const coverage = coverageFor(model, opts.full)
  const sections = sectionsFor(opts.only)
  const probes = selectProbes(model, opts)
  const own = labAddresses(model)
  const stray = probes.find((p) => !own.has(p.dst.ip))
  if (stray) throw new NetlabError(`refusing to probe ${stray.dst.ip}: it is not an address of lab ${lab}`)

  const tasks = groupTasks(probes)
  const selfPods = sections.includes('self-address') ? allPods(model) : []
  const observations = new Map<number, Observation>()
  const self = new Map<string, SelfObservation>()
  const record = (seen: Map<number, Observation>) => seen.forEach((o, id) => observations.set(id, o))

  // Two runners: probes that must be answered keep the cores busy, so ~2 per core; probes that
  // must go unanswered mostly wait for their timeout, so many of them at once.
  const active = JobRunner.start(probeConcurrency())
  const silent = JobRunner.start(Math.max(8, cpus().length * 8))
  const runners = [active, silent]
  const runnerOf = (t: Task) => (t.silent ? silent : active)
  const exec = (r: JobRunner): Runner => (netns, argv, o) => r.run(netns, argv, o)

  let interrupted: string | undefined
  let hub: Hub | undefined
  let hubStart: Promise<Hub | undefined> = Promise.resolve(undefined)
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return
    interrupted = sig
    process.stderr.write(`netlab: ${sig} received; stopping the probe\n`)
    runners.forEach((r) => void r.kill())
    void hubStart.then((h) => h?.stop(), () => undefined)
  }
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
  signals.forEach((s) => process.on(s, onSignal))
  try {
    const httpTasks = tasks.filter((t) => t.tool === 'http')
    if (httpTasks.length > 0) {
      await reapStaleHubs(lab)
      hubStart = startHub(lab, httpTasks.flatMap((t) => t.probes.map((p) => p.dst)), {clientsInFlight: 50 * (probeConcurrency() + Math.max(8, cpus().length * 8))}).then((h) => (hub = h))
      hubStart.catch(() => undefined) // awaited below
    }
    // pings and self-addresses first: they need no echo hub, so they run while it starts
    const work: Promise<void>[] = [
      ...tasks.filter((t) => t.tool === 'ping').map(async (t) => record(await pingFrom(exec(runnerOf(t)), t.netns, t.probes, t.silent ? SILENT : ANSWERED))),
      ...selfPods.map(async (p) => void self.set(p.name, await eth0Of(exec(active), p.netns))),
    ]
    if (httpTasks.length > 0) {
      const h = await hubStart
      if (h && !interrupted) {
        work.push(...httpTasks.map(async (t) => record(await httpFrom(exec(runnerOf(t)), t.netns, t.probes, h.port, t.silent ? SILENT : ANSWERED))))
      }
    }
    await Promise.all(work)
    if (interrupted) throw new NetlabError(`probe interrupted by ${interrupted}; nothing was changed and the echo hub is stopped`)
  } finally {
    await Promise.all(runners.map((r) => (interrupted ? r.kill() : r.close())))
    const h = hub ?? (await hubStart.catch(() => undefined))
    if (h) await h.stop()
    signals.forEach((s) => process.off(s, onSignal))
  }
  return buildReport(model, coverage, sections, {probes, observations, self}, Math.round(performance.now() - started))
}
