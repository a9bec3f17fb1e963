// `netlab probe`: plan the probes from the lab's saved model, run them from inside the lab's own
// namespaces (a few processes per source, many sources at once), and judge them against the model.
import {cpus} from 'node:os'
import {NetlabError, UsageError} from '../cli/errors.js'
import {pool} from '../exec/executor.js'
import {requireRoot, requireTools} from '../lab/preflight.js'
import {statusOf} from '../lab/status.js'
import {allPods, type LabModel} from '../model/types.js'
import {readState} from '../state/store.js'
import {eth0Of, httpFrom, pingFrom} from './clients.js'
import {reapStaleHubs, startHub, type Hub} from './hub-control.js'
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

interface Task {
  kind: 'ping' | 'http' | 'self'
  netns: string
  probes: Probe[]
  /** every probe in it must go unanswered: the task mostly waits, so it gets its own wider pool */
  silent: boolean
  pod?: string
}

/** One task per (tool, source namespace, answered or not): all of a source's targets in one process. */
export function groupTasks(probes: Probe[]): Task[] {
  const tasks = new Map<string, Task>()
  for (const p of probes) {
    const silent = !p.expect.reply
    const key = `${p.tool}|${p.src.netns}|${silent}`
    const t = tasks.get(key) ?? {kind: p.tool, netns: p.src.netns, probes: [], silent}
    t.probes.push(p)
    tasks.set(key, t)
  }
  // pings first: they need no echo hub, so they run while it starts
  return [...tasks.values()].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'ping' ? -1 : 1))
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
  const active: Task[] = [
    ...tasks.filter((t) => !t.silent && t.kind === 'ping'),
    ...selfPods.map((p): Task => ({kind: 'self', netns: p.netns, probes: [], silent: false, pod: p.name})),
    ...tasks.filter((t) => !t.silent && t.kind === 'http'),
  ]
  const silent = tasks.filter((t) => t.silent)
  const limit = probeConcurrency()
  const silentLimit = Math.max(8, cpus().length * 8)

  const observations = new Map<number, Observation>()
  const self = new Map<string, SelfObservation>()
  let interrupted: string | undefined
  let hubError: Error | undefined
  let hub: Hub | undefined
  let hubStart: Promise<Hub | undefined> = Promise.resolve(undefined)

  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return
    interrupted = sig
    process.stderr.write(`netlab: ${sig} received; stopping the probe\n`)
    void hubStart.then((h) => h?.stop())
  }
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
  signals.forEach((s) => process.on(s, onSignal))
  try {
    const httpTargets = probes.filter((p) => p.tool === 'http').map((p) => p.dst)
    if (httpTargets.length > 0) {
      await reapStaleHubs(lab)
      const inFlight = 50 * (limit + silentLimit)
      hubStart = startHub(lab, httpTargets, {clientsInFlight: inFlight}).then(
        (h) => (hub = h),
        (error: Error) => {
          hubError = error
          return undefined
        },
      )
    }
    const stop = () => interrupted !== undefined || hubError !== undefined
    const worker = async (t: Task) => {
      if (t.kind === 'self') {
        self.set(t.pod!, await eth0Of(t.netns))
        return
      }
      const timing = t.silent ? SILENT : ANSWERED
      let seen: Map<number, Observation>
      if (t.kind === 'ping') seen = await pingFrom(t.netns, t.probes, timing)
      else {
        const h = await hubStart
        if (!h || stop()) return
        seen = await httpFrom(t.netns, t.probes, h.port, timing)
      }
      for (const [id, o] of seen) observations.set(id, o)
    }
    await Promise.all([pool(active, limit, worker, stop), pool(silent, silentLimit, worker, stop)])
    await hubStart
    if (interrupted) throw new NetlabError(`probe interrupted by ${interrupted}; nothing was changed and the echo hub is stopped`)
    if (hubError) throw hubError
  } finally {
    const h = hub ?? (await hubStart)
    if (h) await h.stop()
    signals.forEach((s) => process.off(s, onSignal))
  }
  return buildReport(model, coverage, sections, {probes, observations, self}, Math.round(performance.now() - started))
}
