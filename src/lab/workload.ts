// The pods' workload: an echo server on each port a pod declares (`ports:`), for the life of the
// lab, so that `curl POD:PORT` (and a Service's ClusterIP) always has something to answer. One
// process per lab (assets/netlab-workload.pl, serving every pod from one poll loop with the probe's
// own echo servers, assets/netlab-serve.pl), started by `up` once the plan is applied, in its own
// session so that it outlives `up`, recorded as a lab process ("workload") so that `down`, and
// `up`'s rollback, stop it. A lab whose pods declare no port starts nothing.
import type {ChildProcess} from 'node:child_process'
import {NetlabError} from '../core/errors.js'
import {processMarker} from '../core/names.js'
import {asset} from '../core/paths.js'
import {protocolRefusal} from '../core/protocol.js'
import {startProcess} from '../exec/runner.js'
import {findPerl} from '../host/preflight.js'
import {
  registerLabProcess,
  runningLabProcess,
  stopLabProcesses,
  unregisterLabProcess,
  withOpenFiles,
  type StopReport,
} from '../host/processes.js'
import type {LabModel, PodPort} from '../model/types.js'
import {plural} from '../core/plural.js'

export const WORKLOAD_SCRIPT = asset('netlab-workload.pl')
/** The line protocol spoken with WORKLOAD_SCRIPT (docs/runner-protocol.md); the script has the same constant and refuses any other. */
export const WORKLOAD_PROTOCOL = 1
/** The workload's process record (src/host/processes.ts). */
const RECORD = 'workload'
const READY_TIMEOUT_MS = 15_000

/** One socket the workload serves. */
export interface WorkloadPort {
  pod: string
  netns: string
  ip: string
  proto: 'tcp' | 'udp'
  port: number
}

/** Every port the lab's pods declare, as the workload serves them (on the pod's address). */
export function workloadPorts(model: LabModel): WorkloadPort[] {
  return model.nodes.flatMap((n) =>
    n.pods.flatMap((p) =>
      (p.ports ?? []).map(
        (x) => ({pod: p.name, netns: p.netns, ip: p.ip, proto: x.protocol === 'UDP' ? 'udp' : 'tcp', port: x.port}) as const,
      ),
    ),
  )
}

/** "NETNS PROTO/PORT": a socket the workload serves, as the probe asks whether one does. */
export function workloadKey(netns: string, proto: 'tcp' | 'udp', port: number): string {
  return `${netns} ${proto}/${port}`
}

/** The workload's input: a serve line per socket (docs/runner-protocol.md). */
export function workloadInput(ports: WorkloadPort[]): string {
  return ports.map((p) => `serve\t${p.netns}\t${p.pod}\t${p.ip}\t${p.proto}\t${p.port}\n`).join('')
}

/** "unbound NETNS IP:PROTO/PORT ERROR", as the reason `up` fails with; undefined for any other line. */
export function unboundReason(line: string, ports: WorkloadPort[]): string | undefined {
  const m = /^unbound\t(\S+)\t(\S+):(tcp|udp)\/(\d+)\t(.*)$/.exec(line)
  if (!m) return undefined
  const [, netns, ip, proto, port, why] = m
  const pod = ports.find((p) => p.netns === netns)?.pod ?? netns
  return `the workload cannot serve ${proto.toUpperCase()} port ${port} in pod ${pod} (${ip}): ${why}`
}

/**
 * Start the lab's workload and wait until every socket is open. Resolves with how many it
 * serves (0: no pod declares a port, nothing started). Throws (one line) when it cannot start or
 * cannot open a socket; it may be running then: the caller's rollback stops it (stopWorkload).
 * `fault` (test-only, NETLAB_TEST_FAULT_AT=workload) adds a socket on an address the last pod
 * does not hold, which the kernel refuses.
 */
