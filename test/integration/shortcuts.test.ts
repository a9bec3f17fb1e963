// The shortcuts on a running lab (issue 25): pod add|delete and node add|delete each change the
// lab's saved topology by one edit (comments kept, a count of pods written out as its names) and
// apply it: the namespaces come and go, every pod and node that stays keeps its address, --dry-run
// changes nothing, and the lab still proves itself (probe) after the changes.
import {existsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {isRoot, labNetns, labSandbox, netlab, ROOT, smallTopology, uniqueLab, writeTopology} from '../helpers/lab.js'
import {ROUTING_MODES} from '../../src/topology/types.js'

const topologyText = (lab: string) => `# ${lab}: a lab the shortcuts change
name: ${lab}            # aligned comment

nodes:
  - name: n0
    pods: 2             # counted
  - name: n1
    pods: [a]
external:
  - name: internet
    ip: 203.0.113.10
`

interface Status {
  nodes: {name: string; ip: string; podCIDR: string; pods: {name: string; ip: string}[]}[]
}

describe.skipIf(!isRoot)('the shortcuts', () => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab('short'))
  const file = join(stateDir, 'lab.yaml')
  const status = (): Status => JSON.parse(netlab(['status', lab, '--json'], env).stdout) as Status
  const addresses = (s: Status) =>
    new Map(s.nodes.flatMap((n) => [[n.name, `${n.ip} ${n.podCIDR}`], ...n.pods.map((p) => [p.name, p.ip] as [string, string])]))
  const topology = () => netlab(['topology', lab], env).stdout
  const ns = (name: string) => `netlab-${lab}.${name}`
  /** every member that stayed has the address it had */
  const expectKept = (before: Status, after: Status) => {
    const now = addresses(after)
    for (const [name, address] of addresses(before)) if (now.has(name)) expect(now.get(name), name).toBe(address)
  }

  it('up', () => {
    writeFileSync(file, topologyText(lab))
    const r = netlab(['up', file, '-q'], env)
    expect(r.code, r.stderr).toBe(0)
  })

  it('--dry-run prints the change and changes nothing', () => {
    const before = labNetns(lab).sort()
    const r = netlab(['pod', 'add', 'n0', 'c', '--lab', lab, '--dry-run'], env)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('+ pod c on n0')
    expect(r.stdout).toContain('Nothing has been run')
    expect(labNetns(lab).sort()).toEqual(before)
    expect(topology()).toBe(topologyText(lab))
  })

  it('pod add: the pod is made; the count becomes its names; every other pod keeps its address', () => {
    const before = status()
    const r = netlab(['pod', 'add', 'n0', 'c', '--label', 'app=web', '--lab', lab], env)
    expect(r.code, r.stderr).toBe(0)
    expect(labNetns(lab)).toContain(ns('c'))
    expect(topology()).toBe(
      topologyText(lab).replace(
        '    pods: 2             # counted\n',
        '    pods:              # counted\n      - n0-p0\n      - n0-p1\n      - {name: c, labels: {app: web}}\n',
      ),
    )
    const after = status()
    expectKept(before, after)
    expect(after.nodes[0].pods.map((p) => p.name)).toEqual(['n0-p0', 'n0-p1', 'c'])
  })

  it('pod delete: the pod goes, the others stay where they were', () => {
    const before = status()
    const r = netlab(['pod', 'delete', 'n0-p0', '--lab', lab], env)
    expect(r.code, r.stderr).toBe(0)
    expect(labNetns(lab)).not.toContain(ns('n0-p0'))
    expect(topology()).not.toContain('n0-p0')
    expect(topology()).toContain('    pods:              # counted\n      - n0-p1\n      - {name: c, labels: {app: web}}\n')
    expectKept(before, status())
  })

  it('a shortcut that fails half-way is rolled back, and the lab keeps its topology', () => {
    const before = {netns: labNetns(lab).sort(), text: topology()}
    const r = netlab(['pod', 'add', 'n1', 'late', '--lab', lab], {...env, NETLAB_TEST_FAULT_AT: '2'})
    expect(r.code, r.stderr).toBe(1)
    expect(labNetns(lab).sort()).toEqual(before.netns)
    expect(topology()).toBe(before.text)
  })

  it('node add: the node and its pods are made; every other node keeps its addresses', () => {
    const before = status()
    const r = netlab(['node', 'add', 'n2', '--pods', '1', '--lab', lab], env)
    expect(r.code, r.stderr).toBe(0)
    expect(labNetns(lab)).toEqual(expect.arrayContaining([ns('n2'), ns('n2-p0')]))
    expect(topology()).toContain('  - name: n2\n    pods: 1\nexternal:')
    expectKept(before, status())
  })

  it('node delete: the node and its pods go', () => {
    const before = status()
    const r = netlab(['node', 'delete', 'n1', '--lab', lab], env)
    expect(r.code, r.stderr).toBe(0)
    expect(labNetns(lab)).not.toEqual(expect.arrayContaining([ns('n1')]))
    expect(labNetns(lab)).not.toContain(ns('a'))
    expect(topology()).not.toContain('name: n1')
    expectKept(before, status())
  })

  it('the lab after the changes proves itself, and its comments are all there', () => {
    const r = netlab(['probe', lab], env, 300_000)
    expect(r.code, r.stdout + r.stderr).toBe(0)
    for (const c of ['# aligned comment', '# counted', `# ${lab}: a lab the shortcuts change`]) expect(topology()).toContain(c)
    expect(netlab(['down', lab], env).code).toBe(0)
    expect(labNetns(lab)).toEqual([])
  })
})

