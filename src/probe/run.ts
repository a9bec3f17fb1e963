// `netlab probe`: plan the probes from the lab's saved model, run them from inside the lab's own
// namespaces (a few processes per source, many sources at once), and judge them against the model.
import {NetlabError, SignalError, UsageError} from '../cli/errors.js'
import {concurrency} from '../concurrency.js'
import {findPerl, requirePerl, requireRoot, requireTools} from '../lab/preflight.js'
import {registerLabProcess, unregisterLabProcess} from '../lab/processes.js'
import {statusOf} from '../lab/status.js'
import {allPods, type LabModel} from '../model/types.js'
import {readState} from '../state/store.js'
import {eth0Of, httpFrom, pingFrom, udpFrom, type Runner} from './clients.js'
import {BIND_SCRIPT, startHub, unboundKey, type Hub} from './hub-control.js'
import {assetPath, processMarker, processName, reapStale} from './owned.js'
import {namedPorts} from './policy.js'
import {JOBS_SCRIPT, JobRunner} from './jobs.js'
import {notApplicable, Tally} from './report.js'
import {coverageFor, labAddresses, sectionsFor, selectProbes} from './select.js'
import {ANSWERED, eth0Addresses, SILENT} from './tools.js'
import type {Observation, Only, Probe, ProbeReport, SelfObservation} from './types.js'

/** the UDP client (policies name UDP ports; curl speaks no UDP) */
export const UDP_SCRIPT = assetPath('netlab-udp.pl')

export interface ProbeOptions {
  full?: boolean
  only?: Only[]
  /** keep every result in the report, not only the failures of big checks */
  allChecks?: boolean
  /** a lab built by hand has no saved state: its model, from its topology (netlab probe --topology) */
  model?: LabModel
}

/** client processes at once, counting those that only wait for a timeout */
const MAX_JOBS = 64
/** without /proc/PID/schedstat, a client process counts as working for this long */
const JOB_LEASE_MS = 300

