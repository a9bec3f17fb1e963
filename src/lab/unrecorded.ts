// `down` of a lab whose process records went with its state directory (deleted by hand while a
// probe ran): the probe's engines are found among the machine's processes and stopped by PID, so
// none goes on probing namespaces that are being deleted. A process counts as the lab's only when
// it has all of: an argument that is this lab's process marker (core/names.ts), the probe the
// marker names as its parent, this user as its owner, and a socket in a namespace that carries
// this lab's mark (the kernel's socket tables of those namespaces, read from inside them). One
// that only looks like it is left alone.
import {tmpdir} from 'node:os'
import {parseLabProcessMarker} from '../core/names.js'
import {readInNamespaces} from '../exec/fanout.js'
import {
  finished,
  processesWithArg,
  processUid,
  procStat,
  socketInodes,
  stopLabProcesses,
  stopProcess,
  type StopReport,
} from '../host/processes.js'
import {findLabNetns} from './ownership.js'

/** The lab's processes: those its records name, then those it has no record of (see above). */
export async function stopAllLabProcesses(lab: string): Promise<StopReport> {
  const recorded = await stopLabProcesses(lab)
  const found = await stopUnrecorded(lab, recorded.pids) // not those again: one just stopped may still be exiting
  return {stopped: recorded.stopped + found.stopped, stuck: [...recorded.stuck, ...found.stuck]}
}

/** The kernel's socket tables a probe's engine has entries in: TCP (echo, clients), UDP, raw ICMP (ping). */
const SOCKET_TABLES = ['tcp', 'udp', 'raw'].map((t) => `/proc/self/net/${t}`)

/** The inodes of the sockets in a /proc/net/{tcp,udp,raw} text (the 10th column; header lines have none). */
export function tableInodes(text: string): number[] {
  return text.split('\n').flatMap((line) => {
    const inode = Number(line.trim().split(/\s+/)[9])
    return Number.isInteger(inode) && inode > 0 ? [inode] : []
  })
}

async function stopUnrecorded(lab: string, handled: Set<number>): Promise<StopReport> {
  const report: StopReport = {stopped: 0, stuck: []}
  const me = process.getuid?.()
  const candidates = processesWithArg((a) => parseLabProcessMarker(a)?.lab === lab).filter(({pid, arg}) => {
    if (handled.has(pid)) return false
    const st = procStat(pid)
    return !finished(st) && st!.ppid === parseLabProcessMarker(arg)!.owner && processUid(pid) === me
  })
  if (candidates.length === 0) return report // the usual case: nothing is read from the namespaces
  const {marked} = await findLabNetns(lab)
  const read = await readInNamespaces(
    marked.map((netns) => ({netns, argv: ['cat', ...SOCKET_TABLES]})),
    {parallel: 4, workDir: tmpdir()},
  )
  const inLab = new Set(read.flatMap((r) => tableInodes(r.out)))
  const ours = candidates.filter((c) => [...socketInodes(c.pid)].some((inode) => inLab.has(inode)))
  for (const r of await Promise.all(ours.map((c) => stopProcess(c.pid, c.arg)))) {
    if (r.outcome === 'stopped') report.stopped++
    if (r.outcome === 'stuck') report.stuck.push({name: `unrecorded process ${r.pid}`, pid: r.pid, why: r.why})
  }
  return report
}
