// The probe's job runner (assets/netlab-jobs.pl) refuses to run anything outside a lab
// namespace. These need perl but no root: no namespace is ever entered.
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {JobRunner} from '../../src/probe/jobs.js'

describe('netlab-jobs.pl', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netlab-jobs-'))
  const runner = JobRunner.start(`netlab-probe-jobs:unit:${process.pid}`, {busy: 2, total: 4, leaseMs: 100})
  afterAll(async () => {
    await runner.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('a job whose namespace does not exist fails without running its program on the host', async () => {
    const witness = join(dir, 'ran')
    const r = await runner.run('netlab-no-such-lab.pod', ['touch', witness])
    expect(r.exitCode).toBe(126)
    expect(r.stderr).toContain('cannot open namespace netlab-no-such-lab.pod')
    expect(existsSync(witness)).toBe(false)
  })

  it('many jobs at once each get their own answer', async () => {
    const rs = await Promise.all(Array.from({length: 20}, (_, i) => runner.run(`netlab-no-such-lab.p${i}`, ['true'])))
    rs.forEach((r, i) => expect(r.stderr).toContain(`netlab-no-such-lab.p${i}`))
  })

  it('names that could leave /run/netns are refused before they reach the runner', () => {
    expect(() => runner.run('../../proc/1/ns/net', ['true'])).toThrow(/bad namespace name/)
  })
})
