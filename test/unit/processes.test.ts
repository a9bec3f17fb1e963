// How netlab stops the processes a lab starts: it returns only once they are gone, a zombie
// whose parent is stopped counts as gone, and a PID's identity is its marker. No root needed:
// the processes here are the test's own.
import {spawn, type ChildProcess} from 'node:child_process'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterEach, describe, expect, it} from 'vitest'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {
  finished,
  parseProcStat,
  procStat,
  registerLabProcess,
  runningLabProcess,
  stopLabProcesses,
  stopProcess,
} from '../../src/host/processes.js'
import {processMarker} from '../../src/core/names.js'
import {withStateDir} from '../helpers/state.js'

const started: ChildProcess[] = []
afterEach(() => {
  for (const c of started.splice(0)) {
    try {
      process.kill(c.pid!, 'SIGKILL')
    } catch {
      // gone
    }
  }
})

/** A perl process with `marker` on its command line, running `code`; resolves once it prints "ready". */
async function perl(code: string, marker: string): Promise<ChildProcess & {said: string}> {
  const c = spawn('perl', ['-e', `$| = 1; ${code}`, marker], {stdio: ['ignore', 'pipe', 'inherit']})
  started.push(c)
  let out = ''
  await new Promise<void>((resolve, reject) => {
    c.stdout!.on('data', (d) => {
      out += d
      if (out.includes('ready')) resolve()
    })
    c.once('exit', () => reject(new Error(`exited early: ${out}`)))
  })
  return Object.assign(c, {said: out})
}

const marker = () => `netlab-test-${process.pid}-${Math.random().toString(36).slice(2)}`

describe('/proc/PID/stat', () => {
  const line = (comm: string, state: string) =>
    `4242 (${comm}) ${state} 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 987654 1000 200 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0`

  it('reads state, parent, threads and start time, whatever the name holds', () => {
    expect(parseProcStat(line('node', 'S'))).toEqual({state: 'S', ppid: 17, threads: 3, start: 987654})
    expect(parseProcStat(line('a) (b c) Z 1', 'R'))).toEqual({state: 'R', ppid: 17, threads: 3, start: 987654})
    expect(parseProcStat('garbage')).toBeUndefined()
  })

  it('a zombie has finished once its threads have; a stopped process has not', () => {
    expect(finished(undefined)).toBe(true)
    expect(finished({state: 'Z', ppid: 1, threads: 1, start: 1})).toBe(true)
    expect(finished({state: 'Z', ppid: 1, threads: 3, start: 1})).toBe(false) // its other threads still exit
    expect(finished({state: 'X', ppid: 1, threads: 0, start: 1})).toBe(true)
    for (const s of ['R', 'S', 'D', 'T', 't']) expect(finished({state: s, ppid: 1, threads: 1, start: 1})).toBe(false)
    expect(procStat(process.pid)?.state).toMatch(/^[RS]$/)
  })
})

describe('stopProcess', () => {
  const limits = {termMs: 300, killMs: 2000}

  it('returns once a process that exits on SIGTERM is gone', async () => {
    const m = marker()
    const c = await perl('print "ready\\n"; sleep 60', m)
    const r = await stopProcess(c.pid!, m, limits)
    expect(r).toEqual({pid: c.pid, outcome: 'stopped'})
    expect(finished(procStat(c.pid!))).toBe(true)
  })

  it('SIGKILLs one that ignores SIGTERM, and waits for it too', async () => {
    const m = marker()
    const c = await perl('$SIG{TERM} = "IGNORE"; print "ready\\n"; sleep 60', m)
    const t0 = performance.now()
    const r = await stopProcess(c.pid!, m, limits)
    expect(r.outcome).toBe('stopped')
    expect(performance.now() - t0).toBeGreaterThanOrEqual(limits.termMs - 20)
    expect(finished(procStat(c.pid!))).toBe(true)
  })

  it('a zombie whose parent is stopped is gone: no wait for a reaping that cannot happen', async () => {
    const m = marker()
    // the parent forks the marked child, says who it is, and stops itself (like a stuck probe)
    const parent = await perl(`my $c = fork(); if (!$c) { sleep 60; exit 0 } print "ready $c\\n"; kill "STOP", $$; sleep 60`, m)
    const childPid = Number(/ready (\d+)/.exec(parent.said)![1])
    for (let i = 0; i < 100 && procStat(parent.pid!)?.state !== 'T'; i++) await sleep(10)
    expect(procStat(parent.pid!)?.state).toBe('T')
    const t0 = performance.now()
    const r = await stopProcess(childPid, m, limits)
    expect(r).toEqual({pid: childPid, outcome: 'stopped'})
    expect(performance.now() - t0).toBeLessThan(limits.termMs) // SIGTERM was enough
    expect(procStat(childPid)?.state).toBe('Z') // not reaped: its parent is stopped
  })

  it('leaves alone a PID whose command line does not hold the marker', async () => {
    const c = await perl('print "ready\\n"; sleep 60', marker())
    expect(await stopProcess(c.pid!, 'netlab-some-other-marker', limits)).toEqual({pid: c.pid, outcome: 'not-running'})
    expect(finished(procStat(c.pid!))).toBe(false)
  })
})

describe('stopLabProcesses', () => {
  it('counts each process once: records made before their PIDs were known find every engine of the probe by its marker', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netlab-procs-'))
    try {
      await withStateDir(dir, async () => {
        const lab = 'procs'
        const m = processMarker('probe-engine', lab, process.pid)
        const engines = await Promise.all([0, 1].map(() => perl('print "ready\\n"; sleep 60', m)))
        // both records without a PID (the probe was stopped before it wrote them again): each marker finds both engines
        registerLabProcess(lab, `probe-engine-${process.pid}`, m)
        registerLabProcess(lab, `probe-engine-${process.pid}.1`, m)
        const report = await stopLabProcesses(lab)
        expect(report.stopped).toBe(2)
        expect(report.stuck).toEqual([])
        for (const e of engines) expect(finished(procStat(e.pid!))).toBe(true)
      })
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('runningLabProcess (status asks whether the workload runs)', () => {
  it("the record's PID when it runs with the lab's marker; nothing for another lab's marker, a recycled PID or no PID", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netlab-procs-'))
    try {
      await withStateDir(dir, async () => {
        const lab = 'procs'
        const ours = processMarker('workload', lab, process.pid)
        const other = processMarker('workload', 'other', process.pid)
        const c = await perl('print "ready\\n"; sleep 60', ours)
        registerLabProcess(lab, 'workload', ours, c.pid)
        expect(runningLabProcess(lab, 'workload')).toBe(c.pid)
        // a record naming another lab's marker names nothing of this lab
        registerLabProcess(lab, 'workload', other, c.pid)
        expect(runningLabProcess(lab, 'workload')).toBeUndefined()
        // a PID that is not (any more) the process with the marker: this test's own
        registerLabProcess(lab, 'workload', ours, process.pid)
        expect(runningLabProcess(lab, 'workload')).toBeUndefined()
        registerLabProcess(lab, 'workload', ours)
        expect(runningLabProcess(lab, 'workload')).toBeUndefined()
        expect(runningLabProcess(lab, 'no-such-record')).toBeUndefined()
      })
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
