// Two labs with identical CIDRs, up at once: both pass `netlab probe`, and not one packet of
// either reaches the other (every interface counter of the idle lab stays still).
import {execFileSync} from 'node:child_process'
import {setTimeout as sleep} from 'node:timers/promises'
import {describe, expect, it} from 'vitest'
import {isRoot, labNetns, labSandbox, netlab, smallTopology, uniqueLab, writeTopology} from '../helpers/lab.js'

/** rx+tx packets of every interface of every namespace of a lab. */
function packets(lab: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const ns of labNetns(lab)) {
    for (const l of JSON.parse(execFileSync('ip', ['-n', ns, '-s', '-j', 'link'], {encoding: 'utf8'})) as {
      ifname: string
      stats64: {rx: {packets: number}; tx: {packets: number}}
    }[]) {
      out[`${ns}/${l.ifname}`] = l.stats64.rx.packets + l.stats64.tx.packets
    }
  }
  return out
}

/** A lab's own start-up chatter (IGMP reports on its bridges) fades within seconds: wait for quiet. */
async function quiet(lab: string): Promise<Record<string, number>> {
  let last = packets(lab)
  for (let i = 0; i < 20; i++) {
    await sleep(1000)
    const now = packets(lab)
    if (JSON.stringify(now) === JSON.stringify(last)) return now
    last = now
  }
  throw new Error(`lab ${lab} never went quiet`)
}

describe.skipIf(!isRoot)('isolation between labs', () => {
  const {stateDir, env, track} = labSandbox()
  const a = track(uniqueLab('iso-a'))
  const b = track(uniqueLab('iso-b'))

  it('two labs with the same CIDRs both pass the probe, and neither sees a packet of the other', async () => {
    expect(netlab(['up', writeTopology(stateDir, smallTopology(a, {nodes: 2, pods: 2})), '-q'], env).code).toBe(0)
    expect(netlab(['up', writeTopology(stateDir, smallTopology(b, {nodes: 2, pods: 2})), '-q'], env).code).toBe(0)
    for (const [busy, idle] of [
      [a, b],
      [b, a],
    ]) {
      const before = await quiet(idle)
      expect(Object.keys(before).length).toBeGreaterThan(10)
      const r = netlab(['probe', busy, '--json'], env)
      expect(r.code, r.stderr).toBe(0)
      const report = JSON.parse(r.stdout)
      expect(report.failed).toBe(0)
      expect(report.passed).toBeGreaterThan(50)
      expect(packets(idle), `packets reached ${idle} while ${busy} was probed`).toEqual(before)
    }
  })
})
