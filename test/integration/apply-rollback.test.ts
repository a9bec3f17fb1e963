// A failed or interrupted `netlab apply` leaves the lab exactly as it was: its kernel state,
// namespace by namespace (test/helpers/kernel-state.ts), its saved state (the model in
// state.json), no record of the apply left, the root namespace untouched. As the every-step
// rollback test does for `up` (test/integration/reliability.test.ts): NETLAB_TEST_FAULT_AT=<n>
// makes step n of the apply fail for real, for every step of a plan that both removes (a pod:
// its namespace, the routes to it) and adds (a node with pods: namespaces, cables, every other
// node's route to it). One lab serves every fault: after each it must be back as it was, so the
// next fault starts from the same lab. Also Ctrl-C (SIGINT) half-way, and a change that cannot
// be made in place: refused, exit 2, file:line:col, nothing run.
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {stringify} from 'yaml'
import {describe, expect, it} from 'vitest'
import {snapshot} from '../helpers/kernel-state.js'
import {applyInProcess} from '../helpers/in-process.js'
import {exited, isRoot, labNetns, labSandbox, netlab, netlabSpawn, rootSnapshot, uniqueLab, waitFor, writeTopology} from '../helpers/lab.js'

interface PlanJson {
  actions: {id: number; phase: string; why: string; tool: string; netns: string | null; args: string[]; creates?: string}[]
}

/** The first step of every phase, the last step, and the steps that write VXLAN's per-peer entries (fdb, neighbour, route onlink) on the nodes that stay. */
function sample(plan: PlanJson): PlanJson['actions'] {
  const made = new Set(plan.actions.map((a) => a.creates))
  const peer = (a: PlanJson['actions'][number]) =>
    !made.has(a.netns ?? undefined) && (a.tool === 'bridge' || a.args.includes('neigh') || a.args.includes('onlink'))
  return plan.actions.filter((a, i, all) => all[i - 1]?.phase !== a.phase || i === all.length - 1 || peer(a))
}

/**
 * Two nodes of two pods and an external host; `after`: n0-p0 gone (or, `nodeLeaves`, node n1 and
 * its pods gone), node n2 with two pods come.
 */
function topology(lab: string, routing: string, after: boolean, nodeLeaves = false): Record<string, unknown> {
  const nodes = [
    {name: 'n0', pods: after && !nodeLeaves ? ['n0-p1'] : ['n0-p0', 'n0-p1']},
    ...(after && nodeLeaves ? [] : [{name: 'n1', pods: ['n1-p0', 'n1-p1']}]),
    ...(after ? [{name: 'n2', pods: ['n2-p0', 'n2-p1']}] : []),
  ]
  const cluster = {podCIDR: '10.244.0.0/16', nodeSubnetSize: 24, underlay: '192.168.50.0/24', routing}
  return {name: lab, cluster, nodes, external: [{name: 'internet'}]}
}