// Every routing mode, and a lab whose pods are wired by CNI plugins: the four shortcuts in a row
// on a lab of two nodes, then the lab proves itself (the routes every node got for the new node,
// and lost for the one that left, are what its probe walks).
describe.skipIf(!isRoot)('the shortcuts in every routing mode and in a CNI lab', () => {
  const {stateDir, env, track} = labSandbox()
  const cases: [string, Record<string, unknown>][] = [
    ...ROUTING_MODES.map((routing): [string, Record<string, unknown>] => [routing, {routing}]),
    ['cni', {routing: 'host-gw', cni: true}],
  ]
  for (const [what, opts] of cases) {
    const cni = opts.cni === true
    const test = it.skipIf(cni && !existsSync(join(ROOT, 'bin/netlab-cni')))
    test(`${what}: node add, pod add, pod delete, node delete, probe`, () => {
      const lab = track(uniqueLab(`sc-${what}`))
      const topo = smallTopology(lab, {routing: String(opts.routing), nodes: 2, pods: 2})
      if (cni) (topo.cluster as Record<string, unknown>).cni = {preset: 'netlab'}
      const up = netlab(['up', writeTopology(stateDir, topo), '-q'], env)
      expect(up.code, up.stderr).toBe(0)
      for (const args of [
        ['node', 'add', 'n2', '--pods', '1'],
        ['pod', 'add', 'n0', 'extra'],
        ['pod', 'delete', 'n0-p1'],
        ['node', 'delete', 'n1'],
      ]) {
        const r = netlab([...args, '--lab', lab], env)
        expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0)
      }
      const names = labNetns(lab).map((n) => n.slice(`netlab-${lab}.`.length))
      expect(names.sort()).toEqual(
        ['extra', 'fabric', 'internet', 'n0', 'n0-p0', 'n2', 'n2-p0', ...(what === 'routes' ? ['vpc-router'] : [])].sort(),
      )
      const probe = netlab(['probe', lab], env, 300_000)
      expect(probe.code, probe.stdout + probe.stderr).toBe(0)
      if (cni) expect(netlab(['cni', 'check', lab], env).code).toBe(0)
      expect(netlab(['down', lab], env).code).toBe(0)
      expect(labNetns(lab)).toEqual([])
    })
  }

  // a node's bridge comes with its first pod and goes with its last: apply makes and deletes it whole
  it("host-gw: deleting a node's last pod, then giving it one again", () => {
    const lab = track(uniqueLab('sc-last'))
    expect(netlab(['up', writeTopology(stateDir, smallTopology(lab, {nodes: 2, pods: 1})), '-q'], env).code).toBe(0)
    const r = netlab(['pod', 'delete', 'n1-p0', '--lab', lab], env)
    expect(r.code, r.stderr).toBe(0)
    expect(labNetns(lab)).not.toContain(`netlab-${lab}.n1-p0`)
    const again = netlab(['pod', 'add', 'n1', 'b', '--lab', lab], env)
    expect(again.code, again.stderr).toBe(0)
    const probe = netlab(['probe', lab], env, 300_000)
    expect(probe.code, probe.stdout + probe.stderr).toBe(0)
  })
})
