// What a person watching sees, on a real lab: up's live list on a terminal that has no width
// falls back to plain lines; a probe shows its progress on a terminal only; --only policy on a
// lab without policies says "not applicable"; and a healthy lab's probe still passes with the
// machine's CPUs flooded (the developers' note: one failed at a load average of ~19).
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {cpus} from 'node:os'
import {afterAll, describe, expect, it} from 'vitest'
import {BIN, cliEnv, isRoot, labSandbox, netlab, ROOT, smallTopology, uniqueLab, writeTopology} from '../helpers/lab.js'

const hasScript = spawnSync('script', ['--version']).status === 0

/** netlab on a pseudo-terminal of this many columns (script(1)): what the terminal shows, escapes stripped. */
function onTerminal(columns: number, args: string[], env: Record<string, string>): {code: number | null; screen: string; raw: string} {
  const cmd = `stty cols ${columns} rows 40; exec ${process.execPath} ${BIN} ${args.join(' ')}`
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], {cwd: ROOT, env: cliEnv(env), encoding: 'utf8', timeout: 120_000})
  // eslint-disable-next-line no-control-regex -- terminal escapes are what it removes
  const screen = r.stdout.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r(?!\n)/g, '\n')
  return {code: r.status, screen, raw: r.stdout}
}

describe.skipIf(!isRoot || !hasScript)('progress on a terminal, and a probe under load', () => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab('watch'))
  const hogs: ChildProcess[] = []
  afterAll(() => hogs.forEach((h) => h.exitCode === null && h.signalCode === null && process.kill(h.pid!, 'SIGKILL')))

  it("up on a terminal with no width: plain lines, each step's title whole on one line (issue 22, 21)", () => {
    const file = writeTopology(stateDir, smallTopology(lab, {nodes: 2, pods: 2}))
    const r = onTerminal(0, ['up', file], env)
    expect(r.code, r.screen).toBe(0)
    const lines = r.screen.split('\n').map((l) => l.trimEnd())
    expect(
      lines.some((l) => /^✔ Create the network namespaces/.test(l)),
      r.screen,
    ).toBe(true)
    // a live list drawn for 0 columns put each character on a line of its own
    expect(lines.filter((l) => l.trim().length === 1)).toEqual([])
  })

  it('probe: a line of progress on a terminal, none in a pipe or with --json (issue 22, 21)', () => {
    const live = onTerminal(100, ['probe', lab], env)
    expect(live.code, live.screen).toBe(0)
    expect(live.screen).toMatch(/probe of lab \S+: \d+ of \d+ probes done/)
    expect(live.screen).toMatch(/\d+ passed, 0 failed/)
    const json = onTerminal(100, ['probe', lab, '--json'], env)
    expect(json.code).toBe(0)
    expect(json.raw).not.toContain('probes done')
    const piped = netlab(['probe', lab], env)
    expect(piped.code, piped.stdout).toBe(0)
    expect(piped.stdout + piped.stderr).not.toContain('probes done')
  })

  it('probe --only policy on a lab without policies: not applicable, nothing checked, exit 0 (issue 22, 17)', () => {
    const r = netlab(['probe', lab, '--only', 'policy', '--json'], env)
    expect(r.code, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report.checks.map((c: {notApplicable?: string}) => c.notApplicable)).toEqual([
      `lab ${lab} has no network policies (netlab policy apply adds them)`,
    ])
    expect(report.notApplicable).toMatch(/nothing was checked/)
    const text = netlab(['probe', lab, '--only', 'policy'], env)
    expect(text.stdout).toContain(': not applicable')
  })

  it('a healthy lab passes its probe while busy loops keep every CPU several times over', async () => {
    // busy loops of our own, killed by PID (afterAll too, should this fail)
    for (let i = 0; i < 8 * cpus().length; i++) hogs.push(spawn('sh', ['-c', 'while :; do :; done'], {stdio: 'ignore'}))
    try {
      const r = netlab(['probe', lab, '--json', '--no-explain'], env)
      const report = JSON.parse(r.stdout)
      expect(report.failed, JSON.stringify(report.checks.flatMap((c: {results: unknown[]}) => c.results).slice(0, 5))).toBe(0)
      expect(report.passed).toBeGreaterThan(30)
      expect(r.code).toBe(0)
    } finally {
      for (const h of hogs.splice(0)) process.kill(h.pid!, 'SIGKILL')
    }
  }, 120_000)
})
