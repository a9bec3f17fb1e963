// What users trust netlab with: a failed or interrupted `up` leaves nothing, `down` works after
// a crash, netlab never deletes what it did not create, and two runs never trip over each other.
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {DEFAULT_ROUTING_MODE, ROUTING_MODES} from '../../src/modes/index.js'
import {
  destroyLab,
  exited,
  isRoot,
  labNetns,
  labSandbox,
  makeStateDir,
  netlab,
  netlabSpawn,
  removeDir,
  rootSnapshot,
  smallTopology,
  uniqueLab,
  waitFor,
  writeTopology,
} from '../helpers/lab.js'
import {upInProcess} from '../helpers/in-process.js'
import {processesWithArg} from '../../src/host/processes.js'

/** The processes a lab started (BIRD, the workload): every argument a marker of the lab's (netlab-KIND:LAB:OWNER). */
const labDaemons = (lab: string) => processesWithArg((a) => /^netlab-[a-z-]+:/.test(a) && a.split(':')[1] === lab).map((p) => p.arg)

interface PlanJson {
  actions: {id: number; phase: string; command: string; creates?: string}[]
}

const mountsOf = (lab: string) =>
  readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter((l) => l.includes(`/netns/netlab-${lab}.`))

/** The same topology under the default routing mode, for comparing phases. */
function defaultPlan(file: string): PlanJson {
  const text = readFileSync(file, 'utf8').replace(/routing: \S+/, `routing: ${DEFAULT_ROUTING_MODE}`)
  writeFileSync(`${file}.default.yaml`, text)
  return JSON.parse(netlab(['plan', `${file}.default.yaml`, '--format', 'json']).stdout) as PlanJson
}

/** Faults per non-default mode: what keeps `.ci/run` under its 15 minutes as modes and features are added (24 until the CNI, trace and CLI tests came; each mode still gets every phase's first, middle and last step). */
const SAMPLE_NEW_STEPS = 12

/**
 * The steps the default mode's plan does not have — all of them up to SAMPLE_NEW_STEPS, else
 * that many spread evenly over them (always the first and last of each phase among them) — and
 * the first, middle and last step of every phase.
 */
function sampleSteps(plan: PlanJson, base: PlanJson): PlanJson['actions'] {
  const known = new Set(base.actions.map((a) => a.command))
  const phases = [...new Set(plan.actions.map((a) => a.phase))]
  const fresh = plan.actions.filter((a) => !known.has(a.command))
  const stride = Math.max(1, Math.ceil(fresh.length / SAMPLE_NEW_STEPS))
  const picked = new Set(fresh.filter((_, i) => i % stride === 0))
  for (const phase of phases) {
    const ends = (actions: PlanJson['actions']) => (actions.length ? [actions[0], actions.at(-1)!] : [])
    const actions = plan.actions.filter((a) => a.phase === phase)
    for (const a of [...ends(actions), actions[Math.floor(actions.length / 2)], ...ends(fresh.filter((f) => f.phase === phase))])
      picked.add(a)
  }
  return plan.actions.filter((a) => picked.has(a))
}

