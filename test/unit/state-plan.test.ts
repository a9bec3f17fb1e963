// plan.json keeps what `down` needs of a plan: the actions undone by commands (namespace
// creation). No root: a temporary state directory, nothing built.
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {buildModel, modelWith} from '../../src/compile/model.js'
import {compilePlan} from '../../src/compile/plan.js'
import {routingMode} from '../../src/modes/index.js'
import {statusOf} from '../../src/lab/status.js'
import {files} from '../../src/state/paths.js'
import {createLabDir, readPlan, readState, writeJson, writePlan, writeState} from '../../src/state/store.js'
import {loadTopologyFile} from '../../src/topology/parse.js'
import {readTopologySource, saveTopologySource} from '../../src/state/topology-source.js'
import {loadLab} from '../../src/lab/load.js'
import {THREE_NODE} from '../helpers/constants.js'
import {withStateDir} from '../helpers/state.js'

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

const inStateDir = <T>(f: () => T): T => withStateDir(dir, f)

describe('a model carries its routing mode (LabModel.mode)', () => {
  const model = buildModel(loadTopologyFile(THREE_NODE))

  it("is the registry's module of its routing, and is not saved: JSON leaves it out", () => {
    expect(model.mode).toBe(routingMode(model.routing))
    expect(Object.keys(model)).not.toContain('mode')
    expect(JSON.parse(JSON.stringify(model))).not.toHaveProperty('mode')
  })

  it('comes back when the saved state is read', () =>
    inStateDir(() => {
      createLabDir(model.lab)
      writeState({version: 1, lab: model.lab, status: 'up', topology: THREE_NODE, startedAt: new Date(0).toISOString(), model})
      const read = readState(model.lab)!.model
      expect(read.mode).toBe(routingMode('host-gw'))
      expect(read).toEqual(model)
    }))

  it('modelWith copies a model with its mode, resolved again when the routing changes', () => {
    expect(modelWith(model, {ipMasq: false}).mode).toBe(model.mode)
    expect(modelWith(model, {routing: 'vxlan'}).mode).toBe(routingMode('vxlan'))
    expect({...model}.mode).toBeUndefined() // why modelWith: a spread loses it
  })

  it('a lab saved with a mode this netlab does not know still reads and shows its status; asking its mode fails then', () =>
    inStateDir(() => {
      const lab = 'future-mode'
      createLabDir(lab)
      const saved = {...JSON.parse(JSON.stringify(model)), lab, routing: 'ipip'}
      writeJson(files.state(lab), {version: 1, lab, status: 'up', topology: THREE_NODE, startedAt: new Date(0).toISOString(), model: saved})
      const read = readState(lab)!.model
      expect(read.routing).toBe('ipip')
      expect(() => read.mode).toThrow(/unknown routing mode "ipip"/)
      expect(statusOf(lab)).toMatchObject({lab, routing: 'ipip', podAddresses: 'pod-range'})
    }))
})

describe("the lab's topology, saved (issue 25: netlab topology, apply and the shortcuts read it)", () => {
  it('is the text as given, comments and all; a lab without one (an older netlab) reads as undefined', () =>
    inStateDir(() => {
      const text = '# mine\nname: saved-topo   # aligned\nnodes:\n  - name: n0\n'
      createLabDir('saved-topo')
      expect(readTopologySource('saved-topo')).toBeUndefined()
      saveTopologySource('saved-topo', text)
      expect(readTopologySource('saved-topo')).toBe(text)
      expect(readFileSync(files.topology('saved-topo'), 'utf8')).toBe(text)
      saveTopologySource('saved-topo', 'name: saved-topo\n') // replaced whole, by rename (no temporary file left)
      expect(readTopologySource('saved-topo')).toBe('name: saved-topo\n')
      expect(readdirSync(join(dir, 'saved-topo')).sort()).toEqual(['topology.yaml'])
    }))

  it('up keeps the bytes it parsed: loadLab returns the text as read', () => {
    expect(loadLab(THREE_NODE).text).toBe(readFileSync(THREE_NODE, 'utf8'))
  })
})
