// Undo steps read back from disk are checked, not trusted (src/plan/undo-check.ts), pure: every
// step netlab's own plans make (every bundled topology, every fault, a policy change) passes, and
// anything else (another lab's or no lab's namespace, a command that reaches the host, a CNI call
// the model does not make, a malformed step) is refused, named by its step. Also the state
// directory's check and the process markers, both pure.
import {mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {buildModel, modelWith} from '../../src/compile/model.js'
import {compilePlan} from '../../src/compile/plan.js'
import {compilePolicyApply} from '../../src/compile/policy-apply.js'
import {cniUndoCalls} from '../../src/compile/cni-plan.js'
import {applicableKinds, candidates} from '../../src/exercise/faults.js'
import {loadTopologyFile} from '../../src/topology/parse.js'
import {markSteps, undoProblems, type UndoTrust} from '../../src/plan/undo-check.js'
import {isProcessMarkerOf, processMarker} from '../../src/core/names.js'
import {stateDirProblem} from '../../src/state/paths.js'
import {readJournal, summarize} from '../../src/state/journal.js'
import type {Command, UndoStep} from '../../src/core/actions.js'
import type {LabModel} from '../../src/model/types.js'

const ENV = {binDir: '/usr/lib/cni', netlabDir: '/pkg/bin', bashDir: '/pkg/examples/bash-cni'}
const ROOT = '/run/x'
const TOPOLOGIES = fileURLToPath(new URL('../../topologies/', import.meta.url))

const load = (name: string): LabModel => buildModel(loadTopologyFile(`${TOPOLOGIES}${name}`), {stateRoot: ROOT, cniEnv: ENV})
const trustOf = (model: LabModel): UndoTrust => ({lab: model.lab, labDir: `${ROOT}/${model.lab}`, cniUndo: cniUndoCalls(model)})

describe("netlab's own undo steps pass", () => {
  const topologies = readdirSync(TOPOLOGIES).filter((f) => f.endsWith('.yaml'))

  it('every bundled topology: its plan, and each fault it can take', () => {
    expect(topologies.length).toBeGreaterThan(5)
    for (const name of topologies) {
      const model = load(name)
      const plan = compilePlan(model)
      expect(undoProblems(plan.actions, trustOf(model)), name).toEqual([])
      // faults are for netlab's own wiring; fifty-node's 2,600 are the same kinds as the small labs' (and minutes to list)
      if (model.cni || name === 'fifty-node.yaml') continue
      for (const kind of applicableKinds(model, plan))
        for (const f of candidates(model, plan, kind)) expect(undoProblems(f.plan.actions, trustOf(model)), `${name} ${kind}`).toEqual([])
    }
  })

  it('a policy change, from no policies and between policies', () => {
    const model = load('policy-three-tier.yaml')
    const bare = modelWith(model, {policies: undefined})
    for (const [before, after] of [
      [bare, model],
      [model, modelWith(model, {policies: []})],
    ]) {
      const plan = compilePolicyApply(before, after)
      expect(plan.actions.length).toBeGreaterThan(0)
      expect(undoProblems(plan.actions, trustOf(model))).toEqual([])
    }
  })

  it('each namespace a plan creates is marked by a later step of the same plan', () => {
    for (const name of topologies) {
      const plan = compilePlan(load(name))
      const marks = markSteps(plan.actions)
      for (const a of plan.actions.filter((x) => x.creates)) {
        const by = marks.get(a.creates!)
        expect(by, `${name} ${a.creates}`).toBeGreaterThan(a.id)
        expect(plan.actions[by!].netns).toBe(a.creates)
        expect(plan.actions[by!].args).toContain('alias')
      }
    }
  })
})

describe('anything else is refused, named by its step', () => {
  const model = load('cni-reference.yaml')
  const lab = model.lab
  const trust = trustOf(model)
  const node = model.nodes[0].netns
  const step = (commands: unknown[], extra: Record<string, unknown> = {}) => ({
    id: 7,
    why: 'w',
    undo: {kind: 'commands', commands},
    ...extra,
  })
  const problem = (commands: unknown[], extra: Record<string, unknown> = {}, t: UndoTrust = trust) => {
    const problems = undoProblems([step(commands, extra)], t)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/^step 7 \(w\): /)
    return problems[0]
  }
  const root = (args: string[], tool = 'ip'): Command => ({tool, netns: null, args})
  const inside = (tool: string, args: string[], extra: Partial<Command> = {}): Command => ({tool, netns: node, args, ...extra})

  it('a namespace that is not named for the lab, deleted or created', () => {
    expect(problem([root(['netns', 'del', 'victim'])])).toMatch(/deletes namespace victim, which is not named for lab/)
    expect(problem([root(['netns', 'del', 'netlab-otherlab.x'])])).toMatch(/netlab-otherlab\.x, which is not named for lab/)
    expect(problem([root(['netns', 'add', 'evil'])])).toMatch(/ip netns add evil: runs in the root namespace/)
    expect(problem([root(['netns', 'del', 'victim'])], {creates: 'victim'})).toMatch(/victim, which is not named/)
    expect(problem([], {creates: 'victim'})).toMatch(/creates victim, which is not named for lab/)
    // the lab's own namespace, but its creation undone by more than deleting it
    const ns = `netlab-${lab}.x`
    expect(problem([root(['netns', 'del', ns]), inside('ip', ['route', 'add', '10.0.0.0/8', 'dev', 'eth0'])], {creates: ns})).toMatch(
      /undone by more/,
    )
  })

  it("a command in another namespace, or in the lab's that reaches beyond it", () => {
    expect(problem([{...inside('ip', ['route', 'del', 'default']), netns: 'netlab-other.n0'}])).toMatch(
      /runs in namespace netlab-other\.n0/,
    )
    expect(problem([{...inside('ip', ['route', 'del', 'default']), netns: 'host'}])).toMatch(/runs in namespace host/)
    const notUndo = /is not one of the changes netlab's plans undo with/
    expect(problem([inside('ip', ['link', 'set', 'dev', 'eth0', 'netns', '1'])])).toMatch(notUndo)
    expect(problem([inside('ip', ['link', 'set', 'eth0', 'up'])])).toMatch(notUndo) // no `dev`: ip would take a keyword for it
    expect(problem([inside('ip', ['netns', 'del', 'victim'])])).toMatch(notUndo)
    expect(problem([inside('ip', ['vrf', 'exec', 'x', 'sh'])])).toMatch(notUndo)
    expect(problem([inside('ip', ['-batch', '/tmp/x'])])).toMatch(notUndo)
    expect(problem([inside('ip', ['route', 'del', 'default'])])).toMatch(notUndo)
    // iproute2 takes any prefix of a keyword: link-net is link-netns, link-netnsi is link-netnsid
    expect(problem([inside('ip', ['link', 'add', 'm0', 'link', 'eth0', 'link-net', 'victim', 'type', 'macvlan'])])).toMatch(notUndo)
    expect(problem([inside('ip', ['link', 'add', 'm0', 'link', 'eth0', 'link-netnsi', '3', 'type', 'macvlan'])])).toMatch(notUndo)
    expect(problem([inside('ip', ['route', 'add', '10.0.0.0/8', 'dev', 'eth0', 'net', '1'])])).toMatch(notUndo)
    // names that look like keywords are values where ip reads a value
    for (const args of [
      ['route', 'add', '10.1.0.0/16', 'via', '10.0.0.1', 'dev', 'n0'],
      ['link', 'set', 'dev', 'netns', 'mtu', '1500'],
      ['neigh', 'replace', '10.0.0.2', 'lladdr', '0a:58:0a:00:00:02', 'dev', 'net-1', 'nud', 'permanent'],
    ])
      expect(undoProblems([step([inside('ip', args)])], trust), args.join(' ')).toEqual([])
    expect(problem([inside('bridge', ['-n', 'other', 'fdb', 'del'])])).toMatch(/is not one of the changes/)
    expect(problem([inside('bridge', ['link', 'set', 'dev', 'eth0', 'isolated', 'off', 'netns', '1'])])).toMatch(/is not one of the/)
    const notSetting = /is not one of the net\.\* settings netlab's plans undo with/
    expect(problem([inside('sysctl', ['kernel.core_pattern=|/tmp/x'])])).toMatch(notSetting)
    expect(problem([inside('sysctl', ['net/../kernel/core_pattern=|/tmp/x'])])).toMatch(notSetting)
    expect(problem([inside('sysctl', ['net.ipv4.ip_forward=1', 'kernel.core_pattern=|/tmp/x'])])).toMatch(notSetting)
    expect(problem([inside('sysctl', ['net.ipv4.conf.../../../kernel.send_redirects=1'])])).toMatch(notSetting)
    expect(problem([inside('iptables', ['-A', 'FORWARD', '--modprobe=/tmp/x'])])).toMatch(/names a program/)
    expect(problem([inside('iptables', ['-A', 'FORWARD', '--mod=/tmp/x'])])).toMatch(/names a program/)
    // getopt reads -M inside a bundle of short options
    expect(problem([inside('iptables', ['-nM', '/tmp/evil', '-t', 'bogus', '-L'])])).toMatch(/"-nM" names a program/)
    // a table, match or target by a name netlab does not use would have iptables load a module or library
    expect(problem([inside('iptables', ['-t', 'bogus', '-D', 'FORWARD', '-j', 'DROP'])])).toMatch(/-t "bogus": not a value/)
    expect(problem([inside('iptables', ['-D', 'FORWARD', '-m', '../../tmp/x', '-j', 'DROP'])])).toMatch(/-m "\.\.\/\.\.\/tmp\/x"/)
    expect(problem([inside('iptables', ['-L', '-n'])])).toMatch(/"-L" is not an option netlab's rules use/)
    expect(problem([inside('iptables-restore', ['-M', '/tmp/x'])])).toMatch(/takes no options/)
    const restore = (rule: string) => inside('iptables-restore', [], {stdin: `*filter\n${rule}\nCOMMIT\n`})
    expect(problem([restore('-A X --modprobe /tmp/x')])).toMatch(/line 2: "--modprobe" names a program/)
    expect(problem([restore('-A INPUT -vM /tmp/evil -j ACCEPT')])).toMatch(/line 2: "-vM" names a program/)
    // iptables-restore takes the quotes off a word
    expect(problem([restore('-A INPUT "--modprobe=/tmp/evil" -j ACCEPT')])).toMatch(/"--modprobe=\/tmp\/evil" names a program/)
    expect(problem([restore('-A INPUT --comment"" -j ACCEPT')])).toMatch(/line 2: --comment "-j": not a value/)
    expect(problem([restore('-A INPUT -m comment --comment x" -j "ACCEPT')])).toMatch(/line 2: /)
    expect(problem([restore(' # -M /tmp/x')])).toMatch(/line 2: /) // a comment only at the start of a line
    expect(problem([restore('-t nat -A X -j ACCEPT')])).toMatch(/"-t" is not an option/)
    expect(problem([inside('iptables-restore', [], {stdin: '*raw\nCOMMIT\n'})])).toMatch(/line 1: /)
    expect(problem([inside('perl', ['-e', 'system'])])).toMatch(/perl, a tool netlab does not drive/)
    expect(problem([inside('file', ['remove', `${ROOT}/${lab}/x`])])).toMatch(/in a way netlab's plans do not undo with/)
    expect(problem([inside('ip', ['route', 'del', 'default'], {env: {LD_PRELOAD: '/tmp/x.so'}})])).toMatch(/in a way/)
  })

  it("a file that is not the lab's", () => {
    expect(problem([root(['remove', '/etc/shadow'], 'file')])).toMatch(/removes \/etc\/shadow, which is not under/)
    expect(problem([root(['remove', `${ROOT}/${lab}/../other/x`], 'file')])).toMatch(/which is not under/)
    expect(problem([root(['remove', `${ROOT}/${lab}`], 'file')])).toMatch(/which is not under/)
    expect(undoProblems([step([root(['remove', `${ROOT}/${lab}/cni/net.d/x.conflist`], 'file')])], trust)).toEqual([])
  })

  it('a CNI call the model does not make exactly (or any, without a model)', () => {
    const [del] = cniUndoCalls(model)
    expect(undoProblems([step([del])], trust)).toEqual([])
    expect(problem([{...del, args: ['/tmp/evil']}])).toMatch(/is not a CNI DEL or GC that lab \S+'s model makes/)
    expect(problem([{...del, env: {...del.env, CNI_PATH: '/tmp'}}])).toMatch(/not a CNI DEL or GC/)
    expect(problem([{...del, env: {...del.env, CNI_COMMAND: 'ADD'}}])).toMatch(/not a CNI DEL or GC/)
    expect(problem([{...del, stdin: JSON.stringify({...JSON.parse(del.stdin!), ipam: {type: '../../tmp/evil'}})}])).toMatch(
      /not a CNI DEL or GC/,
    )
    expect(problem([{...del, cni: {...del.cni!, cache: '/etc/passwd'}}])).toMatch(/not a CNI DEL or GC/)
    expect(problem([del], {}, {...trust, cniUndo: undefined})).toMatch(/not a CNI DEL or GC/)
    // the addresses asked for (runtimeConfig) are not what runs: up keeps what the plugins really gave
    const asked = {
      ...del,
      stdin: JSON.stringify({...JSON.parse(del.stdin!), runtimeConfig: {ips: ['10.9.9.9/24'], mac: '0a:58:0a:09:09:09'}}),
    }
    expect(undoProblems([step([asked])], trust)).toEqual([])
    // keys in another order are the same call
    const reordered = Object.fromEntries(Object.entries(del).reverse())
    expect(undoProblems([step([reordered])], trust)).toEqual([])
  })

  it('a malformed step or command', () => {
    expect(undoProblems([null], trust)).toEqual(['step #0: is not an undo step'])
    expect(undoProblems([{id: 'x', undo: {kind: 'commands', commands: []}}], trust)).toEqual(['step #0: is not an undo step'])
    expect(problem([{tool: 'ip', netns: null, args: ['netns', 'del', 7]}])).toMatch(/a command has no tool or arguments/)
    expect(problem([{tool: 'ip', netns: 3, args: []}])).toMatch(/has no place to run/)
    expect(problem([{...root(['netns', 'del', `netlab-${lab}.x`]), env: {X: 1}}])).toMatch(/malformed environment/)
    expect(undoProblems([{id: 1, undo: {kind: 'shell', commands: []}}], trust)).toEqual(['step 1: has an undo of no known kind'])
    expect(undoProblems([{id: 1, undo: {kind: 'netns', netns: 'victim'}}], trust)).toEqual(['step 1: names a namespace of another lab'])
    const long = {id: 1, why: `a\nnetlab: all clear${'x'.repeat(200)}`, undo: {kind: 'shell'}}
    expect(undoProblems([long], trust)[0]).toMatch(/^step 1 \(a netlab: all clearx{101}\): has an undo of no known kind$/)
  })

  it('every bad step is listed, the good ones are not', () => {
    const good = step([root(['netns', 'del', `netlab-${lab}.a`])])
    const steps: unknown[] = [good, {...step([root(['netns', 'del', 'v1'])]), id: 8}, good, {...step([root(['netns', 'add', 'e'])]), id: 9}]
    expect(undoProblems(steps as UndoStep[], trust).map((p) => p.split(':')[0])).toEqual(['step 8 (w)', 'step 9 (w)'])
  })
})

describe('the state directory', () => {
  const stat = (mode: number, uid = 0, kind: 'dir' | 'link' | 'file' = 'dir') => ({
    mode,
    uid,
    isDirectory: () => kind === 'dir',
    isSymbolicLink: () => kind === 'link',
  })
  it("is trusted only when it is root's (or the user's) and writable by no one else", () => {
    expect(stateDirProblem('/d', stat(0o40700), 0)).toBeUndefined()
    expect(stateDirProblem('/d', stat(0o40755), 0)).toBeUndefined()
    expect(stateDirProblem('/d', stat(0o40700, 1000), 1000)).toBeUndefined()
    expect(stateDirProblem('/d', stat(0o40777), 0)).toEqual({why: 'is writable by its group or others (mode 0777)', fix: 'chmod 700 /d'})
    expect(stateDirProblem('/d', stat(0o41777), 0)?.why).toMatch(/mode 1777/)
    expect(stateDirProblem('/d', stat(0o40770), 0)?.fix).toBe('chmod 700 /d')
    expect(stateDirProblem('/d', stat(0o40700, 1000), 0)).toEqual({why: 'is owned by uid 1000, not by root', fix: 'sudo chown root: /d'})
    expect(stateDirProblem('/d', stat(0o40700, 0, 'link'), 0)?.why).toBe('is a symbolic link')
    expect(stateDirProblem('/d', stat(0o100600, 0, 'file'), 0)?.why).toBe('is not a directory')
  })
})

describe('process markers', () => {
  it("name their lab: a record is the lab's only if its marker is one netlab makes for it", () => {
    const m = processMarker('probe-engine', 'web', 1234)
    expect(isProcessMarkerOf(m, 'web')).toBe(true)
    expect(isProcessMarkerOf(m, 'we')).toBe(false)
    expect(isProcessMarkerOf(processMarker('probe-engine', 'other', 1234), 'web')).toBe(false)
    for (const bad of ['sshd', '/usr/sbin/sshd', 'netlab-probe-engine:web', 'x netlab-probe-engine:web:1', ''])
      expect(isProcessMarkerOf(bad, 'web'), bad).toBe(false)
  })
})

describe('the journal', () => {
  it('counts only entries as netlab writes them: a malformed one selects nothing (and crashes nothing)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netlab-journal-'))
    try {
      const file = join(dir, 'journal.jsonl')
      const lines = [
        {t: 'begin', ids: [1, 2]},
        {t: 'done', ids: [1]},
        {t: 'done', ids: 'all'},
        {t: 'begin', ids: [3, 'x']},
        {t: 'failed', applied: [], failed: '9', notRun: []},
        {t: 'rm -rf /', ids: [4]},
        null,
        7,
      ]
      writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n{"t":"done","ids":[2')
      const entries = readJournal(file)
      expect(entries).toEqual([lines[0], lines[1]])
      expect(summarize(entries)).toEqual({applied: new Set([1]), maybe: new Set([2]), failed: new Set()})
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
