// `netlab probe`: plan the probes from the lab's saved model, run them from inside the lab's own
// namespaces (the engines: a process per core, every socket opened in the namespace it probes
// from or serves in), and judge them against the model.
import {setFlagsFromString} from 'node:v8'
import {NetlabError, SignalError, UsageError} from '../core/errors.js'
import {requireRoot} from '../host/preflight.js'
import {settleInterrupted} from '../lab/policy.js'
import {statusOf} from '../lab/status.js'
import {allNetns, allPods, type LabModel} from '../model/types.js'
import {acquireLock, lockNote} from '../host/lock.js'
import {existingNetns, readState} from '../state/store.js'
import {eth0Addresses, runEngines} from './engine.js'
import {servedByWorkload} from '../lab/workload.js'
import {routeTables} from '../lab/bird.js'
import {reapStale} from './owned.js'
import {servedPorts} from './policy.js'
import {addressChecks} from './checks/index.js'
import {coverageFor, labAddresses, sectionsFor, selectProbes} from './select.js'
import {Tally} from './tally.js'
import {fullAnnouncement} from './estimate.js'
import {probeProgress} from './progress.js'
import type {Only, ProbeReport, SelfObservation} from './types.js'

export interface ProbeOptions {
  full?: boolean
  /** the no-NAT checks by one UDP datagram each (weaker than the TCP connection: see ProbePlanContext.echo) */
  udp?: boolean
  only?: Only[]
  /** keep every result in the report, not only the failures of big checks */
  allChecks?: boolean
  /** a lab built by hand has no saved state: its model, from its topology (netlab probe --topology) */
  model?: LabModel
  /** a line of progress on stderr, where it is a terminal (not for --json) */
  progress?: boolean
}

/** `given`: the model of a lab built by hand (checked by lab/handmade.ts), which has no saved state. */
function preflight(lab: string, given?: LabModel): LabModel {
  const status = given ? undefined : statusOf(lab) // unknown lab: UsageError
  if (status?.state === 'building')
    throw new UsageError(
      `lab ${lab} is not up: its "netlab up" is still running or was interrupted; run "netlab ` + `down ${lab}" and "netlab up" again`,
    )
  requireRoot('netlab probe')
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
  // A --full run of a big lab keeps its probes alive while half a million results stream
  // through; V8's default lets the garbage grow the heap to several times that before it
  // collects. Growing by a quarter at a time holds the peak near the live set, for a few more
  // collections of a small heap (bench/README.md has the measurement).
  setFlagsFromString('--heap-growing-percent=25')
  // a policy apply that was killed is finished or undone first: the probe judges what the kernel will hold
  if (!opts.model) await settleInterrupted(lab)
  const model = preflight(lab, opts.model)
  const announce = opts.full ? fullAnnouncement(model) : undefined
  if (announce) process.stderr.write(`netlab: ${announce}\n`)
  const coverage = coverageFor(model, opts.full)
  const sections = sectionsFor(opts.only)
  const probes = selectProbes(model, opts)
  const own = labAddresses(model)
  const stray = probes.find((p) => !own.has(p.dst.ip))
  if (stray) throw new NetlabError(`refusing to probe ${stray.dst.ip}: it is not an address of lab ${lab}`)

  // read in each pod, for the checks judged from them: self-address, and the VPC's (pods holding VPC addresses)
  const selfPods = addressChecks(model, sections).length > 0 ? allPods(model) : []
  // judged as they come in: counts, and only the results worth keeping (see Tally)
  const tally = new Tally(probes, {allChecks: opts.allChecks})
  // one probe of a lab at a time (why: host/lock.ts)
  const lock = acquireLock(lab, 'probe')
  try {
    // Registered, so `netlab down` stops the engines too; a dead probe's engines stop by themselves.
    await reapStale(lab)
    let interrupted: string | undefined
    const abort = new AbortController()
    const onSignal = (sig: NodeJS.Signals) => {
      if (interrupted) return
      interrupted = sig
      process.stderr.write(`netlab: ${sig} received; stopping the probe\n`)
      abort.abort()
    }
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
    signals.forEach((s) => process.on(s, onSignal))
    const self = new Map<string, SelfObservation>()
    const progress = opts.progress ? probeProgress(lab, probes.length) : undefined
    try {
      // the echo service answers HTTP on its own port and, in a lab with policies, on every port they name (TCP and UDP)
      const run = await runEngines({
        lab,
        probes,
        ...(model.policies ? {extra: servedPorts(model)} : {}),
        workload: servedByWorkload(model),
        addrs: selfPods.map((p) => p.netns),
        onResult: (id, o) => {
          const ok = tally.add(id, o) // judged whether or not progress is shown
          progress?.done(ok)
        },
        signal: abort.signal,
      }).catch((error: unknown) => {
        // `down` stops the engines first: that is why they stopped, not a fault of the probe
        throw takenDown(lab, model) ? takenDownError(lab) : error
      })
      if (interrupted)
        throw new SignalError(`probe interrupted by ${interrupted}; nothing was changed and its engines are stopped`, interrupted)
      for (const p of selfPods) {
        const seen = run.addresses.get(p.netns)
        self.set(p.name, seen ? {eth0: eth0Addresses(seen)} : {detail: `could not read the addresses in ${p.netns}`})
      }
      // routing bgp: each node's route table, for the check that its routes were learned (bgp-learned)
      if (selfPods.length > 0 && model.bgp) {
        const tables = await routeTables(model.nodes.map((n) => n.netns))
        model.nodes.forEach((n, i) =>
          self.set(n.name, tables[i] ? {routes: tables[i]} : {detail: `could not read the routes in ${n.netns}`}),
        )
      }
    } finally {
      progress?.stop()
      signals.forEach((s) => process.off(s, onSignal))
    }
    const picked = (opts.only?.length ?? 0) > 0
    const report = tally.report(model, coverage, sections, self, Math.round(performance.now() - started), picked)
    if (opts.udp) report.udp = true
    // failures because the lab went away meanwhile (an engine `down` could not find before it opened a namespace) are no verdict on it
    if (report.failed > 0 && takenDown(lab, model)) throw takenDownError(lab)
    return report
  } finally {
    lock.release()
  }
}

/**
 * Was the lab taken down during the probe? A `down` holds its lock (from before it stops the
 * engines until after it deleted the namespaces), or it has ended and none of the lab's namespaces is left.
 */
function takenDown(lab: string, model: LabModel): boolean {
  if (lockNote(lab) === 'down') return true
  const present = existingNetns()
  return allNetns(model).every((ns) => !present.has(ns))
}

const takenDownError = (lab: string) => new NetlabError(`lab ${lab} was taken down during the probe`)
