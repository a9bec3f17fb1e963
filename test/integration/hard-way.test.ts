// The hard way closes its loop: the bash script of `netlab plan --format sh` builds the lab,
// `netlab probe --topology` proves it (no state: the model comes from the topology, the
// namespaces' marks say they are the lab's), and the script's `down` (or the --teardown script)
// leaves nothing; a Ctrl-C mid-way rolls back. Also: `down` of a lab that never was is exit 2.
// Wall time: one build of three-node by bash and one interrupted (about 1.5 s each), one probe.
// The --teardown script is the script's own down() (a unit test compares them), so it is not built for again.
import {spawn, spawnSync} from 'node:child_process'
import {chmodSync, existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {THREE_NODE} from '../helpers/constants.js'
import {exited, isRoot, labNetns, labSandbox, netlab, rootSnapshot, uniqueLab, waitFor} from '../helpers/lab.js'

describe.skipIf(!isRoot)('the hard way: plan --format sh, bash, probe --topology, teardown', () => {
  const {stateDir, env, track} = labSandbox()

  /** three-node under a name of its own, and its build script (made with the sandbox's state dir: its mark) */
  const handmade = (tag: string) => {
    const lab = track(uniqueLab(tag))
    const topology = join(stateDir, `${lab}.yaml`)
    writeFileSync(topology, readFileSync(THREE_NODE, 'utf8').replace(/^name: .*$/m, `name: ${lab}`))
    const script = join(stateDir, `${lab}.sh`)
    const plan = netlab(['plan', topology, '--format', 'sh'], env)
    expect(plan.code, plan.stderr).toBe(0)
    writeFileSync(script, plan.stdout)
    return {lab, topology, script}
  }

  it('bash builds it, probe --topology proves it (and refuses namespaces without its mark), bash lab.sh down removes it all', () => {
    const before = rootSnapshot()
    const {lab, topology, script} = handmade('hw')
    const none = netlab(['probe', '--topology', topology], env)
    expect(none.code).toBe(2)
    expect(none.stderr).toContain(`lab ${lab} is not built`)
    const build = spawnSync('bash', [script], {encoding: 'utf8'})
    expect(build.status, build.stderr).toBe(0)
    expect(build.stdout).toContain(`lab ${lab} is up`)
    const probe = netlab(['probe', '--topology', topology, '--json'], env)
    expect(probe.code, probe.stderr).toBe(0)
    const report = JSON.parse(probe.stdout) as {passed: number; failed: number}
    expect(report.failed).toBe(0)
    expect(report.passed).toBeGreaterThan(0)
    expect(existsSync(join(stateDir, lab))).toBe(false) // a hand-built lab leaves no state behind
    // one namespace without the lab's mark: netlab runs nothing in a lab it cannot tell is this one
    const db = `netlab-${lab}.db`
    const mark = readFileSync(script, 'utf8').match(/^MARK=(.*)$/m)![1]
    spawnSync('ip', ['-n', db, 'link', 'set', 'lo', 'alias', 'not-this-lab'])
    const unmarked = netlab(['probe', '--topology', topology, '--json'], env)
    spawnSync('ip', ['-n', db, 'link', 'set', 'lo', 'alias', mark])
    expect(unmarked.code).toBe(2)
    expect(JSON.parse(unmarked.stdout).error.message).toContain(`a namespace of lab ${lab} does not carry its mark`)
    const down = spawnSync('bash', [script, 'down'], {encoding: 'utf8'})
    expect(down.status, down.stderr).toBe(0)
    expect(down.stdout).toContain(`lab ${lab} is down: 10 namespace(s) deleted`)
    expect(labNetns(lab)).toEqual([])
    expect(rootSnapshot()).toBe(before)
  })

  it('Ctrl-C (SIGINT to bash) mid-way: exit 130 and nothing of the lab is left', async () => {
    const before = rootSnapshot()
    const {lab, script} = handmade('hw-int')
    // an `ip` in front of the real one that holds the first `route add` until told to go on:
    // by then every namespace exists and most of the lab is configured
    const shim = join(stateDir, `${lab}-bin`)
    spawnSync('mkdir', [shim])
    const realIp = spawnSync('sh', ['-c', 'command -v ip'], {encoding: 'utf8'}).stdout.trim()
    const paused = join(stateDir, `${lab}.paused`)
    const release = join(stateDir, `${lab}.release`)
    writeFileSync(
      join(shim, 'ip'),
      `#!/bin/bash\ncase " $* " in *" route add "*) if [ ! -e ${paused} ]; then touch ${paused}; ` +
        `while [ ! -e ${release} ]; do sleep 0.02; done; fi;; esac\nexec ${realIp} "$@"\n`,
    )
    chmodSync(join(shim, 'ip'), 0o755)
    const child = spawn('bash', [script], {env: {...process.env, PATH: `${shim}:${process.env.PATH}`}, stdio: ['ignore', 'pipe', 'pipe']})
    const done = exited(child)
    try {
      await waitFor(() => existsSync(paused))
      expect(labNetns(lab)).toHaveLength(10)
      child.kill('SIGINT') // bash runs its trap once the command it waits for ends
      writeFileSync(release, '')
      const {code, stderr} = await done
      expect(code).toBe(130)
      expect(stderr).toContain(`nothing of lab ${lab} is left`)
      expect(labNetns(lab)).toEqual([])
      expect(rootSnapshot()).toBe(before)
    } finally {
      writeFileSync(release, '')
      child.kill('SIGKILL')
    }
  })

  it('down of a lab that is not up and never was is exit 2, naming the labs that are up', () => {
    const lab = uniqueLab('never')
    const r = netlab(['down', lab], env)
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toMatch(new RegExp(`^netlab: no lab named ${lab} is up \\((labs up: .*|no lab is up)\\)$`))
    expect(readdirSync(stateDir).filter((f) => f.startsWith(lab))).toEqual([])
  })
})
