// The Service faults of netlab break (issue 23's exercises), on a real lab: the example lab
// (topologies/services.yaml, iptables mode) up once; each Service fault kind injected in turn, the
// probe's services section must fail — on the check that sees that fault, each failure explained
// by trace in words that name what the fault did — and `netlab fix` must
// put back exactly what was there (every node's tables and its pods' hairpin settings as before).
// Not checked: that the probe passes again at once. A fault that left connections unanswered
// (stale-endpoint, kube-proxy) left conntrack entries that keep their translation for up to two
// minutes (an unanswered SYN's timeout), and the kernel reuses their source ports for the next
// connections to the same address; kube-proxy clears such entries with conntrack -D, netlab's fix
// does not (docs/exercises.md).
import {execFileSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {isRoot, labSandbox, netlab, ROOT, rootSnapshot, uniqueLab} from '../helpers/lab.js'

interface Report {
  ok: boolean
  checks: {id: string; results: {ok: boolean; src: {name: string}; explanation?: string}[]}[]
}

/** The check that must fail under each fault (others may fail too). */
const SEEN_BY: Record<string, string> = {
  'kube-proxy': 'service-cluster-ip',
  'stale-endpoint': 'service-spread',
  'node-port': 'service-node-port',
  hairpin: 'service-hairpin',
}

/** What trace's explanation of the probe's failure says under each fault. */
const EXPLAINED: Record<string, RegExp> = {
  'kube-proxy': /stops at node-\d: node-\d sends it out eth0 to 10\.96\.0\.\d+, which no member .* holds/,
  'stale-endpoint': /stops at node-\d: node-\d sends it out cni0 to 10\.244\.\d+\.254, which no member .* holds/,
  'node-port': /no kube-proxy rule sent tcp\/3\d{4} on to an endpoint, so it reached node-\d itself/,
  hairpin: /hairpin mode is off on veth-/,
}

describe.skipIf(!isRoot)('netlab break: the Service faults, caught by the probe and fixed exactly', () => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab('svc-faults'))
  const nodes = ['node-0', 'node-1', 'node-2'].map((n) => `netlab-${lab}.${n}`)
  let before = ''

  /** Every node's rules (no counters) and bridge ports' hairpin modes. */
  const kernel = () =>
    nodes
      .map((ns) => {
        const rules = execFileSync('ip', ['netns', 'exec', ns, 'iptables-save'], {encoding: 'utf8'})
          .split('\n')
          .filter((l) => !l.startsWith('#'))
          .map((l) => l.replace(/\[\d+:\d+\]/g, ''))
        const ports = execFileSync('bridge', ['-n', ns, '-d', 'link', 'show'], {encoding: 'utf8'})
          .split('\n')
          .filter((l) => /^\d+:|hairpin/.test(l))
        return [ns, ...rules, ...ports].join('\n')
      })
      .join('\n')

  beforeAll(() => {
    before = rootSnapshot()
    const file = join(stateDir, `${lab}.yaml`)
    writeFileSync(file, readFileSync(join(ROOT, 'topologies', 'services.yaml'), 'utf8').replace(/^name: services$/m, `name: ${lab}`))
    const r = netlab(['up', file], env)
    expect(r.code, r.stderr).toBe(0)
  }, 120_000)

  afterAll(() => {
    expect(rootSnapshot()).toBe(before)
  })

  it.each(Object.keys(SEEN_BY))('%s: the probe fails on its check, and fix puts every rule back', (kind) => {
    const healthy = kernel()
    const broke = netlab(['break', lab, kind, '--seed', '0', '--json', '--reveal'], env)
    expect(broke.code, broke.stderr).toBe(0)
    expect(JSON.parse(broke.stdout)).toMatchObject({fault: {kind}})
    try {
      expect(kernel()).not.toBe(healthy)
      const r = netlab(['probe', lab, '--only', 'services', '--json'], env)
      expect(r.code, r.stderr).toBe(1)
      const report = JSON.parse(r.stdout) as Report
      const failed = report.checks.filter((c) => c.results.some((x) => !x.ok)).map((c) => c.id)
      expect(
        failed.some((id) => id.startsWith(SEEN_BY[kind])),
        `${kind}: failed ${failed.join(', ')}`,
      ).toBe(true)
      const seen = report.checks.filter((c) => c.id.startsWith(SEEN_BY[kind])).flatMap((c) => c.results.filter((x) => !x.ok))
      // each explained by trace, in words that name what the fault did
      for (const x of seen) expect(x.explanation ?? '', `${kind} from ${x.src.name}`).toMatch(EXPLAINED[kind])
    } finally {
      const fixed = netlab(['fix', lab], env)
      expect(fixed.code, fixed.stderr).toBe(0)
    }
    expect(kernel()).toBe(healthy)
  })
})
