// A real Ctrl-C reaches the whole process group. `up` of a mid-size lab gets SIGINT or SIGTERM
// that way at moments spread over its whole run, the last ones after the lab is complete: each
// run ends either interrupted (130/143) with nothing of the lab left, or with the lab fully up
// (exit 0) — never "up failed", never interrupted with the lab up.
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {describe, expect, it} from 'vitest'
import {BIN, cliEnv, isRoot, labNetns, labSandbox, netlab, ROOT, smallTopology, uniqueLab, writeTopology} from '../helpers/lab.js'

/** `netlab up FILE` as a terminal starts it: the leader of its own process group. */
function upInGroup(file: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [BIN, 'up', file], {
    cwd: ROOT,
    env: cliEnv({...env, NO_COLOR: '1'}),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
}

interface Ended {
  code: number | null
  signal: NodeJS.Signals | null
  stderr: string
}

function ended(child: ChildProcess): Promise<Ended> {
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  child.stdout!.resume()
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({code, signal, stderr})))
}

/** Processes whose command line names the lab (its namespaces, its state directory). */
function processesOf(lab: string, stateDir: string): string[] {
  const found: string[] = []
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
      if (cmd.includes(`netlab-${lab}.`) || cmd.includes(join(stateDir, lab))) found.push(`${pid}: ${cmd}`)
    } catch {
      // gone meanwhile
    }
  }
  return found
}

/** The processes `pid` started (they run in process groups of their own). */
function childrenOf(pid: number): number[] {
  const kids: number[] = []
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) kids.push(Number(d))
    } catch {
      // gone meanwhile
    }
  }
  return kids
}

const kill = (pid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(pid, signal)
  } catch {
    // already gone
  }
}

describe.skipIf(!isRoot)('signals to the process group during up', () => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab('sig'))
  const file = writeTopology(stateDir, smallTopology(lab, {nodes: 20, pods: 5}))
  const statePath = join(stateDir, lab, 'state.json')
  const isUp = () => {
    try {
      return (JSON.parse(readFileSync(statePath, 'utf8')) as {status: string}).status === 'up'
    } catch {
      return false
    }
  }

  it('Ctrl-C or SIGTERM at any moment: 130/143 with nothing left, or 0 with the lab fully up', async () => {
    // an undisturbed run: how long `up` takes here, and what a complete lab has
    const t0 = performance.now()
    const clean = await ended(upInGroup(file, env))
    const runMs = performance.now() - t0
    expect(clean.code, clean.stderr).toBe(0)
    const complete = labNetns(lab).length
    expect(complete).toBe(20 * 6 + 2) // a fabric, 20 nodes, 100 pods, the external host
    expect(netlab(['down', lab], env).code).toBe(0)

    // moments spread over the run (from the process's start, as a user's Ctrl-C), then moments
    // just after the lab's state says "up" (it is complete) and before the process has ended
    const spread = Array.from({length: 14}, (_, i) => ({afterMs: Math.round((runMs * (i + 1)) / 15)}))
    const late = [0, 0, 2, 5].map((ms) => ({afterUpMs: ms}))
    const outcomes: string[] = []
    for (const [i, moment] of [...spread, ...late].entries()) {
      const signal: NodeJS.Signals = i % 2 === 0 ? 'SIGINT' : 'SIGTERM'
      const child = upInGroup(file, env)
      const done = ended(child)
      const pid = child.pid!
      if ('afterMs' in moment) await sleep(moment.afterMs)
      else {
        for (let t = 0; !isUp() && child.exitCode === null && t < 20_000; t++) await sleep(1)
        if (moment.afterUpMs) await sleep(moment.afterUpMs)
      }
      // the children first: a child that gets the signal in the instant before it has its own
      // process group (between fork and setsid) dies of it, before netlab has heard of it
      for (const kid of childrenOf(pid)) kill(kid, signal)
      kill(-pid, signal)
      const r = await done
      const at = 'afterMs' in moment ? `${moment.afterMs} ms` : `${moment.afterUpMs} ms after the lab was up`
      const what = `${signal} at ${at}: exit ${r.code ?? r.signal}\n${r.stderr}`
      expect(r.stderr, what).not.toContain('up failed')
      if (r.code === 0) {
        // complete: fully up, and it said so if the signal came while it was still running
        expect(labNetns(lab).length, what).toBe(complete)
        expect(isUp(), what).toBe(true)
        expect(netlab(['down', lab], env).code).toBe(0)
        outcomes.push(r.stderr.includes('was complete: it stays up') ? 'up, said so' : 'up (had ended)')
      } else {
        // interrupted: by its own handler (128+N), or by the signal itself before netlab began
        // (node's default action; a shell reports that as 128+N too)
        if (r.code !== null) expect(r.code, what).toBe(signal === 'SIGINT' ? 130 : 143)
        else expect(r.signal, what).toBe(signal)
        expect(labNetns(lab), what).toEqual([])
        expect(existsSync(join(stateDir, lab)), what).toBe(false)
        outcomes.push(
          r.code === null ? 'killed before starting' : r.stderr.includes('rolled back') ? 'rolled back' : 'stopped before making',
        )
      }
      expect(processesOf(lab, stateDir), what).toEqual([])
    }
    console.log(`signals during a ${Math.round(runMs)} ms up: ${outcomes.join(', ')}`)
    expect(outcomes.filter((o) => o === 'rolled back').length).toBeGreaterThan(3)
  }, 90_000)
})
