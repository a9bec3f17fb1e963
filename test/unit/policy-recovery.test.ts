// What the next command does about a `policy apply` that was killed: it finishes only an apply
// whose every action its journal records as done, and only when the record says where it was
// going (the model); anything less is rolled back.
import {describe, expect, it} from 'vitest'
import {recoveryOf} from '../../src/lab/policy.js'
import {summarize, type JournalEntry} from '../../src/state/journal.js'
import type {LabModel} from '../../src/model/types.js'

const actions = [{id: 0}, {id: 1}, {id: 2}]
const intent = {lab: 'x'} as unknown as LabModel
const after = (...entries: JournalEntry[]) => summarize(entries)

describe('recovery of a killed policy apply', () => {
  it('every action done, with its intent: complete', () => {
    expect(recoveryOf({actions, intent}, after({t: 'begin', ids: [0, 1, 2]}, {t: 'done', ids: [0, 1, 2]}))).toBe('complete')
  })

  it('one action begun and never recorded (killed between the commit and its journal entry): roll back', () => {
    expect(recoveryOf({actions, intent}, after({t: 'begin', ids: [0, 1]}, {t: 'done', ids: [0]}, {t: 'begin', ids: [2]}))).toBe('roll back')
  })

  it('killed before the last stage began, or after a failure: roll back', () => {
    expect(recoveryOf({actions, intent}, after({t: 'begin', ids: [0, 1]}, {t: 'done', ids: [0, 1]}))).toBe('roll back')
    expect(recoveryOf({actions, intent}, after({t: 'begin', ids: [0, 1, 2]}, {t: 'failed', applied: [0, 1], failed: 2, notRun: []}))).toBe(
      'roll back',
    )
  })

  it('a record without its intent (an older netlab wrote it): roll back, even when all was done', () => {
    expect(recoveryOf({actions}, after({t: 'begin', ids: [0, 1, 2]}, {t: 'done', ids: [0, 1, 2]}))).toBe('roll back')
  })
})