describe.skipIf(!isRoot)('netlab apply: rollback', () => {
  const {stateDir, env, track} = labSandbox()
  const stateFile = (lab: string) => join(stateDir, lab, 'state.json')

  /** Bring `lab` up from `before` and write `after` beside it: the lab as it is, and the apply's plan. */
  function prepare(lab: string, routing: string, nodeLeaves = false) {
    expect(netlab(['up', writeTopology(stateDir, topology(lab, routing, false)), '-q'], env).code).toBe(0)
    const file = join(stateDir, `${lab}-after.yaml`)
    writeFileSync(file, stringify(topology(lab, routing, true, nodeLeaves)))
    const dry = netlab(['apply', file, '--dry-run', '--json'], env)
    expect(dry.code, dry.stderr).toBe(0)
    const plan = (JSON.parse(dry.stdout) as {plan: PlanJson}).plan
    return {file, plan, kernel: snapshot(lab), state: readFileSync(stateFile(lab), 'utf8'), root: rootSnapshot()}
  }

  /** The lab is as it was before the apply (after a fault at `when`). */
  function unchanged(lab: string, was: ReturnType<typeof prepare>, when: string): void {
    expect(snapshot(lab), `kernel state after ${when}`).toEqual(was.kernel)
    expect(readFileSync(stateFile(lab), 'utf8'), `saved state after ${when}`).toBe(was.state)
    expect(existsSync(join(stateDir, lab, 'apply.json')), `apply.json left after ${when}`).toBe(false)
    expect(existsSync(join(stateDir, lab, 'apply-journal.jsonl')), `apply journal left after ${when}`).toBe(false)
    expect(rootSnapshot(), `root namespace after ${when}`).toBe(was.root)
  }

  // host-gw at every step; vxlan (~1.5 s a fault) at a sample (see sample()), with a node that
  // leaves: its pods' namespaces are built again after it, whose cables plug into it
  for (const routing of ['host-gw', 'vxlan']) {
    const every = routing === 'host-gw'
    const leaves = every ? 'a pod' : 'a node with its pods'
    it(`${routing}: a fault at ${every ? 'each step' : 'a sample of steps'} of an apply that removes ${leaves} and adds a node with pods is rolled back completely`, async () => {
      const lab = track(uniqueLab('apply-rb'))
      const was = prepare(lab, routing, !every)
      const phases = new Set(was.plan.actions.map((a) => a.phase))
      expect(phases.has('apply-delete'), [...phases].join(' ')).toBe(true)
      expect(phases.size).toBeGreaterThan(3) // and the phases that add the node, its pods and the routes to them
      const steps = every ? was.plan.actions : sample(was.plan)
      const middle = steps[Math.floor(steps.length / 2)]
      for (const a of steps) {
        const faulty = {...env, NETLAB_TEST_FAULT_AT: String(a.id)}
        // one fault through the real CLI (its exit code and message), the others in this process
        const r = a === middle ? netlab(['apply', was.file], faulty) : await applyInProcess(was.file, faulty)
        const when = `a fault at step ${a.id} (${a.phase}: ${a.why})`
        expect(r.code, `${when}: ${r.stderr}`).toBe(1)
        expect(r.stderr).toContain(`apply failed at step ${a.id + 1}/${was.plan.actions.length}`)
        expect(r.stderr).toContain(`lab ${lab} keeps its old topology`)
        unchanged(lab, was, when)
      }
      console.log(
        `apply rollback: ${routing}: survived ${steps.length} injected faults (${every ? 'every step' : 'sampled'} of ${was.plan.actions.length})`,
      )
      // and the lab still takes the change
      expect(netlab(['apply', was.file], env).code).toBe(0)
      expect(labNetns(lab)).toContain(`netlab-${lab}.n2-p1`)
      expect(labNetns(lab)).not.toContain(`netlab-${lab}.${every ? 'n0-p0' : 'n1-p0'}`)
      const probe = netlab(['probe', lab], env)
      expect(probe.code, probe.stdout).toBe(0)
    }, 300_000)
  }

  it('SIGINT half-way through an apply (a pod deleted, the new node not yet made) rolls it back: exit 130', async () => {
    const lab = track(uniqueLab('apply-int'))
    const was = prepare(lab, 'host-gw')
    const removal = was.plan.actions.filter((a) => a.phase.startsWith('apply-'))
    const next = was.plan.actions[removal.at(-1)!.id + 1]
    const pauseFile = join(stateDir, `${lab}.paused`)
    const child = netlabSpawn(['apply', was.file], {...env, NETLAB_TEST_PAUSE_BEFORE: String(next.id), NETLAB_TEST_PAUSE_FILE: pauseFile})
    const done = exited(child)
    await waitFor(() => existsSync(pauseFile) || child.exitCode !== null)
    if (!existsSync(pauseFile)) throw new Error(`apply ended before its pause: ${(await done).stderr}`)
    expect(labNetns(lab)).not.toContain(`netlab-${lab}.n0-p0`) // the removals ran
    child.kill('SIGINT')
    const {code, stderr} = await done
    expect(code).toBe(130)
    expect(stderr).toContain('apply interrupted by SIGINT')
    expect(stderr).toContain(`lab ${lab} keeps its old topology`)
    unchanged(lab, was, 'SIGINT')
  }, 60_000)

  it("a change that cannot be made in place (routing mode, cluster podCIDR, a node's podCIDR) is refused: exit 2, file:line:col, nothing run", () => {
    const lab = track(uniqueLab('apply-no'))
    const was = prepare(lab, 'host-gw')
    const text = readFileSync(was.file, 'utf8')
    const cases: [string, string, RegExp][] = [
      ['routing: host-gw', 'routing: vxlan', /cluster\.routing cannot change on a running lab \(host-gw → vxlan\)/],
      ['podCIDR: 10.244.0.0/16', 'podCIDR: 10.245.0.0/16', /cluster\.podCIDR cannot change/],
      [
        '- name: n1\n',
        '- name: n1\n    podCIDR: 10.244.9.0/24\n',
        /node n1's pod subnet cannot change on a running lab \(10\.244\.1\.0\/24 → 10\.244\.9\.0\/24\)/,
      ],
    ]
    for (const [from, to, message] of cases) {
      expect(text).toContain(from)
      const file = join(stateDir, `${lab}-bad.yaml`)
      writeFileSync(file, text.replace(from, to))
      const line =
        text
          .replace(from, to)
          .split('\n')
          .findIndex((l) => l.includes(to.trim().split('\n').at(-1)!)) + 1
      const r = netlab(['apply', file], env)
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1)
      expect(r.stderr).toMatch(message)
      expect(r.stderr).toContain(`${file}:${line}:`)
      expect(r.stderr).toContain('needs "netlab down" and "netlab up"')
      unchanged(lab, was, `${from} → ${to}`)
    }
  }, 60_000)
})