export interface Task {
  tool: Probe['tool']
  netns: string
  probes: Probe[]
  /** every probe in it must go unanswered: short timeouts (SILENT) */
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

/** `given`: the model of a lab built by hand (checked by lab/handmade.ts), which has no saved state. */
export function preflight(lab: string, given?: LabModel): LabModel {
  const status = given ? undefined : statusOf(lab) // unknown lab: UsageError
  if (status?.state === 'building')
    throw new UsageError(
      `lab ${lab} is not up: its "netlab up" is still running or was interrupted; run "netlab ` + `down ${lab}" and "netlab up" again`,
    )
  requireRoot('netlab probe')
  requireTools({ip: 'iproute2', fping: 'fping', curl: 'curl'})
  if (!status) return given! // a lab built by hand: its namespaces were checked against the model
  if (status.missing.length > 0) {
    const some = status.missing.slice(0, 3).join(', ')
    throw new NetlabError(
      `lab ${lab} is broken: ${status.missing.length} of its namespaces are gone ` +
        `(${some}${status.missing.length > 3 ? ', ...' : ''}); rebuild it: netlab down ${lab} && netlab up`,
    )
  }
  const state = readState(lab)
  if (!state) throw new UsageError(`no lab named ${lab} is up`)
  return state.model
}

export async function probeLab(lab: string, opts: ProbeOptions = {}): Promise<ProbeReport> {
  const started = performance.now()
  const model = preflight(lab, opts.model)
  await requirePerl([BIND_SCRIPT, JOBS_SCRIPT, UDP_SCRIPT]) // before anything starts: one perl run checks what the helpers use
  const coverage = coverageFor(model, opts.full)
  const sections = sectionsFor(opts.only)
  const probes = selectProbes(model, opts)
  const own = labAddresses(model)
  const stray = probes.find((p) => !own.has(p.dst.ip))
  if (stray) throw new NetlabError(`refusing to probe ${stray.dst.ip}: it is not an address of lab ${lab}`)

  const tasks = groupTasks(probes)
  // read in each pod: for the self-address check, and for the VPC's (pods holding VPC addresses)
  const selfPods =
    sections.includes('self-address') || (sections.includes('vpc') && !notApplicable(model, 'pod-in-vpc-subnet')) ? allPods(model) : []
  const self = new Map<string, SelfObservation>()
  // judged as they come in: counts, and only the results worth keeping (see Tally)
  const tally = new Tally(probes, {allChecks: opts.allChecks})
  let hubUp: Hub | undefined
  const record = (seen: Map<number, Observation>) =>
    seen.forEach((o, id) => {
      // no echo service where the model's address is missing: say so rather than "refused"
      const p = probes[id]
      const port = p.port === undefined ? undefined : `${p.tool === 'udp' ? 'udp' : 'tcp'}/${p.port}`
      const why = p.tool !== 'ping' ? (hubUp?.unbound.get(unboundKey(p.dst.netns, port)) ?? hubUp?.unbound.get(p.dst.netns)) : undefined
      tally.add(id, why && !o.reply ? {...o, detail: `no echo service in ${p.dst.name}: ${why}`} : o)
    })

  // About two client processes per core that want a CPU at once; one that is only waiting for
  // a timeout (an unreachable target) lets another start, up to MAX_JOBS in all: a broken lab
  // fails in seconds instead of queueing on timeouts. Registered, so `netlab down` stops it too.
  await reapStale(lab)
  const runnerMarker = processMarker('probe-jobs', lab)
  registerLabProcess(lab, processName('probe-jobs'), runnerMarker) // before it exists: see registerLabProcess
  let runner: JobRunner
  try {
    runner = JobRunner.start(runnerMarker, {busy: concurrency(), total: MAX_JOBS, leaseMs: JOB_LEASE_MS})
  } catch (error) {
    unregisterLabProcess(lab, processName('probe-jobs'))
    throw error
  }
  if (runner.pid) registerLabProcess(lab, processName('probe-jobs'), runnerMarker, runner.pid)
  const exec: Runner = (netns, argv, o) => runner.run(netns, argv, o)

  let interrupted: string | undefined
  let hub: Hub | undefined
  let hubStart: Promise<Hub | undefined> = Promise.resolve(undefined)
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return
    interrupted = sig
    process.stderr.write(`netlab: ${sig} received; stopping the probe\n`)
    void runner.kill()
    void hubStart.then(
      (h) => h?.stop(),
      () => undefined,
    )
  }
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
  signals.forEach((s) => process.on(s, onSignal))
  try {
    // the echo hub answers HTTP on its own port and, in a lab with policies, on every port they name (TCP and UDP)
    const httpTasks = tasks.filter((t) => t.tool === 'http' || t.tool === 'udp')
    if (httpTasks.length > 0) {
      const extra = model.policies ? {extra: namedPorts(model)} : {}
      hubStart = startHub(
        lab,
        httpTasks.flatMap((t) => t.probes.map((p) => p.dst)),
        {clientsInFlight: 50 * MAX_JOBS, ...extra},
      ).then((h) => (hub = h))
      hubStart.catch(() => undefined) // awaited below
    }
    // pings first: they need no echo hub, so they run while it starts
    const work: Promise<void>[] = tasks
      .filter((t) => t.tool === 'ping')
      .map(async (t) => record(await pingFrom(exec, t.netns, t.probes, t.silent ? SILENT : ANSWERED)))
    const h = await hubStart
    hubUp = h
    if (h && !interrupted) {
      const udpClient = [findPerl(), UDP_SCRIPT]
      work.push(
        ...httpTasks.map(async (t) =>
          record(
            t.tool === 'udp'
              ? await udpFrom(exec, t.netns, t.probes, udpClient, t.silent ? SILENT : ANSWERED)
              : await httpFrom(exec, t.netns, t.probes, h.port, t.silent ? SILENT : ANSWERED),
          ),
        ),
      )
    }
    // self-addresses: the hub's launcher read them inside each pod it listens in; `ip` for any other
    for (const p of selfPods) {
      const seen = h?.addresses.get(p.netns)
      if (seen) self.set(p.name, {eth0: eth0Addresses(seen)})
      else work.push(eth0Of(exec, p.netns).then((o) => void self.set(p.name, o)))
    }
    await Promise.all(work)
    if (interrupted)
      throw new SignalError(`probe interrupted by ${interrupted}; nothing was changed and the echo hub is stopped`, interrupted)
  } finally {
    await (interrupted ? runner.kill() : runner.close())
    unregisterLabProcess(lab, processName('probe-jobs'))
    const h = hub ?? (await hubStart.catch(() => undefined))
    if (h) await h.stop()
    signals.forEach((s) => process.off(s, onSignal))
  }
  return tally.report(model, coverage, sections, self, Math.round(performance.now() - started))
}
