// Trust nothing it did not make (issue 22, findings 1 and 2): `down` deletes a namespace only if
// it carries the lab's mark, with its state or without; undo steps read back from the state
// directory are checked before any runs; a process record that names no process of the lab's is
// not acted on; and a state directory others could write is refused.
import {spawn, spawnSync} from 'node:child_process'
import {chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {destroyLab, isRoot, labNetns, labSandbox, netlab, removeDir, smallTopology, uniqueLab, writeTopology} from '../helpers/lab.js'
import {alive} from '../../src/host/processes.js'

const netnsExists = (ns: string) => existsSync(`/run/netns/${ns}`)
const addNetns = (ns: string) => expect(spawnSync('ip', ['netns', 'add', ns]).status).toBe(0)
const delNetns = (ns: string) => netnsExists(ns) && spawnSync('ip', ['netns', 'del', ns])

interface UndoJson {
  lab: string
  actions: {id: number; why: string; creates?: string; undo: {kind: string; commands: Record<string, unknown>[]}}[]
}

describe.skipIf(!isRoot)('ownership', () => {
  const {stateDir, env, track} = labSandbox()
  /** namespaces a test made by hand, deleted whatever happens */
  const handmade: string[] = []
  afterAll(() => handmade.forEach(delNetns))
  const upLab = (name: string, nodes = 1) => {
    const lab = track(uniqueLab(name))
    const r = netlab(['up', writeTopology(stateDir, smallTopology(lab, {nodes, pods: 2, external: false})), '-q'], env)
    expect(r.code, r.stderr).toBe(0)
    return lab
  }
  /** a lab namespace deleted and made again by hand: same name, no mark */
  const replace = (ns: string) => {
    handmade.push(ns)
    expect(spawnSync('ip', ['netns', 'del', ns]).status).toBe(0)
    addNetns(ns)
  }

  it('down keeps a namespace replaced by hand (no mark), says so, and lists it in keptUnmarked', () => {
    const lab = upLab('own-keep')
    const all = labNetns(lab).sort()
    const pod = `netlab-${lab}.n0-p1`
    expect(all).toContain(pod)
    replace(pod)
    const human = netlab(['down', lab], env)
    expect(human.code, human.stderr).toBe(0)
    expect(human.stderr).toContain(`left alone, named like lab ${lab} but without its mark`)
    expect(human.stderr).toContain(pod)
    expect(labNetns(lab)).toEqual([pod])
    delNetns(pod)

    // the same with --json, and a node replaced this time
    const again = netlab(['up', writeTopology(stateDir, smallTopology(lab, {nodes: 1, pods: 2, external: false})), '-q'], env)
    expect(again.code, again.stderr).toBe(0)
    const node = `netlab-${lab}.n0`
    replace(node)
    const r = netlab(['down', lab, '--json'], env)
    expect(r.code, r.stderr).toBe(0)
    const [result] = JSON.parse(r.stdout).labs
    expect(result.keptUnmarked).toEqual([node])
    expect(result.deletedNetns).toBe(all.length - 1)
    expect(labNetns(lab)).toEqual([node])
    expect(existsSync(join(stateDir, lab))).toBe(false)
  })

  it("a complete lab's namespace replaced by hand stays, even with a plan.json that says its marking step never ran", () => {
    const lab = upLab('own-markedby')
    const pod = `netlab-${lab}.n0-p0`
    const file = join(stateDir, lab, 'plan.json')
    const plan = JSON.parse(readFileSync(file, 'utf8')) as {actions: {creates?: string; markedBy?: number}[]}
    const creating = plan.actions.find((a) => a.creates === pod)!
    expect(creating).toBeDefined()
    creating.markedBy = 999_999 // a step no journal shows: "made, and not marked yet" — only an up killed midway can say so
    writeFileSync(file, JSON.stringify(plan))
    replace(pod)
    const r = netlab(['down', lab, '--json'], env)
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).labs[0].keptUnmarked).toEqual([pod])
    expect(netnsExists(pod)).toBe(true)
    expect(labNetns(lab)).toEqual([pod])
  })

  it('down leaves out CNI DELs whose plugins root may no longer run (its directory made writable), says why, and removes the lab', () => {
    const bin = mkdtempSync(join(tmpdir(), 'netlab-own-bin-'))
    try {
      chmodSync(bin, 0o755)
      for (const type of ['loopback', 'bridge', 'host-local']) copyFileSync(join('/usr/lib/cni', type), join(bin, type))
      const lab = track(uniqueLab('own-cni'))
      const topo = join(stateDir, `${lab}.yaml`)
      writeFileSync(topo, `name: ${lab}\ncluster:\n  cni: {preset: reference, binDir: ${bin}}\nnodes:\n  - name: n0\n    pods: 1\n`)
      const up = netlab(['up', topo, '-q'], env)
      expect(up.code, up.stderr).toBe(0)
      chmodSync(bin, 0o777) // anyone could now put another bridge there: down must not run it as root
      const r = netlab(['down', lab, '--json'], env)
      expect(r.code, r.stderr).toBe(0)
      const [result] = JSON.parse(r.stdout).labs
      expect(result.skippedCniDels).toBeGreaterThan(0)
      expect(result.skippedCniWhy).toMatch(new RegExp(`${bin} is writable by others`))
      expect(labNetns(lab)).toEqual([])
    } finally {
      removeDir(bin)
    }
  })

  it("down refuses a plan.json whose undo steps are not netlab's for the lab, and runs none of them", () => {
    const lab = upLab('own-plan')
    const other = `netlab-${uniqueLab('own-other')}.x`
    const victim = `${uniqueLab('victim')}`
    const proof = `${uniqueLab('evil-proof')}`
    handmade.push(other, victim, proof)
    addNetns(victim)
    addNetns(other)
    const before = labNetns(lab).sort()
    const file = join(stateDir, lab, 'plan.json')
    const original = readFileSync(file, 'utf8')
    const tamper = (edit: (plan: UndoJson) => void) => {
      const plan = JSON.parse(original) as UndoJson
      edit(plan)
      writeFileSync(file, JSON.stringify(plan))
      return netlab(['down', lab], env)
    }
    const del = (ns: string) => ({tool: 'ip', netns: null, args: ['netns', 'del', ns]})
    const cases: [string, (plan: UndoJson) => void, RegExp][] = [
      ['deletes a namespace of no lab', (p) => p.actions[0].undo.commands.push(del(victim)), new RegExp(`deletes namespace ${victim}`)],
      [
        "deletes another lab's",
        (p) => p.actions[1].undo.commands.unshift(del(other)),
        new RegExp(`deletes namespace ${other.replace('.', '\\.')}`),
      ],
      [
        'an extra step that creates a namespace',
        (p) =>
          p.actions.push({id: 0, why: 'x', undo: {kind: 'commands', commands: [{tool: 'ip', netns: null, args: ['netns', 'add', proof]}]}}),
        new RegExp(`ip netns add ${proof}: runs in the root namespace`),
      ],
      [
        'a step that claims to create the victim',
        (p) => Object.assign(p.actions[0], {creates: victim, undo: {kind: 'commands', commands: [del(victim)]}}),
        new RegExp(`deletes namespace ${victim}`),
      ],
    ]
    for (const [what, edit, says] of cases) {
      const r = tamper(edit)
      expect(r.code, what).toBe(1)
      expect(r.stderr, what).toContain(`${file}: refused, nothing was run`)
      expect(r.stderr, what).toMatch(says)
      expect(r.stderr, what).toMatch(/step \d+ \(/)
      // nothing ran: the victims are there, the injected namespace is not, the lab is whole
      expect(netnsExists(victim), what).toBe(true)
      expect(netnsExists(other), what).toBe(true)
      expect(netnsExists(proof), what).toBe(false)
      expect(labNetns(lab).sort(), what).toEqual(before)
      expect(existsSync(join(stateDir, lab, 'state.json')), what).toBe(true) // its state too: down can run again
    }
    // the way out the error names: without plan.json, down goes by the marks, and leaves the others
    const r = tamper(() => undefined)
    expect(r.code, r.stderr).toBe(0)
    expect(labNetns(lab)).toEqual([])
    expect(netnsExists(victim) && netnsExists(other)).toBe(true)
  })

  it("fix refuses a fault.json whose undo is not netlab's, and runs none of it", () => {
    const lab = upLab('own-fault', 2) // a drop needs a node whose pods others reach
    const proof = uniqueLab('evil-proof')
    handmade.push(proof)
    const broken = netlab(['break', lab, 'drop', '--seed', '1'], env)
    expect(broken.code, broken.stderr).toBe(0)
    const file = join(stateDir, lab, 'fault.json')
    const injected = JSON.parse(readFileSync(file, 'utf8'))
    const [action] = injected.fault.plan.actions
    action.undo.commands.push({tool: 'ip', netns: action.netns, args: ['netns', 'add', proof]})
    writeFileSync(file, JSON.stringify(injected))
    const r = netlab(['fix', lab], env)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`${file}: refused, nothing was run`)
    expect(r.stderr).toMatch(new RegExp(`ip \\(in ${action.netns.replace('.', '\\.')}\\) netns add ${proof}`))
    expect(netnsExists(proof)).toBe(false)
    // the fault is still in: its own undo did not run either
    const rules = spawnSync('ip', ['netns', 'exec', action.netns, 'iptables', '-S', 'FORWARD'], {encoding: 'utf8'}).stdout
    expect(rules).toContain('-j DROP')
    expect(netlab(['down', lab], env).code).toBe(0)
  })

  it("fix checks fault.json against the lab's model before it runs anything: another namespace is refused, {} is damaged", () => {
    const lab = upLab('own-fault2', 2)
    const elsewhere = uniqueLab('elsewhere')
    handmade.push(elsewhere)
    addNetns(elsewhere)
    expect(netlab(['break', lab, 'drop', '--seed', '1'], env).code).toBe(0)
    const file = join(stateDir, lab, 'fault.json')
    const injected = JSON.parse(readFileSync(file, 'utf8'))
    const [action] = injected.fault.plan.actions
    const node = action.netns
    // the rule's check (iptables -C) and its undo pointed at a namespace that is not the lab's
    action.netns = elsewhere
    action.undo.commands[0].netns = elsewhere
    writeFileSync(file, JSON.stringify(injected))
    const r = netlab(['fix', lab], env)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`${file}: refused, nothing was run: it is not a drop fault netlab makes for lab ${lab}`)
    expect(r.stderr).toContain(`rm ${file}`)
    expect(existsSync(file)).toBe(true)
    const rules = spawnSync('ip', ['netns', 'exec', node, 'iptables', '-S', 'FORWARD'], {encoding: 'utf8'}).stdout
    expect(rules).toContain('-j DROP') // the fault is still in: nothing was undone, nor said to be gone

    writeFileSync(file, '{}')
    const damaged = netlab(['fix', lab], env)
    expect(damaged.code).toBe(1)
    expect(damaged.stderr).toContain(`${file}: refused, nothing was run: damaged: it holds no fault`)
    expect(damaged.stderr).not.toContain('TypeError')
    expect(netlab(['down', lab], env).code).toBe(0)
  })

  it("down stops only processes whose record names one of the lab's", async () => {
    const lab = track(uniqueLab('own-pids'))
    const sleeper = spawn('sleep', ['600'], {stdio: 'ignore'})
    try {
      mkdirSync(join(stateDir, lab, 'pids'), {recursive: true})
      // a record edited to name a process that is not the lab's: its command line holds "600"
      writeFileSync(join(stateDir, lab, 'pids', 'probe-engine-1.json'), JSON.stringify({pid: sleeper.pid, marker: '600'}))
      const r = netlab(['down', lab, '--json'], env)
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout).labs[0].stoppedProcesses).toBe(0)
      expect(alive(sleeper.pid!)).toBe(true)
    } finally {
      sleeper.kill('SIGKILL')
    }
  })
})

