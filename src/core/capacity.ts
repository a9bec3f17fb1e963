// Will a lab fit this machine? A pure estimate of what a lab needs from the kernel (memory, open
// files, neighbour entries, /run inodes, processes) set against what the machine has left, so
// that a lab that cannot fit is refused with the numbers before anything is created, instead of
// failing half-way through and rolling back. The machine's numbers are read by
// src/host/capacity.ts; this file does only arithmetic and words.
import type {Plan} from './actions.js'

/**
 * Kernel memory per object, measured on Linux 6.18 (x86_64) as the fall of MemAvailable while
 * 2,000 of them were made with `ip -batch` (bench/README.md#capacity): 160 KB per bare namespace,
 * 104 KB per veth pair (its two ends). Rounded up: the estimate must not let a lab through that
 * then fails. A device that is one interface (bridge, VXLAN) counts as half a pair.
 */
export const KERNEL_BYTES = {
  namespace: 200 * 1024,
  vethPair: 128 * 1024,
  device: 64 * 1024,
  /** an address, route, neighbour entry, rule, sysctl: small kernel objects */
  other: 1024,
} as const

/** Leave this share of the available memory to everything else on the machine. */
const MEMORY_SHARE = 0.9
/** Open files and processes netlab itself needs besides the lab's own (its executors, the probe's engines). */
const OWN_FILES = 256
const OWN_PROCESSES = 64

/** What a lab needs, counted from its plan (and the few numbers the plan does not say). */
export interface LabNeeds {
  namespaces: number
  vethPairs: number
  devices: number
  otherActions: number
  /** neighbour entries the lab learns by ARP (permanent ones are not counted against the table's limit) */
  dynamicNeighbours: number
  /** sockets of the lab's workload (one process holds them all) */
  workloadSockets: number
  /** long-lived processes the lab runs (the workload, a routing daemon per node...) */
  processes: number
}

/** What the machine has (src/host/capacity.ts reads it). */
export interface MachineLimits {
  /** MemAvailable in /proc/meminfo */
  memAvailableKB: number
  /** open files the system may still open: fs.file-max less the ones open now (fs.file-nr) */
  filesFree: number
  /** the most open files a child may get: the hard limit (RLIMIT_NOFILE), or fs.nr_open with CAP_SYS_RESOURCE (which may raise it) */
  nofileHard: number
  /**
   * net.ipv4.neigh.default.gc_thresh3: dynamic neighbour entries the machine-wide table holds (on
   * Linux 6.x the table is one for every namespace, and only the root namespace has the setting).
   * Its dynamic entries now cannot be read (/proc/net/stat/arp_cache counts permanent ones too).
   */
  gcThresh3: number
  /** free inodes of the filesystem of /run (each namespace is a file in /run/netns) */
  runInodesFree: number
  /** tasks the machine may still start: min(kernel.pid_max, kernel.threads-max) less the ones running now */
  tasksFree: number
}

/** Count what `plan` makes; the rest is said by the caller (it knows the lab's modes and workload). */
export function labNeeds(plan: Plan, extra: Pick<LabNeeds, 'dynamicNeighbours' | 'workloadSockets' | 'processes'>): LabNeeds {
  let namespaces = 0
  let vethPairs = 0
  let devices = 0
  for (const a of plan.actions) {
    if (a.creates) namespaces++
    else if (a.tool === 'ip' && a.args[0] === 'link' && a.args[1] === 'add') {
      if (a.args.includes('veth')) vethPairs++
      else devices++
    }
  }
  return {namespaces, vethPairs, devices, otherActions: plan.actions.length - namespaces - vethPairs - devices, ...extra}
}

export function kernelBytes(n: LabNeeds): number {
  return (
    n.namespaces * KERNEL_BYTES.namespace +
    n.vethPairs * KERNEL_BYTES.vethPair +
    n.devices * KERNEL_BYTES.device +
    n.otherActions * KERNEL_BYTES.other
  )
}

const mb = (bytes: number) => `${Math.ceil(bytes / 1024 ** 2).toLocaleString('en')} MB`
const num = (n: number) => n.toLocaleString('en')

/** One sentence per limit the lab would exceed; empty when it fits. */
export function capacityProblems(n: LabNeeds, m: MachineLimits): string[] {
  const problems: string[] = []
  const memory = kernelBytes(n)
  const room = m.memAvailableKB * 1024 * MEMORY_SHARE
  if (memory > room)
    problems.push(
      `kernel memory: about ${mb(memory)} needed (${num(n.namespaces)} namespaces × ${KERNEL_BYTES.namespace / 1024} KB, ` +
        `${num(n.vethPairs)} veth pairs × ${KERNEL_BYTES.vethPair / 1024} KB, ${num(n.devices)} other devices and ` +
        `${num(n.otherActions)} addresses, routes and entries), ${mb(room)} usable (${Math.round(MEMORY_SHARE * 100)}% of MemAvailable ${mb(m.memAvailableKB * 1024)})`,
    )
  const files = n.workloadSockets + OWN_FILES
  if (n.workloadSockets > 0 && files > m.nofileHard)
    problems.push(
      `open files: the workload needs about ${num(files)} in one process, a process may have ${num(m.nofileHard)} (ulimit -Hn; fs.nr_open with CAP_SYS_RESOURCE)`,
    )
  if (files > m.filesFree)
    problems.push(`open files: about ${num(files)} needed, ${num(m.filesFree)} left machine-wide (fs.file-max less fs.file-nr)`)
  if (n.dynamicNeighbours > m.gcThresh3)
    problems.push(
      `neighbour table: the lab learns ${num(n.dynamicNeighbours)} entries by ARP, the machine-wide table holds ` +
        `${num(m.gcThresh3)} (net.ipv4.neigh.default.gc_thresh3)`,
    )
  const inodes = n.namespaces + OWN_FILES
  if (inodes > m.runInodesFree)
    problems.push(
      `/run: ${num(inodes)} inodes needed (a file per namespace in /run/netns, the lab's state), ${num(m.runInodesFree)} free (df -i /run)`,
    )
  const tasks = n.processes + OWN_PROCESSES
  if (tasks > m.tasksFree)
    problems.push(
      `processes: about ${num(tasks)} needed, ${num(m.tasksFree)} more may start (kernel.pid_max, kernel.threads-max less the running ones)`,
    )
  return problems
}

/** The refusal: the lab, then each limit it would exceed. */
export function capacityMessage(lab: string, problems: string[]): string {
  return `lab ${lab} does not fit this machine, nothing was made: ${problems.join('; ')}`
}