export async function startWorkload(model: LabModel, opts: {fault?: boolean} = {}): Promise<number> {
  const ports = workloadPorts(model)
  if (ports.length === 0) return 0
  const last = ports[ports.length - 1]
  const served = opts.fault ? [...ports, {...last, ip: '192.0.2.1'}] : ports
  const perl = findPerl()
  const marker = processMarker(RECORD, model.lab, process.pid)
  registerLabProcess(model.lab, RECORD, marker) // before it exists: see registerLabProcess
  // its own session (startProcess: detached): it outlives this process, and no signal to up's group reaches it
  // its files: a socket per port, and the connections it serves at once
  const [file, args] = withOpenFiles('the workload', served.length + 256, [perl, WORKLOAD_SCRIPT, marker])
  const child = startProcess(file, args, {
    stdin: 'pipe',
    env: {PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', NETLAB_WORKLOAD_PROTOCOL: String(WORKLOAD_PROTOCOL)},
  })
  if (child.pid === undefined) {
    unregisterLabProcess(model.lab, RECORD)
    throw new NetlabError(`could not start the workload (${perl})`)
  }
  registerLabProcess(model.lab, RECORD, marker, child.pid)
  let unbound: string[]
  try {
    unbound = await ready(child, served)
  } finally {
    // from here on it is on its own: nothing of it keeps this process waiting
    child.stdout!.destroy()
    child.stderr!.destroy()
    child.unref()
  }
  if (unbound.length > 0)
    throw new NetlabError(unbound[0] + (unbound.length > 1 ? ` (and ${plural(unbound.length - 1, 'other port')})` : ''))
  return ports.length
}

/**
 * The sockets the lab's workload serves, by workloadKey, while it runs (empty when it does not:
 * then the probe serves every port itself, as in a lab without one).
 */
export function servedByWorkload(model: LabModel): Set<string> {
  const ports = workloadPorts(model)
  if (ports.length === 0 || runningLabProcess(model.lab, RECORD) === undefined) return new Set()
  return new Set(ports.map((p) => workloadKey(p.netns, p.proto, p.port)))
}

/**
 * Give the workload its sockets and wait for "ready": the reasons of the sockets it could not
 * open. Rejects (a NetlabError) when it exits first or takes too long.
 */
function ready(child: ChildProcess, served: WorkloadPort[]): Promise<string[]> {
  const unbound: string[] = []
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString()
  })
  child.stdin!.on('error', () => {}) // it died: reported through 'exit'
  const failed = (why: string) => new NetlabError(protocolRefusal(stderr) ?? `the workload did not start: ${why}`)
  return new Promise<string[]>((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => reject(failed(`not ready after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS)
    child.stdout!.setEncoding('utf8')
    child.stdout!.on('data', (d: string) => {
      const lines = (buf + d).split('\n')
      buf = lines.pop()!
      for (const line of lines) {
        const why = unboundReason(line, served)
        if (why) unbound.push(why)
        if (line !== 'ready') continue
        clearTimeout(timer)
        resolve(unbound)
      }
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(failed(`exited (${signal ?? `code ${code}`}) before it was ready${stderr ? `: ${stderr.trim()}` : ''}`))
    })
    child.stdin!.end(workloadInput(served))
  })
}

/** Stop the lab's workload (rollback; `down` stops every lab process itself). */
export function stopWorkload(lab: string): Promise<StopReport> {
  return stopLabProcesses(lab, (p) => p.name === RECORD)
}

/** What `status` says of the workload: per pod, the ports it serves; and whether it runs. */
export interface WorkloadStatus {
  /** its PID, when it is running */
  pid?: number
  running: boolean
  pods: {pod: string; ports: PodPort[]}[]
}

/** The workload of a lab whose pods declare ports; undefined for one whose pods declare none. */
export function workloadStatus(model: LabModel): WorkloadStatus | undefined {
  const pods = model.nodes.flatMap((n) =>
    n.pods.flatMap((p) =>
      p.ports?.length
        ? [{pod: p.name, ports: p.ports.map((x) => ({port: x.port, protocol: x.protocol, ...(x.name ? {name: x.name} : {})}))}]
        : [],
    ),
  )
  if (pods.length === 0) return undefined
  const pid = runningLabProcess(model.lab, RECORD)
  return {...(pid !== undefined ? {pid} : {}), running: pid !== undefined, pods}
}
