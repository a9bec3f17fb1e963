// `netlab topology` (issue 25): a running lab's topology is the text `up` read, comments and all,
// kept in its state directory (not the file's path: the file may change or go); an older lab
// without it says so; and a shortcut's bad edit is refused before anything runs (exit 2, one
// line, the lab and its saved topology as they were).
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {isRoot, labNetns, labSandbox, netlab, uniqueLab} from '../helpers/lab.js'

const topologyText = (lab: string) => `# ${lab}: a small lab to change
name: ${lab}            # aligned comment

nodes:
  - name: n0
    pods: 2             # counted
  - name: n1
    pods: [a, {name: b, labels: {app: web}}]
`

describe.skipIf(!isRoot)('netlab topology', () => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab('topo'))
  const file = join(stateDir, 'lab.yaml')

  it('prints the text up read, byte for byte, even once the file has changed', () => {
    writeFileSync(file, topologyText(lab))
    const up = netlab(['up', file, '-q'], env)
    expect(up.code, up.stderr).toBe(0)
    writeFileSync(file, 'name: something-else\n')
    const r = netlab(['topology', lab], env)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe(topologyText(lab))
    // the only lab up is the default, as for status
    expect(netlab(['topology'], env).stdout).toBe(topologyText(lab))
  })

  it('--json: the lab, the file up read, the text, and the same as data', () => {
    const r = netlab(['topology', lab, '--json'], env)
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({
      lab,
      file,
      yaml: topologyText(lab),
      topology: {
        name: lab,
        nodes: [
          {name: 'n0', pods: 2},
          {name: 'n1', pods: ['a', {name: 'b', labels: {app: 'web'}}]},
        ],
      },
    })
  })

  it('a bad shortcut is refused before anything runs: one line, exit 2, the lab as it was', () => {
    const before = labNetns(lab).sort()
    for (const [args, message] of [
      [['pod', 'add', 'n9', 'c'], 'the topology has no node named "n9" (its nodes: n0, n1)'],
      [['pod', 'add', 'n0', 'a'], 'the name a is taken: it is a pod on node n1'],
      [['pod', 'delete', 'zz'], 'the topology has no pod named zz'],
      [['node', 'add', 'n1'], 'the name n1 is taken: it is a node'],
      [['node', 'delete', 'n9'], 'the topology has no node named "n9"'],
    ] as const) {
      const r = netlab([...args, '--lab', lab], env)
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.stderr).toContain(message)
    }
    expect(labNetns(lab).sort()).toEqual(before)
    expect(netlab(['topology', lab], env).stdout).toBe(topologyText(lab))
  })

  it('a lab brought up by a netlab that kept no topology says so in one line (exit 1), naming the file it came from', () => {
    const saved = join(stateDir, lab, 'topology.yaml')
    const text = readFileSync(saved, 'utf8')
    rmSync(saved)
    try {
      const r = netlab(['topology', lab], env)
      expect(r.code).toBe(1)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.stderr).toContain(
        `lab ${lab} was brought up by an older netlab, which kept no copy of its topology: it was built from ${file}`,
      )
    } finally {
      writeFileSync(saved, text)
    }
  })

  it('a lab that is not up: exit 2; down takes the saved topology with the lab', () => {
    expect(netlab(['topology', 'no-such-lab'], env).code).toBe(2)
    expect(netlab(['down', lab], env).code).toBe(0)
    expect(netlab(['topology', lab], env).code).toBe(2)
    expect(labNetns(lab)).toEqual([])
  })
})
