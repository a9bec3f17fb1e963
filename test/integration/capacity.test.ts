// The capacity preflight (issue 27): a lab that cannot fit the machine is refused with exit 2 and
// the numbers, before anything is made. The machine is made small with the test-only
// NETLAB_TEST_MACHINE_LIMITS (docs/safety.md); the same lab fits without it.
import {existsSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {isRoot, labNetns, labSandbox, netlab, removeDir, rootSnapshot, uniqueLab, writeTopology} from '../helpers/lab.js'

describe.skipIf(!isRoot)('capacity preflight', () => {
  const {stateDir, env, track} = labSandbox()
  const dir = mkdtempSync(join(tmpdir(), 'netlab-capacity-'))
  const lab = track(uniqueLab('cap'))
  const file = writeTopology(dir, {
    name: lab,
    nodes: [
      {name: 'n0', pods: 2},
      {name: 'n1', pods: 2},
    ],
  })

  it.each([
    ['memAvailableKB=2048', /kernel memory: about \d+ MB needed \(7 namespaces × 200 KB, .*\), 2 MB usable/],
    ['runInodesFree=5', /\/run: 263 inodes needed .*, 5 free/],
    ['tasksFree=10', /processes: about \d+ needed, 10 more may start/],
  ])('%s: refused with exit 2 and the numbers, nothing made', (limits, why) => {
    const before = rootSnapshot()
    try {
      const r = netlab(['up', file], {...env, NETLAB_TEST_MACHINE_LIMITS: limits})
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.stderr).toMatch(new RegExp(`lab ${lab} does not fit this machine, nothing was made: `))
      expect(r.stderr).toMatch(why)
      expect(labNetns(lab)).toEqual([])
      expect(existsSync(join(stateDir, lab))).toBe(false)
      expect(rootSnapshot()).toBe(before)
    } finally {
      netlab(['down', lab], env)
    }
  })

  it('the same lab fits the machine as it is', () => {
    try {
      const r = netlab(['up', file], env)
      expect(r.code, r.stderr).toBe(0)
      expect(labNetns(lab).length).toBe(7)
    } finally {
      expect(netlab(['down', lab], env).code).toBe(0)
      removeDir(dir)
    }
    expect(labNetns(lab)).toEqual([])
  })
})
