// plan.json keeps what `down` needs of a plan: the actions undone by commands (namespace
// creation). No root: a temporary state directory, nothing built.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {buildModel} from '../../src/compile/model.js'
import {compilePlan} from '../../src/compile/plan.js'
import {createLabDir, readPlan, writePlan} from '../../src/state/store.js'
import {loadTopologyFile} from '../../src/topology/parse.js'
import {THREE_NODE} from '../helpers/constants.js'

const dir = mkdtempSync(join(tmpdir(), 'netlab-state-plan-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('plan.json', () => {
  it('holds the undo steps of the namespaces the lab creates, and nothing a namespace deletion undoes', () => {
    const saved = process.env.NETLAB_STATE_DIR
    process.env.NETLAB_STATE_DIR = dir
    try {
      const plan = compilePlan(buildModel(loadTopologyFile(THREE_NODE)))
      createLabDir(plan.lab)
      writePlan(plan)
      const stored = readPlan(plan.lab)!
      const creating = plan.actions.filter((a) => a.creates)
      expect(stored.lab).toBe(plan.lab)
      expect(stored.actions.map((a) => [a.id, a.creates, a.undo])).toEqual(creating.map((a) => [a.id, a.creates, a.undo]))
      expect(stored.actions.length).toBeLessThan(plan.actions.length / 5)
    } finally {
      if (saved === undefined) delete process.env.NETLAB_STATE_DIR
      else process.env.NETLAB_STATE_DIR = saved
    }
  })
})