describe.skipIf(!isRoot)('the state directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netlab-state-'))
  const lab = uniqueLab('own-dir')
  const env = {NETLAB_STATE_DIR: join(dir, 'state')}
  afterAll(() => {
    // should the refusal fail, whatever `up` made goes (from the directory made safe again)
    if (existsSync(env.NETLAB_STATE_DIR)) {
      chownSync(env.NETLAB_STATE_DIR, 0, 0)
      chmodSync(env.NETLAB_STATE_DIR, 0o700)
    }
    destroyLab(lab, env.NETLAB_STATE_DIR)
    removeDir(dir)
  })

  it('is refused (exit 2, naming it and the fix) when others can write it, and nothing is made', () => {
    const file = writeTopology(dir, smallTopology(lab, {nodes: 1, pods: 1, external: false}))
    mkdirSync(env.NETLAB_STATE_DIR, {mode: 0o700})
    chmodSync(env.NETLAB_STATE_DIR, 0o777)
    for (const args of [['up', file], ['down', lab], ['ls'], ['status', '--all']]) {
      const r = netlab(args, env)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr, args.join(' ')).toContain(`state directory ${env.NETLAB_STATE_DIR} is writable by its group or others (mode 0777)`)
      expect(r.stderr).toContain(`chmod 700 ${env.NETLAB_STATE_DIR}`)
    }
    expect(labNetns(lab)).toEqual([])
    chmodSync(env.NETLAB_STATE_DIR, 0o700)
    chownSync(env.NETLAB_STATE_DIR, 65534, 65534)
    const r = netlab(['up', file], env)
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`is owned by uid 65534, not by root`)
    expect(labNetns(lab)).toEqual([])
    // a safe directory in one others can write: they could rename it and put their own in its place
    chownSync(env.NETLAB_STATE_DIR, 0, 0)
    chmodSync(dir, 0o777)
    try {
      const above = netlab(['up', file], env)
      expect(above.code).toBe(2)
      expect(above.stderr).toContain(`state directory ${env.NETLAB_STATE_DIR}: ${dir} is writable by others (mode 0777)`)
      expect(above.stderr).toContain(`chmod go-w ${dir}`)
      expect(labNetns(lab)).toEqual([])
    } finally {
      chmodSync(dir, 0o700)
    }
  })
})