describe.skipIf(!isRoot)('rollback at every step', () => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab('every'))

  /**
   * `up` with a fault injected at each of `steps`: each must leave nothing; returns how many did.
   * `up` runs in this process (the function the command calls, NETLAB_TEST_FAULT_AT read as the
   * CLI reads it), except at `viaCli`, the step run through the real CLI (its exit code and stderr).
   */
  async function faultEach(file: string, steps: PlanJson['actions'], viaCli?: PlanJson['actions'][number]): Promise<number> {
    const before = rootSnapshot()
    let survived = 0
    for (const action of steps) {
      const faulty = {...env, NETLAB_TEST_FAULT_AT: String(action.id)}
      const r = action === viaCli ? netlab(['up', file, '-q'], faulty) : await upInProcess(file, faulty)
      expect(r.code, `fault at step ${action.id}: ${r.stderr}`).toBe(1)
      expect(r.stderr).toContain(`step ${action.id + 1}/`)
      expect(r.stderr).toContain('nothing of lab')
      expect(labNetns(lab), `namespaces left after a fault at step ${action.id}`).toEqual([])
      expect(existsSync(join(stateDir, lab)), `state left after a fault at step ${action.id}`).toBe(false)
      expect(rootSnapshot(), `root namespace changed by a fault at step ${action.id}`).toBe(before)
      expect(labDaemons(lab), `processes of the lab left after a fault at step ${action.id}`).toEqual([])
      survived++
    }
    return survived
  }

  // Every routing mode in the registry. The default mode gets a fault at every step; the others
  // (each ~0.2 s a fault in this process) at a sample: see sampleSteps.
  for (const routing of ROUTING_MODES) {
    const exhaustive = routing === DEFAULT_ROUTING_MODE
    it(`${routing}: a fault injected at ${exhaustive ? 'each step' : 'a sample of steps'} of the three-node plan is rolled back completely`, async () => {
      // the other modes with a VPC host too: the steps it and its VPC router add are sampled
      const topo = smallTopology(lab, {nodes: 3, pods: 2, routing, vpcHost: !exhaustive})
      const file = writeTopology(stateDir, topo)
      const plan = JSON.parse(netlab(['plan', file, '--format', 'json']).stdout) as PlanJson
      const steps = exhaustive ? plan.actions : sampleSteps(plan, defaultPlan(file))
      // one step through the CLI: the middle one of the default mode
      const survived = await faultEach(file, steps, exhaustive ? steps[Math.floor(steps.length / 2)] : undefined)
      console.log(
        `rollback: ${routing}: survived ${survived} injected faults (${exhaustive ? 'every step' : 'sampled'} of ${plan.actions.length})`,
      )
      expect(survived).toBe(steps.length)
    }, 600_000)
  }
  // routing bgp: failures after the plan, with BIRD running — a daemon that refuses its config
  // (up fails, naming it and BIRD's words), and the workload failing once BGP has converged —
  // each rolled back with every BIRD stopped.
  it('bgp: a failure once BIRD runs is rolled back completely, and no BIRD is left', async () => {
    const topo = smallTopology(lab, {nodes: 3, pods: 2, routing: 'bgp'})
    ;(topo.nodes as {pods: unknown}[])[0].pods = [{name: 'web', ports: [{port: 8080}]}, 'client']
    const file = writeTopology(stateDir, topo)
    const before = rootSnapshot()
    for (const [fault, says] of [
      ['bird', /BIRD of n2 exited: .*syntax error/],
      ['workload', /the workload cannot serve/],
    ] as const) {
      const r = await upInProcess(file, {...env, NETLAB_TEST_FAULT_AT: fault})
      expect(r.code, r.stderr).toBe(1)
      expect(r.stderr).toMatch(says)
      expect(r.stderr).toContain('nothing of lab')
      expect(labDaemons(lab), `processes left after the ${fault} fault`).toEqual([])
      expect(labNetns(lab)).toEqual([])
      expect(existsSync(join(stateDir, lab))).toBe(false)
      expect(rootSnapshot()).toBe(before)
    }
  }, 120_000)
  // Services (kube-proxy's iptables mode): a fault at every step of the services phase — the
  // route, hairpin modes, each node's base chains, each Service's iptables-restore input (batched
  // with the node's others into one program: the fault is blamed on its own input), the last rule.
  it('services: a fault injected at each step of the services phase is rolled back completely', async () => {
    const topo = smallTopology(lab, {nodes: 2, pods: 2})
    const nodes = topo.nodes as {name: string; pods: unknown}[]
    nodes[0].pods = [{name: 'web-0', labels: {app: 'web'}, ports: [{name: 'http', port: 8080}]}, 'client']
    nodes[1].pods = [{name: 'web-1', labels: {app: 'web'}, ports: [{name: 'http', port: 8080}]}]
    topo.services = [
      {name: 'web', selector: {app: 'web'}, ports: [{name: 'http', port: 80, targetPort: 'http'}]},
      {
        name: 'np',
        type: 'NodePort',
        externalTrafficPolicy: 'Local',
        sessionAffinity: 'ClientIP',
        selector: {app: 'web'},
        ports: [{port: 81, targetPort: 8080}],
      },
      {name: 'empty', selector: {app: 'none'}, ports: [{port: 82}]},
    ]
    const file = writeTopology(stateDir, topo)
    const plan = JSON.parse(netlab(['plan', file, '--format', 'json']).stdout) as PlanJson
    const steps = plan.actions.filter((a) => a.phase === 'services')
    expect(steps.filter((a) => a.command.includes('iptables-restore --noflush')).length).toBe(2 * 5)
    // one step through the CLI: a Service's input in the middle of a node's batch
    const survived = await faultEach(
      file,
      steps,
      steps.find((a) => a.command.includes('default/np')),
    )
    console.log(`rollback: services: survived ${survived} injected faults (every step of the services phase, ${steps.length})`)
    expect(survived).toBe(steps.length)
  }, 300_000)
  // Pods wired by CNI (cluster.cni): a fault at the first conflist write and at the first, a
  // middle (a bridge ADD, after its pod's loopback ADD) and the last plugin call, each rolled
  // back by DELs before the namespaces go. Sampled (4 faults, ~0.4 s each in this process) to keep the suite short.
  it("cni (preset reference): a fault in the runtime's phases is rolled back completely", async () => {
    const topo = smallTopology(lab, {nodes: 2, pods: 2})
    ;(topo.cluster as Record<string, unknown>).cni = {preset: 'reference'}
    const file = writeTopology(stateDir, topo)
    const plan = JSON.parse(netlab(['plan', file, '--format', 'json']).stdout) as PlanJson
    const calls = plan.actions.filter((a) => a.phase === 'cni')
    const steps = [plan.actions.find((a) => a.phase === 'cni-config')!, calls[0], calls[Math.floor(calls.length / 2) + 1], calls.at(-1)!]
    expect(new Set(steps).size).toBe(4)
    expect(await faultEach(file, steps, calls.at(-1))).toBe(4) // the last plugin call through the CLI
  }, 120_000)
})

