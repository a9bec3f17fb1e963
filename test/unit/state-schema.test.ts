// state.json is checked when it is read (src/state/schema.ts): a damaged file is a reason naming
// the field, never a TypeError later in ls, status or another lab's line. No root: a temporary
// state directory, nothing built.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {buildModel} from '../../src/compile/model.js'
import {parseLabProcessMarker, processMarker as labProcessMarker} from '../../src/core/names.js'
import {listLabLines, renderLabLines} from '../../src/lab/list.js'
import {requireState} from '../../src/lab/require-state.js'
import {tableInodes} from '../../src/lab/unrecorded.js'
import {processMarker} from '../../src/probe/owned.js'
import {files} from '../../src/state/paths.js'
import {isJournalEntry, planProblem, stateProblem} from '../../src/state/schema.js'
import {createLabDir, readLabState, readPlan, readState, writePlan, writeState} from '../../src/state/store.js'
import {compilePlan} from '../../src/compile/plan.js'
import {readJournal} from '../../src/state/journal.js'
import {loadTopologyFile} from '../../src/topology/parse.js'
import {THREE_NODE} from '../helpers/constants.js'
import {withStateDir} from '../helpers/state.js'

const dir = mkdtempSync(join(tmpdir(), 'netlab-state-schema-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const inStateDir = <T>(f: () => T): T => withStateDir(dir, f)

const model = buildModel(loadTopologyFile(THREE_NODE))
const LAB = model.lab
/** A sound state as `up` saves it, as plain JSON (what is on disk). */
const sound = () =>
  JSON.parse(JSON.stringify({version: 1, lab: LAB, status: 'up', topology: THREE_NODE, startedAt: new Date(0).toISOString(), model})) as {
    model: Record<string, unknown> & {nodes: Record<string, unknown>[]; members?: Record<string, unknown>[]}
  } & Record<string, unknown>

describe('stateProblem: what state.json must hold', () => {
  it('a state as up writes it has no problem', () => {
    expect(stateProblem(sound(), LAB)).toBeUndefined()
  })

  it('an older state without segments or members (upgradeModel fills them) has none either', () => {
    const s = sound()
    delete s.model.segments
    delete s.model.members
    expect(stateProblem(s, LAB)).toBeUndefined()
  })

  const cases: [string, (s: ReturnType<typeof sound>) => unknown, string][] = [
    ['{}', () => ({}), 'version is missing'],
    ['a list', () => [], 'it holds a list, not an object'],
    ['null', () => null, 'it holds null, not an object'],
    ['another version', (s) => ({...s, version: 2}), 'version 2 is not 1'],
    ['no model', (s) => ({...s, model: undefined}), 'model is missing'],
    ['another lab', (s) => ({...s, lab: 'other'}), 'it names lab "other", not "three-node"'],
    ['an unknown status', (s) => ({...s, status: 'half'}), 'status "half" is neither "up" nor "building"'],
    ['nodes not a list', (s) => ({...s, model: {...s.model, nodes: {}}}), 'model.nodes is an object, not a list'],
    ['a model of another lab', (s) => ({...s, model: {...s.model, lab: 'x'}}), 'model.lab is "x", not "three-node"'],
    [
      'a pod without its address',
      (s) => {
        delete (s.model.nodes[1].pods as Record<string, unknown>[])[0].ip
        return s
      },
      'model.nodes[1].pods[0].ip is missing',
    ],
    [
      'a member whose addresses are not strings',
      (s) => {
        s.model.members![2].ips = [1]
        return s
      },
      'model.members[2].ips is a list, not a list of strings',
    ],
    ['ipMasq as a string', (s) => ({...s, model: {...s.model, ipMasq: 'yes'}}), 'model.ipMasq is a string, not true or false'],
  ]
  for (const [what, damage, reason] of cases)
    it(`${what}: "${reason}"`, () => {
      expect(stateProblem(damage(sound()), LAB)).toBe(reason)
    })
})

describe('readLabState: the state, or why there is none to use', () => {
  const write = (text: string) => inStateDir(() => (createLabDir(LAB), writeFileSync(files.state(LAB), text)))

  it('a sound state reads back whole (and readState gives it)', () =>
    inStateDir(() => {
      createLabDir(LAB)
      writeState({version: 1, lab: LAB, status: 'up', topology: THREE_NODE, startedAt: new Date(0).toISOString(), model})
      const r = readLabState(LAB)
      expect(r.ok && r.state.model).toEqual(model)
      expect(readState(LAB)?.model).toEqual(model)
    }))

  it('missing, empty, cut short, {}: each its reason; readState gives undefined, never a half state', () => {
    inStateDir(() => rmSync(files.state(LAB), {force: true}))
    expect(inStateDir(() => readLabState(LAB))).toEqual({ok: false, reason: 'state.json is missing', missing: true})
    write('')
    expect(inStateDir(() => readLabState(LAB))).toEqual({ok: false, reason: 'state.json is empty'})
    write('{"version": 1, "lab": "three-no')
    expect(inStateDir(() => readLabState(LAB))).toMatchObject({ok: false, reason: expect.stringMatching(/^state\.json is not valid JSON/)})
    write('{}')
    expect(inStateDir(() => readLabState(LAB))).toEqual({ok: false, reason: 'state.json: version is missing'})
    expect(inStateDir(() => readState(LAB))).toBeUndefined()
  })

  it('an old state (no members list) of a routing mode this netlab does not know: damaged, with the reason, not a crash', () => {
    const s = sound()
    delete s.model.members
    s.model.routing = 'ipip'
    write(JSON.stringify(s))
    expect(inStateDir(() => readLabState(LAB))).toEqual({
      ok: false,
      reason: expect.stringMatching(/^state\.json: .*unknown routing mode "ipip"/),
    })
  })

  it("a reason never quotes the file's content", () => {
    write('root:secret-words-here')
    const r = inStateDir(() => readLabState(LAB))
    expect(!r.ok && r.reason).not.toContain('secret')
  })

  it('requireState: a damaged lab is a failure (exit 1) that says what is wrong and that down still works; no such lab is exit 2', () => {
    write('{}')
    expect(() => inStateDir(() => requireState(LAB))).toThrow(
      expect.objectContaining({
        exitCode: 1,
        message: expect.stringMatching(/damaged: state\.json: version is missing; .*down three-node" still removes/),
      }),
    )
    expect(() => inStateDir(() => requireState('nothing-here'))).toThrow(
      expect.objectContaining({exitCode: 2, message: expect.stringMatching(/^no lab named nothing-here is up/)}),
    )
  })
})

describe('plan.json and the journal: damaged parts are left out, never a crash of down', () => {
  it('a plan as up writes it has the shape; {}, another lab, a step without its undo do not (readPlan: as if none)', () =>
    inStateDir(() => {
      createLabDir(LAB)
      writePlan(compilePlan(model))
      const plan = readPlan(LAB)!
      expect(planProblem(JSON.parse(JSON.stringify(plan)), LAB)).toBeUndefined()
      expect(planProblem({}, LAB)).toBe('lab is missing')
      expect(planProblem({...plan, lab: 'x'}, LAB)).toBe('it names lab "x", not "three-node"')
      expect(planProblem({lab: LAB, actions: [{id: 1, why: 'w'}]}, LAB)).toBe('actions[0].undo is missing')
      expect(planProblem({lab: LAB, actions: [{id: 1, why: 'w', undo: {}}]}, LAB)).toBe('actions[0].undo.kind is missing')
      writeFileSync(files.plan(LAB), '{}')
      expect(readPlan(LAB)).toBeUndefined()
    }))

  it('journal lines of the wrong shape are skipped like torn ones; the others still count', () =>
    inStateDir(() => {
      expect(isJournalEntry({t: 'failed', applied: [1], failed: null, notRun: []})).toBe(true)
      for (const bad of [{}, {t: 'begin'}, {t: 'done', ids: ['1']}, {t: 'failed', applied: [1]}, {t: 'other', ids: []}, 3, null])
        expect(isJournalEntry(bad), JSON.stringify(bad)).toBe(false)
      writeFileSync(files.journal(LAB), ['{"t":"begin","ids":[1,2]}', '{"t":"begin"}', '{"t":"done","ids":[1]}', '{"t":"do'].join('\n'))
      expect(readJournal(files.journal(LAB))).toEqual([
        {t: 'begin', ids: [1, 2]},
        {t: 'done', ids: [1]},
      ])
    }))
})

describe('ls lines of damaged and orphaned labs', () => {
  it('a directory with neither state nor plan (a probe --topology of a lab built by hand keeps its records there) is not a damaged lab; one with a plan and no state is', async () => {
    inStateDir(() => {
      createLabDir('by-hand')
      createLabDir('half')
      writeFileSync(files.plan('half'), '{}')
    })
    const lines = await withStateDir(dir, () => listLabLines())
    expect(lines.find((l) => l.lab === 'by-hand')).toBeUndefined()
    expect(lines.find((l) => l.lab === 'half')).toMatchObject({state: 'damaged', reason: 'state.json is missing'})
  })

  it('each says what is wrong and the command that removes what is left', () => {
    const text = renderLabLines([
      {lab: 'bad', state: 'damaged', reason: 'state.json is empty', namespaces: 7, remove: 'netlab down bad'},
      {lab: 'lost', state: 'orphaned', reason: 'no saved state; 3 namespaces carry its mark', namespaces: 3, remove: 'netlab down lost'},
    ])
    const lines = text.split('\n')
    expect(lines[1]).toMatch(/^bad +damaged +- +- +- +7 +- +damaged: state\.json is empty; remove it with: netlab down bad$/)
    expect(lines[2]).toMatch(
      /^lost +orphaned +- +- +- +3 +- +orphaned: no saved state; 3 namespaces carry its mark; remove it with: netlab down lost$/,
    )
  })
})

describe("what down recognises a probe's engine by", () => {
  it('the marker on its command line names the lab and the probe; other arguments are not markers', () => {
    expect(parseLabProcessMarker(processMarker('probe-engine', 'web-lab', 4242))).toEqual({
      kind: 'probe-engine',
      lab: 'web-lab',
      owner: 4242,
    })
    expect(labProcessMarker('probe-engine', 'a', 1)).toBe('netlab-probe-engine:a:1')
    for (const arg of ['netlab-probe-engine:a:0', 'netlab-probe-engine:a:12x', 'netlab-a.n0', '/usr/bin/perl', 'xnetlab-probe-engine:a:1'])
      expect(parseLabProcessMarker(arg), arg).toBeUndefined()
  })

  it('the socket inodes of a /proc/net/{tcp,udp,raw} table (its header has none; a socket without one, as in TIME_WAIT, neither)', () => {
    const table = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0AF40002:4E84 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 81234 1 0000000000000000 100 0 0 10 0',
      '   1: 0AF40002:C350 0AF40103:4E84 01 00000000:00000000 00:00000000 00000000     0        0 81240 1 0000000000000000 20 4 30 10 -1',
      '   2: 00000000:0001 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 0 2 0000000000000000 0',
    ].join('\n')
    expect(tableInodes(table)).toEqual([81234, 81240])
  })
})
