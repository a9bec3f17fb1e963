// What the next command does about a `policy apply` that was killed: it finishes only an apply
// whose every action its journal records as done, and only when the record says where it was
// going (the model, checked against the lab: only its policies, and only for the actions netlab makes of them); anything
// less is rolled back, and a record of the wrong shape or lab is damaged.
import {describe, expect, it} from 'vitest'
import {fileURLToPath} from 'node:url'
import {checkApplyRecord, recoveryOf} from '../../src/lab/policy.js'
import {summarize, type JournalEntry} from '../../src/state/journal.js'
import type {LabModel} from '../../src/model/types.js'
import {buildModel, modelWith} from '../../src/compile/model.js'
import {compilePolicyApply} from '../../src/compile/policy-apply.js'
import {loadTopologyFile} from '../../src/topology/parse.js'

const actions = [{id: 0}, {id: 1}, {id: 2}]
const next = {lab: 'x'} as unknown as LabModel
const after = (...entries: JournalEntry[]) => summarize(entries)

describe('recovery of a killed policy apply', () => {
  it('every action done, with its intent: complete', () => {
    expect(recoveryOf({actions, next}, after({t: 'begin', ids: [0, 1, 2]}, {t: 'done', ids: [0, 1, 2]}))).toBe('complete')
  })

  it('one action begun and never recorded (killed between the commit and its journal entry): roll back', () => {
    expect(recoveryOf({actions, next}, after({t: 'begin', ids: [0, 1]}, {t: 'done', ids: [0]}, {t: 'begin', ids: [2]}))).toBe('roll back')
  })

  it('killed before the last stage began, or after a failure: roll back', () => {
    expect(recoveryOf({actions, next}, after({t: 'begin', ids: [0, 1]}, {t: 'done', ids: [0, 1]}))).toBe('roll back')
    expect(recoveryOf({actions, next}, after({t: 'begin', ids: [0, 1, 2]}, {t: 'failed', applied: [0, 1], failed: 2, notRun: []}))).toBe(
      'roll back',
    )
  })

  it('a record without its intent (an older netlab wrote it): roll back, even when all was done', () => {
    expect(recoveryOf({actions}, after({t: 'begin', ids: [0, 1, 2]}, {t: 'done', ids: [0, 1, 2]}))).toBe('roll back')
  })
})

describe("a killed policy apply's record: checked against the lab, not trusted", () => {
  const before = buildModel(loadTopologyFile(fileURLToPath(new URL('../../topologies/policy-three-tier.yaml', import.meta.url))))
  const changed = modelWith(before, {policies: before.policies!.slice(1)})
  const owner = 'netlab:policy-three-tier@/run/netlab'
  /** the record as policy apply writes it (JSON, read back) */
  const record = () => JSON.parse(JSON.stringify({...compilePolicyApply(before, changed, {owner}), intent: changed, pid: 7}))
  const check = (raw: unknown) => checkApplyRecord(raw, before, owner)
  /** a journal with actions 0..n-1 done */
  const done = (n: number) => after({t: 'begin', ids: [...Array(n).keys()]}, {t: 'done', ids: [...Array(n).keys()]})

  it('the record policy apply writes, all done: complete, to the lab model with its policies', () => {
    const c = check(record())
    expect(c.ok).toBe(true)
    if (!c.ok) return
    expect(c.record.next?.policies).toEqual(changed.policies)
    expect(recoveryOf(c.record, done(c.record.actions.length))).toBe('complete')
  })

  it('an intent that changes more than the policies: only its policies are taken', () => {
    const r = record()
    r.intent.nodes[0].netns = 'victim'
    r.intent.cni = {preset: 'reference', binDir: '/tmp/evil'}
    const c = check(r)
    expect(c.ok && c.record.next).toBeTruthy()
    if (!c.ok) return
    expect(c.record.next!.nodes).toEqual(before.nodes)
    expect(c.record.next!.cni).toBe(before.cni)
  })

  it('actions that are not what netlab makes of the policies, or none: rolled back, never completed', () => {
    const r = record()
    r.actions[0].args = [...r.actions[0].args, '-v']
    const edited = check(r)
    expect(edited.ok && edited.record.next).toBe(undefined)
    if (edited.ok) expect(recoveryOf(edited.record, done(r.actions.length))).toBe('roll back')
    const empty = check({...record(), actions: []})
    expect(empty.ok && recoveryOf(empty.record, done(0))).toBe('roll back')
    const fewer = check({...record(), actions: record().actions.slice(1)})
    expect(fewer.ok && recoveryOf(fewer.record, done(40))).toBe('roll back')
  })

  it('a record of another shape or lab is damaged, with the reason, never a TypeError', () => {
    const damaged = (raw: unknown) => {
      const c = check(raw)
      return c.ok ? 'ok' : c.reason
    }
    expect(damaged({...record(), actions: undefined})).toBe('damaged: it has no list of actions')
    expect(damaged({...record(), actions: [null]})).toBe('damaged: it has no list of actions')
    expect(damaged({...record(), lab: 'other'})).toBe('damaged: it is for lab "other", not policy-three-tier')
    expect(damaged({...record(), intent: {}})).toBe('damaged: its intent has no list of policies')
    // every policy of the intent is checked as the parser would: a protocol iptables would read as an option is not one
    const modprobe = record()
    modprobe.intent.policies[0].ingress[0].ports = [{protocol: '--modprobe=/tmp/evil'}]
    expect(damaged(modprobe)).toMatch(/^damaged: its intent has policy \S+: a port with a protocol netlab does not know$/)
    const label = record()
    label.intent.policies[0].selector = {'evil\nkey': 'x'}
    expect(damaged(label)).toMatch(/^damaged: its intent has policy \S+: label key/)
    expect(damaged({})).toMatch(/^damaged: /)
    expect(damaged(null)).toBe('damaged: it is not a policy apply record')
  })
})
