// What this machine has left for a lab (src/core/capacity.ts sets it against what the lab needs):
// read from /proc and statfs, nothing written.
import {readFileSync, statfsSync} from 'node:fs'
import {UsageError} from '../core/errors.js'
import type {MachineLimits} from '../core/capacity.js'
import {maxOpenFiles} from './processes.js'

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

/** A number from a file, or Infinity when the file is missing or says something else (no limit known: none enforced). */
function numberIn(path: string, field = 0): number {
  const n = Number(read(path).trim().split(/\s+/)[field])
  return Number.isFinite(n) && read(path).trim() !== '' ? n : Infinity
}

function memAvailableKB(): number {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(read('/proc/meminfo'))
  return m ? Number(m[1]) : Infinity
}

function runInodesFree(): number {
  try {
    const s = statfsSync('/run')
    // a filesystem without an inode count (files 0) has no such limit
    return s.files > 0 ? s.ffree : Infinity
  } catch {
    return Infinity
  }
}

function tasksFree(): number {
  const max = Math.min(numberIn('/proc/sys/kernel/pid_max'), numberIn('/proc/sys/kernel/threads-max'))
  const running = Number(/\d+\/(\d+)/.exec(read('/proc/loadavg'))?.[1] ?? 0)
  return max - running
}

/**
 * Test-only (docs/safety.md): NETLAB_TEST_MACHINE_LIMITS="memAvailableKB=1024,…" replaces what
 * was read with these numbers, so a test can make a small lab not fit without a small machine.
 */
function testLimits(): Partial<MachineLimits> {
  const spec = process.env.NETLAB_TEST_MACHINE_LIMITS
  if (!spec) return {}
  const out: Record<string, number> = {}
  for (const part of spec.split(',')) {
    const [key, value] = part.split('=')
    if (!/^\d+$/.test(value ?? '')) throw new UsageError(`NETLAB_TEST_MACHINE_LIMITS: "${part}" is not KEY=NUMBER`)
    out[key.trim()] = Number(value)
  }
  return out
}

export function machineLimits(): MachineLimits {
  const nr = read('/proc/sys/fs/file-nr').trim().split(/\s+/).map(Number) // allocated, unused, max
  const filesFree = nr.length === 3 && nr.every(Number.isFinite) ? nr[2] - (nr[0] - nr[1]) : Infinity
  return {
    memAvailableKB: memAvailableKB(),
    filesFree,
    nofileHard: maxOpenFiles(),
    gcThresh3: numberIn('/proc/sys/net/ipv4/neigh/default/gc_thresh3'),
    runInodesFree: runInodesFree(),
    tasksFree: tasksFree(),
    ...testLimits(),
  }
}
