// Damaged state is one lab's problem (issue 22, findings 11, 13, 18): a lab whose state.json is
// emptied, cut short, deleted or replaced by `{}`, or whose whole state directory is gone, is
// listed by `ls` and `status --all` beside the others (damaged: REASON, or orphaned, with the
// command that removes it), `status LAB` says what is wrong, and `down LAB` still removes it: its
// marked namespaces and its processes, a running probe's engines included, which then says
// "lab LAB was taken down during the probe" (exit 1) instead of thousands of failures.
import {execFileSync} from 'node:child_process'
import {readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync} from 'node:fs'
import {cpus} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {
  exited,
  isRoot,
  labNetns,
  labSandbox,
  netlab,
  netlabSpawn,
  smallTopology,
  uniqueLab,
  waitFor,
  writeTopology,
} from '../helpers/lab.js'

interface Line {
  lab: string
  state: string
  reason?: string
  remove?: string
  namespaces?: number
}

/** PIDs of live processes with `marker` among their arguments' text. */
function processesWith(marker: string): number[] {
  return readdirSync('/proc').flatMap((d) => {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) return []
    try {
      return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(marker) ? [Number(d)] : []
    } catch {
      return []
    }
  })
}
const engines = (lab: string) => processesWith(`netlab-probe-engine:${lab}:`)
/** What a process's open files are ("socket:[N]", "pipe:[N]", a path), its stdio too or not (Node gives a child socket pairs); none once it is gone. */
function fdTargets(pid: number, opts: {stdio: boolean}): string[] {
  let fds: string[]
  try {
    fds = readdirSync(`/proc/${pid}/fd`).filter((fd) => opts.stdio || Number(fd) > 2)
  } catch {
    return []
  }
  return fds.flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/${pid}/fd/${fd}`)]
    } catch {
      return []
    }
  })
}
/** one engine per core */
const ENGINES = cpus().length

describe.skipIf(!isRoot)('damaged state is one lab’s problem', () => {
  const {stateDir, env, track} = labSandbox()
  const up = (prefix: string): string => {
    const lab = track(uniqueLab(prefix))
    const r = netlab(['up', writeTopology(stateDir, smallTopology(lab, {nodes: 2, pods: 2, external: false})), '-q'], env)
    expect(r.code, r.stderr).toBe(0)
    return lab
  }
  const ls = (args = ['ls', '--json']): Line[] => {
    const r = netlab(args, env)
    expect(r.code, r.stderr).toBe(0)
    return JSON.parse(r.stdout) as Line[]
  }
  const stateFile = (lab: string) => join(stateDir, lab, 'state.json')

  it('state.json replaced by {}: ls and status --all list every lab, that one damaged with its reason; status says what is wrong; down removes it (finding 11)', () => {
    const bad = up('dmg')
    const good = up('ok')
    const ns = labNetns(bad).length
    writeFileSync(stateFile(bad), '{}\n')
    for (const args of [
      ['ls', '--json'],
      ['status', '--all', '--json'],
    ]) {
      const lines = ls(args)
      expect(lines.find((l) => l.lab === good)?.state, args.join(' ')).toBe('up')
      expect(
        lines.find((l) => l.lab === bad),
        args.join(' '),
      ).toMatchObject({
        state: 'damaged',
        reason: 'state.json: version is missing',
        namespaces: ns,
        remove: expect.stringMatching(new RegExp(` down ${bad}$`)),
      })
    }
    const text = netlab(['ls'], env)
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(
      new RegExp(`^${bad} +damaged .*damaged: state\\.json: version is missing; remove it with: .* down ${bad}$`, 'm'),
    )
    expect(text.stdout).toMatch(new RegExp(`^${good} +up +host-gw +2 +4 `, 'm'))

    const status = netlab(['status', bad], env)
    expect(status.code).toBe(1)
    expect(status.stderr.trim()).toMatch(
      new RegExp(`^netlab: lab ${bad}'s saved state is damaged: state\\.json: version is missing; ".* down ${bad}" still removes the lab`),
    )
    const json = netlab(['status', bad, '--json'], env)
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({error: {kind: 'failure', message: expect.stringContaining('damaged')}})

    const down = netlab(['down', bad, '--json'], env)
    expect(down.code, down.stderr).toBe(0)
    expect(JSON.parse(down.stdout)).toMatchObject({labs: [{lab: bad, deletedNetns: ns, keptUnmarked: []}]})
    expect(labNetns(bad)).toEqual([])
    expect(ls().map((l) => l.lab)).not.toContain(bad)
    expect(labNetns(good)).toHaveLength(ns) // the other lab: untouched
  })

  it('state.json emptied, then deleted: status says so, never "no lab named LAB" while listing it (finding 13)', () => {
    const lab = up('trunc')
    writeFileSync(stateFile(lab), '')
    let status = netlab(['status', lab], env)
    expect(status.code).toBe(1)
    expect(status.stderr).toContain(`lab ${lab}'s saved state is damaged: state.json is empty`)
    expect(status.stderr).not.toContain('no lab named')
    rmSync(stateFile(lab))
    status = netlab(['status', lab], env)
    expect(status.code).toBe(1)
    expect(status.stderr).toContain(`lab ${lab}'s saved state is damaged: state.json is missing`)
    expect(status.stderr).not.toContain('no lab named')
    expect(ls().find((l) => l.lab === lab)).toMatchObject({state: 'damaged', reason: 'state.json is missing'})
    const down = netlab(['down', lab], env)
    expect(down.code, down.stderr).toBe(0)
    expect(labNetns(lab)).toEqual([])
  })

  it('state.json, plan.json and the journal all damaged: down removes the lab by its marks, and only its own', () => {
    const lab = up('alldmg')
    const ns = labNetns(lab).length
    for (const f of ['state.json', 'plan.json']) writeFileSync(join(stateDir, lab, f), '{}')
    writeFileSync(join(stateDir, lab, 'journal.jsonl'), '{"t":"begin"}\n{"t":"done","ids":"x"}\n')
    const down = netlab(['down', lab, '--json'], env)
    expect(down.code, down.stderr).toBe(0)
    expect(JSON.parse(down.stdout)).toMatchObject({labs: [{lab, deletedNetns: ns, keptUnmarked: []}]})
    expect(labNetns(lab)).toEqual([])
    expect(ls().map((l) => l.lab)).not.toContain(lab)
  })

  it('the state directory deleted: ls lists the lab as orphaned with the down that removes its marked namespaces (finding 13)', () => {
    const lab = up('orph')
    const ns = labNetns(lab).length
    rmSync(join(stateDir, lab), {recursive: true})
    expect(ls().find((l) => l.lab === lab)).toMatchObject({
      state: 'orphaned',
      namespaces: ns,
      reason: `no saved state; ${ns} namespaces carry its mark`,
      remove: expect.stringMatching(new RegExp(` down ${lab}$`)),
    })
    const text = netlab(['ls'], env)
    expect(text.stdout).toMatch(new RegExp(`^${lab} +orphaned .* ${ns} .*orphaned: .*; remove it with: .* down ${lab}$`, 'm'))
    const status = netlab(['status', lab], env)
    expect(status.code).toBe(1)
    expect(status.stderr.trim()).toMatch(
      new RegExp(`lab ${lab} has no saved state \\(orphaned\\): ${ns} namespaces carry its mark; ".* down ${lab}" removes them`),
    )
    // a namespace named like the lab but without its mark is not the lab's: not counted
    execFileSync('ip', ['netns', 'add', `netlab-${lab}.handmade`])
    try {
      expect(ls().find((l) => l.lab === lab)?.namespaces).toBe(ns)
      const down = netlab(['down', lab, '--json'], env)
      expect(down.code, down.stderr).toBe(0)
      expect(JSON.parse(down.stdout)).toMatchObject({labs: [{deletedNetns: ns, keptUnmarked: [`netlab-${lab}.handmade`]}]})
    } finally {
      execFileSync('ip', ['netns', 'del', `netlab-${lab}.handmade`])
    }
    expect(labNetns(lab)).toEqual([])
    expect(ls().map((l) => l.lab)).not.toContain(lab)
  })
})

