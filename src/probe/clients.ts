// Run the probe clients inside a lab namespace: one fping and one curl per source namespace,
// covering all of its targets; one `ip addr` per pod for its self-address.
import type {RunResult} from '../exec/runner.js'
import {curlArgs, eth0Args, fpingArgs, parseCurl, parseEth0, parseFping, parseUdp, probeUrl, udpArgs, type Timing} from './tools.js'
import type {Observation, Probe, SelfObservation} from './types.js'

/** Runs one program inside a lab namespace and reports how it ended, like run() (a JobRunner). */
export type Runner = (netns: string, argv: string[], opts: {timeoutMs?: number}) => Promise<RunResult>

function firstLine(s: string): string {
  return (
    s
      .split('\n')
      .find((l) => l.trim().length > 0)
      ?.trim() ?? ''
  )
}

/** Ping every target of `probes` (all from one source namespace) with one fping. */
export async function pingFrom(run: Runner, netns: string, probes: Probe[], t: Timing): Promise<Map<number, Observation>> {
  const targets = [...new Set(probes.map((p) => p.dst.ip))]
  const out = new Map<number, Observation>()
  let answers: Map<string, Observation>
  let problem = ''
  try {
    const r = await run(netns, ['fping', ...fpingArgs(targets, t)], {timeoutMs: 60_000})
    answers = parseFping(r.stdout, r.stderr)
    if (r.exitCode > 1) problem = firstLine(r.stderr) || `fping exited ${r.exitCode}`
  } catch (error) {
    answers = new Map()
    problem = (error as Error).message
  }
  for (const p of probes) out.set(p.id, answers.get(p.dst.ip) ?? {reply: false, detail: problem || 'fping gave no answer for this target'})
  return out
}

/** Fetch the echo of every target of `probes` (all from one source namespace) with one curl. */
export async function httpFrom(run: Runner, netns: string, probes: Probe[], port: number, t: Timing): Promise<Map<number, Observation>> {
  const urls = probes.map((p) => probeUrl(p.dst.ip, p.port ?? port, p.id))
  const out = new Map<number, Observation>()
  let answers: Map<number, Observation>
  let problem = ''
  try {
    const r = await run(netns, ['curl', ...curlArgs(urls, t)], {timeoutMs: 120_000})
    answers = parseCurl(r.stdout)
    if (answers.size === 0 && r.exitCode !== 0) problem = firstLine(r.stderr) || `curl exited ${r.exitCode}`
  } catch (error) {
    answers = new Map()
    problem = (error as Error).message
  }
  for (const p of probes) out.set(p.id, answers.get(p.id) ?? {reply: false, detail: problem || 'curl gave no answer for this target'})
  return out
}

/** Send a datagram to every target of `probes` (all from one source namespace, each with its port) with one netlab-udp.pl. */
export async function udpFrom(run: Runner, netns: string, probes: Probe[], client: string[], t: Timing): Promise<Map<number, Observation>> {
  const out = new Map<number, Observation>()
  let answers: Map<number, Observation>
  let problem = ''
  try {
    const r = await run(
      netns,
      [
        ...client,
        ...udpArgs(
          probes.map((p) => ({id: p.id, ip: p.dst.ip, port: p.port!})),
          t,
        ),
      ],
      {timeoutMs: 60_000},
    )
    answers = parseUdp(r.stdout)
    if (r.exitCode !== 0) problem = firstLine(r.stderr) || `the UDP client exited ${r.exitCode}`
  } catch (error) {
    answers = new Map()
    problem = (error as Error).message
  }
  for (const p of probes)
    out.set(p.id, answers.get(p.id) ?? {reply: false, detail: problem || 'the UDP client gave no answer for this target'})
  return out
}

/** The IPv4 addresses on a pod's eth0, as the pod itself has them. */
export async function eth0Of(run: Runner, netns: string): Promise<SelfObservation> {
  try {
    const r = await run(netns, ['ip', ...eth0Args()], {timeoutMs: 30_000})
    if (r.exitCode !== 0) return {detail: firstLine(r.stderr) || `ip exited ${r.exitCode}`}
    return {eth0: parseEth0(r.stdout)}
  } catch (error) {
    return {detail: (error as Error).message}
  }
}
