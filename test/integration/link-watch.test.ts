// syncLinks (src/exec/fanout.ts, nsexec's linksync step) has the kernel's link watch handle a
// link's pending event at once, seen from the kernel: a veth pair whose two ends have the same
// interface index gets its "running" state from the link watch's once-a-second round only, so
// right after both ends come up a dump of the links still shows it not running; after the sync
// it runs. `up` syncs before the stage that brings the cables up, and only there.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {syncLinks} from '../../src/exec/fanout.js'
import {down} from '../../src/lab/down.js'
import {up} from '../../src/lab/up.js'
import type {StepTiming} from '../../src/lab/steps.js'
import {withEnv} from '../helpers/in-process.js'
import {isRoot, labNetns, labSandbox, smallTopology, uniqueLab, writeTopology} from '../helpers/lab.js'

const ip = (...args: string[]) => execFileSync('ip', args, {encoding: 'utf8'})
const batch = (ns: string | null, lines: string[]) =>
  execFileSync('ip', [...(ns ? ['-n', ns] : []), '-batch', '-'], {input: lines.map((l) => `${l}\n`).join('')})
/** links of `ns` that are up but not running, from a dump (a dump does not sync the link watch) */
function notRunning(ns: string): string[] {
  const links = JSON.parse(ip('-n', ns, '-j', 'link', 'show')) as {ifname: string; flags: string[]}[]
  return links.filter((l) => l.flags.includes('UP') && l.flags.includes('NO-CARRIER')).map((l) => l.ifname)
}

describe.skipIf(!isRoot)("the kernel's link watch, synced", () => {
  const workDir = mkdtempSync(join(tmpdir(), 'netlab-linkwatch-test-'))
  const made: string[] = []
  afterAll(() => {
    const left = made.filter((n) => readdirSync('/run/netns').includes(n))
    if (left.length > 0) execFileSync('ip', ['-force', '-batch', '-'], {input: left.map((n) => `netns del ${n}\n`).join('')})
    rmSync(workDir, {recursive: true, force: true})
  })

  it("handles the pending events of every link, more than one request window's worth: they run at once, not a second later", async () => {
    // The event of a pair with equal indexes waits for the next once-a-second round; when a round
    // came in between (another test's links), the links already run: try again.
    const PAIRS = 40 // the script asks for 32 links at a time
    const names = Array.from({length: PAIRS}, (_, i) => `v${i}`)
    let pending: {a: string; b: string} | undefined
    for (let attempt = 0; attempt < 5 && !pending; attempt++) {
      const a = `netlab-${uniqueLab('lw')}.a`
      const b = `netlab-${uniqueLab('lw')}.b`
      made.push(a, b)
      ip('netns', 'add', a)
      ip('netns', 'add', b)
      // in this order both ends of pair i are interface i + 2 of their namespace (lo is 1)
      batch(
        null,
        names.map((v) => `link add name ${v} netns ${a} type veth peer name ${v} netns ${b}`),
      )
      batch(
        a,
        names.map((v) => `link set ${v} up`),
      )
      batch(
        b,
        names.map((v) => `link set ${v} up`),
      )
      if (notRunning(b).length > 0) pending = {a, b}
    }
    expect(pending, 'pairs whose events the link watch had not handled yet').toBeDefined()
    const problems = await syncLinks([pending!.a, pending!.b], {parallel: 2, workDir})
    expect(problems).toEqual([])
    expect(notRunning(pending!.a)).toEqual([])
    expect(notRunning(pending!.b)).toEqual([])
  })

  it('names a namespace it cannot enter, and syncs the others', async () => {
    const ns = `netlab-${uniqueLab('lwok')}.n0`
    made.push(ns)
    ip('netns', 'add', ns)
    const gone = `netlab-${uniqueLab('lwgone')}.n0`
    const problems = await syncLinks([ns, gone], {parallel: 2, workDir})
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(new RegExp(`^${gone.replaceAll('.', '\\.')}: cannot open namespace`))
  })

  describe('up', () => {
    const box = labSandbox()
    it('syncs the link watch once, before the stage that follows the cables, in every namespace of that stage', async () => {
      const lab = box.track(uniqueLab('lwup'))
      const file = writeTopology(workDir, smallTopology(lab))
      const steps: StepTiming[] = []
      await withEnv(box.env, async () => {
        await up(file, {progress: 'silent', onStep: (s) => steps.push(s)})
        const stages = steps.filter((s) => s.step.startsWith('stage '))
        const synced = stages.filter((s) => s.note?.includes('link watch synced'))
        expect(synced.map((s) => s.step)).toEqual([stages.find((s) => s.step.startsWith('stage fabric'))!.step])
        // every namespace of the lab has lanes in that stage
        expect(synced[0].note).toContain(`first the link watch synced in ${labNetns(lab).length} namespaces`)
        // the stage before the cables (ipv4-only: no link exists yet) is not synced
        expect(stages.findIndex((s) => s.step === 'stage ipv4-only')).toBeGreaterThanOrEqual(0)
        await down(lab, {})
      })
    })
  })
})