describe.skipIf(!isRoot)('netlab down while a probe runs (finding 18)', () => {
  const {stateDir, env, track} = labSandbox()
  const up = (prefix: string): string => {
    const lab = track(uniqueLab(prefix))
    const r = netlab(['up', writeTopology(stateDir, smallTopology(lab, {nodes: 2, pods: 2, external: false})), '-q'], env)
    expect(r.code, r.stderr).toBe(0)
    // a probe that takes seconds (timeouts through a node that does not forward): time to catch its engines serving
    execFileSync('ip', ['netns', 'exec', `netlab-${lab}.n1`, 'sysctl', '-qw', 'net.ipv4.ip_forward=0'])
    return lab
  }

  /** Each engine has opened its sockets in the lab (it serves there): from then on it is the lab's, by the kernel's tables. */
  const serving = (lab: string) => {
    const pids = engines(lab)
    return pids.length === ENGINES && pids.every((pid) => fdTargets(pid, {stdio: false}).some((t) => t.startsWith('socket:')))
  }
  /**
   * Hold (SIGSTOP) or release the lab's engines: the probe waits for them, so `down` lands in
   * the middle of the probe whatever the machine's speed. Only processes with the lab's engine marker.
   */
  const signalEngines = (lab: string, signal: NodeJS.Signals) =>
    engines(lab).forEach((pid) => {
      try {
        process.kill(pid, signal)
      } catch {
        // gone meanwhile
      }
    })

  it('the probe ends exit 1 "lab LAB was taken down during the probe", not "the probe\'s engine stopped"', async () => {
    const lab = up('pdown')
    const probe = netlabSpawn(['probe', lab], env)
    try {
      const closed = exited(probe)
      await waitFor(() => serving(lab))
      signalEngines(lab, 'SIGSTOP')
      const down = netlab(['down', lab], env)
      expect(down.code, down.stderr).toBe(0)
      expect(down.stdout).toContain(`${ENGINES} process${ENGINES === 1 ? '' : 'es'} stopped`)
      const {code, stderr} = await closed
      expect(stderr.trim()).toBe(`netlab: lab ${lab} was taken down during the probe`)
      expect(code).toBe(1)
    } finally {
      signalEngines(lab, 'SIGCONT') // a failed check must not leave them stopped: they end once the probe is gone
      probe.kill('SIGKILL')
    }
    await waitFor(() => engines(lab).length === 0)
    expect(labNetns(lab)).toEqual([])
  })

  it("with the lab's state directory deleted first, down still finds and stops the probe's engines (by their sockets in the lab's marked namespaces)", async () => {
    const lab = up('pnostate')
    const probe = netlabSpawn(['probe', lab], env)
    let stdout = ''
    probe.stdout!.on('data', (d) => (stdout += d))
    try {
      const closed = exited(probe)
      await waitFor(() => serving(lab))
      signalEngines(lab, 'SIGSTOP')
      rmSync(join(stateDir, lab), {recursive: true}) // the engines' records with it
      const down = netlab(['down', lab], env)
      expect(down.code, down.stderr).toBe(0)
      expect(down.stdout).toMatch(
        new RegExp(`^lab ${lab} is down: 7 namespaces deleted, ${ENGINES} process${ENGINES === 1 ? '' : 'es'} stopped`),
      )
      expect(engines(lab)).toEqual([]) // gone, not only signalled
      const {code, stderr} = await closed
      expect(stderr.trim()).toBe(`netlab: lab ${lab} was taken down during the probe`)
      expect(code).toBe(1)
      expect(stdout).not.toMatch(/passed/)
    } finally {
      signalEngines(lab, 'SIGCONT')
      probe.kill('SIGKILL')
    }
    expect(labNetns(lab)).toEqual([])
  })

  it('a process that only looks like an engine of the lab (its marker, but no socket in the lab) is left alone', async () => {
    const lab = up('pfake')
    // this test process as the "probe" it names, so only the socket check tells it apart
    const {spawn} = await import('node:child_process')
    const fake = spawn('perl', ['-e', 'sleep 60', `netlab-probe-engine:${lab}:${process.pid}`], {stdio: 'ignore'})
    try {
      await waitFor(() => processesWith(`netlab-probe-engine:${lab}:${process.pid}`).length === 1)
      rmSync(join(stateDir, lab), {recursive: true})
      const down = netlab(['down', lab], env)
      expect(down.code, down.stderr).toBe(0)
      expect(down.stdout).not.toMatch(/process(es)? stopped/)
      expect(fake.exitCode).toBeNull()
      expect(processesWith(`netlab-probe-engine:${lab}:${process.pid}`)).toEqual([fake.pid])
    } finally {
      fake.kill('SIGKILL')
    }
  })
})
