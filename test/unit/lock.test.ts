// The lab locks: one process changes a lab, one probes it; a lock whose owner died (or whose PID
// another process got since) is taken over, and `down` removes it. No root: a temporary state
// directory and a child we start.
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {acquireLock, removeStaleLock} from '../../src/host/lock.js'

const dir = mkdtempSync(join(tmpdir(), 'netlab-lock-'))
let saved: string | undefined
beforeAll(() => {
  saved = process.env.NETLAB_STATE_DIR
  process.env.NETLAB_STATE_DIR = dir
})
afterAll(() => {
  if (saved === undefined) delete process.env.NETLAB_STATE_DIR
  else process.env.NETLAB_STATE_DIR = saved
  rmSync(dir, {recursive: true, force: true})
})

/** the PID of a process that has ended (a child we started and waited for) */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!
}

describe('lab locks', () => {
  it('a probe lock is refused to a second taker while its owner lives, naming the owner; change and probe locks are apart', () => {
    const probe = acquireLock('lk', 'probe')
    try {
      expect(readFileSync(join(dir, 'lk.probe.lock'), 'utf8')).toMatch(new RegExp(`^${process.pid} \\d+$`)) // PID and start time
      expect(() => acquireLock('lk', 'probe')).toThrow(`lab lk is being probed by another netlab probe (pid ${process.pid})`)
      const change = acquireLock('lk') // up/down are not held up by a probe (down stops its engines)
      change.release()
    } finally {
      probe.release()
    }
    expect(existsSync(join(dir, 'lk.probe.lock'))).toBe(false)
    acquireLock('lk', 'probe').release() // free again
    expect(readdirSync(dir)).toEqual([]) // nothing left aside
  })

  it("a lock left by a dead owner is taken over; removeStaleLock removes only a dead owner's lock", async () => {
    writeFileSync(join(dir, 'dead.probe.lock'), String(deadPid()))
    acquireLock('dead', 'probe').release()
    writeFileSync(join(dir, 'dead.probe.lock'), String(deadPid()))
    removeStaleLock('dead', 'probe')
    expect(existsSync(join(dir, 'dead.probe.lock'))).toBe(false)
    const child = spawn('sleep', ['30'])
    try {
      writeFileSync(join(dir, 'live.probe.lock'), String(child.pid))
      removeStaleLock('live', 'probe')
      expect(existsSync(join(dir, 'live.probe.lock'))).toBe(true)
      expect(() => acquireLock('live', 'probe')).toThrow(`(pid ${child.pid})`)
      // the same PID with another start time is a process that got the dead owner's PID later
      writeFileSync(join(dir, 'reused.probe.lock'), `${child.pid} 1`)
      acquireLock('reused', 'probe').release()
      expect(existsSync(join(dir, 'reused.probe.lock'))).toBe(false)
    } finally {
      child.kill('SIGKILL')
      await new Promise((resolve) => child.once('exit', resolve))
    }
    removeStaleLock('live', 'probe')
    expect(existsSync(join(dir, 'live.probe.lock'))).toBe(false)
  })
})