describe.skipIf(!isRoot)('interrupts', () => {
  const {stateDir, env, track} = labSandbox()

  /** Start `up`, paused just before the stage that configures the namespaces (half the lab exists). */
  async function pausedUp(name: string) {
    const lab = track(uniqueLab(name))
    const file = writeTopology(stateDir, smallTopology(lab, {nodes: 2, pods: 2}))
    const plan = JSON.parse(netlab(['plan', file, '--format', 'json']).stdout) as PlanJson
    const firstInside = plan.actions.find((a) => a.phase === 'fabric')!
    const pauseFile = join(stateDir, `${lab}.paused`)
    const child = netlabSpawn(['up', file, '-q'], {
      ...env,
      NETLAB_TEST_PAUSE_BEFORE: String(firstInside.id),
      NETLAB_TEST_PAUSE_FILE: pauseFile,
    })
    const done = exited(child)
    await waitFor(() => existsSync(pauseFile))
    expect(labNetns(lab).length).toBeGreaterThan(0) // namespaces and links exist by now
    return {lab, child, done, pauseFile}
  }

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} during up rolls everything back`, async () => {
      const before = rootSnapshot()
      const {lab, child, done} = await pausedUp(signal.toLowerCase())
      child.kill(signal)
      const {code, stderr} = await done
      expect(code).toBe(signal === 'SIGINT' ? 130 : 143) // 128 + the signal's number, as a shell reports it
      expect(stderr).toContain(`up interrupted by ${signal}`)
      expect(stderr).toContain(`nothing of lab ${lab} is left`)
      expect(labNetns(lab)).toEqual([])
      expect(existsSync(join(stateDir, lab))).toBe(false)
      expect(rootSnapshot()).toBe(before)
    })
  }

  it('SIGKILL during up leaves a journal from which down removes everything', async () => {
    const before = rootSnapshot()
    const {lab, child, done} = await pausedUp('kill')
    child.kill('SIGKILL')
    await done
    expect(labNetns(lab).length).toBeGreaterThan(0) // debris, as after a crash
    expect(existsSync(join(stateDir, lab, 'journal.jsonl'))).toBe(true)
    const again = netlab(['up', join(stateDir, `${lab}.yaml`)], env)
    expect(again.code).toBe(2)
    expect(again.stderr).toContain('leftovers from an interrupted run')
    const r = netlab(['down', lab], env)
    expect(r.code).toBe(0)
    expect(labNetns(lab)).toEqual([])
    expect(mountsOf(lab)).toEqual([])
    expect(existsSync(join(stateDir, lab))).toBe(false)
    expect(rootSnapshot()).toBe(before)
  })
})

describe.skipIf(!isRoot)('ownership', () => {
  const stateDir = makeStateDir()
  const env = {NETLAB_STATE_DIR: stateDir}
  const lab = uniqueLab('own')
  const foreign = `netlab-${lab}.n1`
  const stray = `netlab-${lab}.stray`
  afterAll(() => {
    for (const ns of [foreign, stray]) spawnSync('ip', ['netns', 'del', ns])
    destroyLab(lab, stateDir)
    removeDir(stateDir)
  })

  it('up fails before touching anything when a namespace it wants exists and is not its own', () => {
    const file = writeTopology(stateDir, smallTopology(lab))
    expect(spawnSync('ip', ['netns', 'add', foreign]).status).toBe(0)
    const r = netlab(['up', file], env)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`namespace ${foreign} already exists`)
    expect(labNetns(lab)).toEqual([foreign]) // nothing created, the foreign one untouched
    const d = netlab(['down', lab], env)
    expect(d.code).toBe(0)
    expect(labNetns(lab)).toEqual([foreign]) // down does not delete a namespace without the lab's mark
    expect(d.stderr).toContain(foreign)
    spawnSync('ip', ['netns', 'del', foreign])
  })

  it('down without a state directory removes the lab by its marks, and only those', () => {
    const file = writeTopology(stateDir, smallTopology(lab))
    expect(netlab(['up', file, '-q'], env).code).toBe(0)
    expect(spawnSync('ip', ['netns', 'add', stray]).status).toBe(0) // named like the lab, made by hand
    rmSync(join(stateDir, lab), {recursive: true, force: true})
    const r = netlab(['down', lab], env)
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/namespaces? deleted/)
    expect(labNetns(lab)).toEqual([stray])
  })
})

describe.skipIf(!isRoot)('locking', () => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab('lock'))
  const other = track(uniqueLab('lock-b'))

  it('two concurrent ups of one lab: one wins, the other fails fast and changes nothing', async () => {
    const file = writeTopology(stateDir, smallTopology(lab))
    const plan = JSON.parse(netlab(['plan', file, '--format', 'json']).stdout) as PlanJson
    const pauseFile = join(stateDir, 'lock.paused')
    const first = netlabSpawn(['up', file, '-q'], {
      ...env,
      NETLAB_TEST_PAUSE_BEFORE: String(plan.actions.find((a) => a.phase === 'links')!.id),
      NETLAB_TEST_PAUSE_FILE: pauseFile,
    })
    const firstDone = exited(first)
    await waitFor(() => existsSync(pauseFile))
    const netnsBefore = labNetns(lab).sort()
    const second = netlab(['up', file], env)
    expect(second.code).toBe(1)
    expect(second.stderr).toMatch(/being changed by another netlab process \(pid \d+\)/)
    expect(second.ms).toBeLessThan(5000) // fails fast: it does not wait for the lock
    expect(labNetns(lab).sort()).toEqual(netnsBefore)
    rmSync(pauseFile) // let the first one finish
    expect((await firstDone).code).toBe(0)
    expect(JSON.parse(netlab(['status', lab, '--json'], env).stdout).lab).toBe(lab)
  })

  it('concurrent ups of two different labs both succeed and do not see each other', async () => {
    const a = exited(netlabSpawn(['up', writeTopology(stateDir, smallTopology(other)), '-q'], env))
    const downFirst = exited(netlabSpawn(['down', lab], env))
    expect((await a).code).toBe(0)
    expect((await downFirst).code).toBe(0)
    expect(labNetns(lab)).toEqual([])
    const s = JSON.parse(netlab(['status', '--json'], env).stdout)
    expect(s.lab).toBe(other)
    expect(netlab(['down', other], env).code).toBe(0)
  })

  it('a lock left by a dead process is taken over', () => {
    const file = writeTopology(stateDir, smallTopology(lab))
    // a PID that is certainly not running: a child that has exited
    const dead = spawnSync('true').pid!
    writeFileSync(join(stateDir, `${lab}.lock`), String(dead))
    expect(netlab(['up', file, '-q'], env).code).toBe(0)
    expect(netlab(['down', lab], env).code).toBe(0)
  })
})

describe.skipIf(!isRoot)('re-runs', () => {
  const stateDir = makeStateDir()
  const env = {NETLAB_STATE_DIR: stateDir}
  const lab = uniqueLab('rerun')
  let before: string
  beforeAll(() => (before = rootSnapshot()))
  afterAll(() => {
    destroyLab(lab, stateDir)
    removeDir(stateDir)
  })

  it('up then down 10 times leaks no namespace, mount or process', () => {
    const file = writeTopology(stateDir, smallTopology(lab, {nodes: 3, pods: 2}))
    for (let i = 0; i < 10; i++) {
      expect(netlab(['up', file, '-q'], env).code, `up #${i + 1}`).toBe(0)
      expect(labNetns(lab)).toHaveLength(1 + 3 + 1 + 6)
      expect(netlab(['down', lab], env).code, `down #${i + 1}`).toBe(0)
      expect(labNetns(lab)).toEqual([])
      expect(mountsOf(lab)).toEqual([])
    }
    const leftover = spawnSync('pgrep', ['-f', `netlab.*${lab}`], {encoding: 'utf8'}).stdout.trim()
    expect(leftover).toBe('')
    expect(rootSnapshot()).toBe(before)
  }, 300_000)
})
