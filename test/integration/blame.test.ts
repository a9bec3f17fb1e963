// Exact blame: when a real command fails in the middle of a batch, the action reported (and
// journaled as failed) is that command, not the first of its batch; rollback still removes all.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {Executor, StepFailed} from '../../src/exec/executor.js'
import {rollback} from '../../src/exec/rollback.js'
import {PlanBuilder} from '../../src/plan/builder.js'
import {Journal, readJournal, summarize} from '../../src/state/journal.js'
import {isRoot, labNetns, rootSnapshot, uniqueLab} from '../helpers/lab.js'

describe.skipIf(!isRoot)('a real failure names the failing action', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netlab-blame-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  async function applyExpectingFailure(build: (b: PlanBuilder, ns: string) => void): Promise<{error: StepFailed; failedId: number | null}> {
    const lab = uniqueLab('blame')
    const ns = `netlab-${lab}.n0`
    const b = new PlanBuilder(lab)
    b.phase({id: 'namespaces', title: 'namespaces', why: 'test', scope: 'lab'})
    b.createNetns(ns, 'a node')
    build(b, ns)
    const plan = b.build()
    const journalFile = join(dir, `${lab}.jsonl`)
    const journal = new Journal(journalFile)
    const before = rootSnapshot()
    try {
      // stage by stage, as up's progress display runs it (src/lab/up.ts)
      const executor = new Executor(plan, {journal, concurrency: 2, workDir: dir})
      for (const stage of executor.stages) await executor.runStage(stage)
      await executor.settle()
      throw new Error('the plan was expected to fail')
    } catch (error) {
      if (!(error instanceof StepFailed)) throw error
      const failed = readJournal(journalFile).find((e) => e.t === 'failed')
      return {error, failedId: failed && failed.t === 'failed' ? failed.failed : null}
    } finally {
      await rollback(plan, summarize(readJournal(journalFile)), {lab, source: 'the test plan', journal})
      expect(labNetns(lab)).toEqual([])
      expect(rootSnapshot()).toBe(before)
    }
  }

  it('iptables: a rule the kernel refuses in the middle of a firewall is the one reported', async () => {
    const {error, failedId} = await applyExpectingFailure((b, ns) => {
      b.phase({id: 'firewall', title: 'firewall', why: 'test', scope: 'netns'})
      b.inNetns(ns, 'iptables', ['-P', 'FORWARD', 'DROP'], 'policy')
      b.inNetns(ns, 'iptables', ['-A', 'FORWARD', '-s', '10.244.0.0/16', '-j', 'ACCEPT'], 'first rule')
      b.inNetns(ns, 'iptables', ['-A', 'FORWARD', '-j', 'NO-SUCH-CHAIN'], 'the rule that fails')
      b.inNetns(ns, 'iptables', ['-A', 'FORWARD', '-d', '10.244.0.0/16', '-j', 'ACCEPT'], 'last rule')
    })
    expect(error.action?.why).toBe('the rule that fails')
    expect(failedId).toBe(error.action?.id)
    expect(error.command).toContain('NO-SUCH-CHAIN')
  })

  it('iptables: a rule iptables cannot parse is the one reported', async () => {
    const {error} = await applyExpectingFailure((b, ns) => {
      b.phase({id: 'firewall', title: 'firewall', why: 'test', scope: 'netns'})
      b.inNetns(ns, 'iptables', ['-A', 'FORWARD', '-s', '10.244.0.0/16', '-j', 'ACCEPT'], 'first rule')
      b.inNetns(ns, 'iptables', ['-A', 'FORWARD', '-m', 'no-such-match', '-j', 'ACCEPT'], 'the rule that fails')
      b.inNetns(ns, 'iptables', ['-t', 'nat', '-A', 'POSTROUTING', '-j', 'MASQUERADE'], 'nat rule')
    })
    expect(error.action?.why).toBe('the rule that fails')
  })

  it('ip over rtnetlink: the failing route in the middle of a batch is the one reported', async () => {
    const {error, failedId} = await applyExpectingFailure((b, ns) => {
      b.phase({id: 'routes', title: 'routes', why: 'test', scope: 'netns'})
      b.inNetns(ns, 'ip', ['link', 'set', 'lo', 'up'], 'lo up')
      b.inNetns(ns, 'ip', ['route', 'add', '10.9.0.0/24', 'dev', 'lo'], 'a route')
      b.inNetns(ns, 'ip', ['route', 'add', '10.9.0.0/24', 'dev', 'lo'], 'the same route again')
      b.inNetns(ns, 'ip', ['route', 'add', '10.9.1.0/24', 'dev', 'lo'], 'another route')
    })
    expect(error.action?.why).toBe('the same route again')
    expect(failedId).toBe(error.action?.id)
    expect(error.stderr).toMatch(/File exists/)
  })
})
