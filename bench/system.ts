// The machine the numbers come from, how busy it is, and waiting for the kernel to finish
// cleaning up deleted namespaces before the next measurement.
import {readdirSync, readFileSync} from 'node:fs'
import {availableParallelism, cpus, loadavg, release, totalmem} from 'node:os'
import {setTimeout as sleep} from 'node:timers/promises'
import {execFile} from 'node:child_process'
import {promisify} from 'node:util'

const run = promisify(execFile)

export interface Machine {
  nproc: number
  cpu: string
  memGB: number
  kernel: string
  node: string
  /** 1, 5, 15 minute load averages when the benchmark started */
  loadavg: number[]
  /** network namespaces that existed when the benchmark started (not ours: other people's) */
  foreignNetns: number
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

export function netnsList(): string[] {
  try {
    return readdirSync('/run/netns')
  } catch {
    return []
  }
}

export function machine(): Machine {
  const model = /^model name\s*:\s*(.+)$/m.exec(read('/proc/cpuinfo'))?.[1] ?? cpus()[0]?.model ?? 'unknown'
  return {
    nproc: availableParallelism(),
    cpu: model.replace(/\s+/g, ' ').trim(),
    memGB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: release(),
    node: process.version,
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
    foreignNetns: netnsList().length,
  }
}

export function describeMachine(m: Machine): string {
  return `machine: ${m.nproc} CPU (${m.cpu}), ${m.memGB} GB RAM, Linux ${m.kernel}, Node ${m.node}; load average at start ${m.loadavg.join(' ')}; ${m.foreignNetns} other network namespaces present`
}

/**
 * The machine-wide neighbour (ARP) table: the kernel keeps one for all namespaces and, by
 * default, refuses new dynamic entries past gc_thresh3. Small labs learn neighbours by ARP, so
 * when other labs on the machine fill the table, their pings fail with ENOBUFS.
 */
export function neighbourTable(): {entries: number; thresh3: number; tableFulls: number} | undefined {
  const [head, ...rows] = read('/proc/net/stat/arp_cache').trim().split('\n')
  const thresh3 = Number(read('/proc/sys/net/ipv4/neigh/default/gc_thresh3').trim())
  if (!head || rows.length === 0 || !thresh3) return undefined
  // one row per CPU; "entries" is the same in each, the counters are per CPU
  const col = head.trim().split(/\s+/).indexOf('table_fulls')
  const cells = rows.map((r) =>
    r
      .trim()
      .split(/\s+/)
      .map((x) => parseInt(x, 16)),
  )
  return {entries: cells[0][0], thresh3, tableFulls: col < 0 ? 0 : cells.reduce((n, c) => n + (c[col] ?? 0), 0)}
}

/** How many times the kernel refused a neighbour entry because the table was full, since `before`. */
export function tableFullsSince(before: number | undefined): number {
  const now = neighbourTable()?.tableFulls
  return before === undefined || now === undefined ? 0 : now - before
}

/** Jiffies the whole machine spent in the kernel (system + irq + softirq) so far. */
function kernelJiffies(): number {
  const f = read('/proc/stat').split('\n')[0].trim().split(/\s+/)
  return Number(f[3]) + Number(f[6]) + Number(f[7])
}

async function kernelRate(ms: number): Promise<number> {
  const a = kernelJiffies()
  await sleep(ms)
  return ((kernelJiffies() - a) * 1000) / ms
}

/** How long making (and dropping) one network namespace takes: `unshare --net true`. */
async function netnsBirthMs(): Promise<number> {
  const started = performance.now()
  await run('unshare', ['--net', 'true']).catch(() => undefined)
  return performance.now() - started
}

/** The machine at rest, measured once before the bench makes anything (other people's work included). */
export interface Quiet {
  /** kernel time per second (jiffies) */
  kernelRate: number
  /** one new network namespace, ms */
  netnsMs: number
}

const median3 = async (f: () => Promise<number>) => [await f(), await f(), await f()].sort((a, b) => a - b)[1]

export async function kernelBaseline(): Promise<Quiet> {
  return {kernelRate: await median3(() => kernelRate(500)), netnsMs: await median3(netnsBirthMs)}
}

/**
 * After namespaces are deleted the kernel tears them down in the background (netns cleanup), for
 * up to half a minute after 10,000 of them, and a new namespace waits for it: right after `down`
 * of a 10,000-pod lab, making 1,000 bare namespaces took 26 s instead of 1.3 s, though the CPUs
 * looked idle. A run started meanwhile measures that cleanup too. So wait a minimum that grows
 * with how many namespaces went, then until kernel time is back near its baseline and a new
 * namespace is made about as fast as at rest (two quiet half-seconds in a row), at most `maxMs`
 * in all (default: 10 s, and 8 ms more per namespace that went).
 */
export async function settle(namespaces: number, baseline: Quiet, maxMs = Math.max(10_000, namespaces * 8)): Promise<number> {
  const started = performance.now()
  await sleep(Math.min(5000, 500 + namespaces * 8))
  const quietKernel = baseline.kernelRate * 1.5 + 10
  const quietNetns = Math.max(baseline.netnsMs * 3, baseline.netnsMs + 20)
  let calm = 0
  while (calm < 2 && performance.now() - started < maxMs) {
    const kernel = await kernelRate(500)
    calm = kernel <= quietKernel && (await netnsBirthMs()) <= quietNetns ? calm + 1 : 0
  }
  return Math.round(performance.now() - started)
}
