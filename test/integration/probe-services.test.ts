// The probe's services section on real namespaces: a lab with every kind of Service it checks
// (test/helpers/services.ts: a ClusterIP with three endpoints on two nodes and a named target
// port, a UDP port the probe serves itself, a NodePort Cluster, a NodePort Local, ClientIP
// affinity, a Service without endpoints) passes; then, with kube-proxy's rules broken in the
// kernel on two nodes, the probe fails on exactly the checks, and the sources, those rules serve.
import {execFileSync} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import type {CheckReport, ProbeReport} from '../../src/probe/types.js'
import {isRoot, labSandbox, netlab, uniqueLab, writeTopology} from '../helpers/lab.js'
import {SERVICES_LAB} from '../helpers/services.js'

const inNode = (lab: string, node: string, args: string[]) =>
  execFileSync('ip', ['netns', 'exec', `netlab-${lab}.${node}`, ...args], {encoding: 'utf8'})

/** A rule of a node's iptables-save (-t TABLE) that matches, as the arguments that delete it. */
function ruleOf(lab: string, node: string, table: string, match: RegExp): string[] {
  const line = inNode(lab, node, ['iptables-save', '-t', table])
    .split('\n')
    .find((l) => match.test(l))
  if (!line) throw new Error(`no rule matching ${match} in ${node}'s ${table} table`)
  // "-A CHAIN ARGS…", its comment quoted: split as a shell would
  const words = [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2])
  return ['-t', table, '-D', ...words.slice(1)]
}

describe.skipIf(!isRoot)("the probe's services section on real namespaces", () => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab('svc'))
  const probe = (): {code: number; report: ProbeReport; text: string} => {
    const r = netlab(['probe', lab, '--only', 'services', '--json', '--no-explain'], env)
    return {code: r.code, report: JSON.parse(r.stdout) as ProbeReport, text: r.stderr}
  }
  const check = (r: ProbeReport, id: string) => r.checks.find((c) => c.id === id)!
  const failedSources = (c: CheckReport) => [...new Set(c.results.filter((x) => !x.ok).map((x) => x.src.name))].sort()

  beforeAll(() => {
    const file = writeTopology(stateDir, {...(parse(SERVICES_LAB) as Record<string, unknown>), name: lab})
    const up = netlab(['up', file, '-q'], env)
    expect(up.code, up.stderr).toBe(0)
  }, 120_000)
  afterAll(() => void netlab(['down', lab], env))

  it('passes every check of the section, each with something proven, and --json carries it', () => {
    const {code, report} = probe()
    const failures = report.checks.flatMap((c) => c.results.filter((x) => !x.ok).map((x) => `${c.id}: ${JSON.stringify(x)}`))
    expect(failures).toEqual([])
    expect(code).toBe(0)
    expect(report.sections).toEqual(['services'])
    for (const c of report.checks) expect(c.passed, `${c.id}: ${c.notApplicable ?? ''}`).toBeGreaterThan(0)
    // the spread's groups name who answered: every endpoint of web:80
    expect(check(report, 'service-spread').results.find((r) => r.dst.name === 'web:80')?.seen).toMatch(
      /^web-0 ×\d+, web-1 ×\d+, web-2 ×\d+$/,
    )
    // a Service without endpoints is refused at once, everywhere
    expect(check(report, 'service-no-endpoints').results.every((r) => (r.ms ?? Infinity) < 500)).toBe(true)
  }, 120_000)

  it('fails on exactly the right checks when node-1 loses its PREROUTING jump and node-2 its REJECT of the Service without endpoints', () => {
    // node-1: what its pods send, and what reaches it from outside, is no longer translated
    inNode(lab, 'node-1', ['iptables', ...ruleOf(lab, 'node-1', 'nat', /^-A PREROUTING .*-j KUBE-SERVICES/)])
    // node-2: a connection to the Service without endpoints is no longer refused: it times out
    inNode(lab, 'node-2', [
      'iptables',
      ...ruleOf(lab, 'node-2', 'filter', /^-A KUBE-SERVICES .*default\/empty.* has no endpoints.*-j REJECT/),
    ])
    const {code, report} = probe()
    expect(code).toBe(1)
    // pods of node-1 reach no ClusterIP; pods elsewhere, DNATed at home, still reach web-1 and web-2
    expect(failedSources(check(report, 'service-cluster-ip'))).toEqual(['web-1', 'web-2'])
    expect(check(report, 'service-cluster-ip').failed).toBe(2 * 5)
    expect(failedSources(check(report, 'service-hairpin'))).toEqual(['web-1', 'web-2'])
    // NodePort on node-1, from anyone but node-1 itself (its own connections go through OUTPUT)
    const nodePort = check(report, 'service-node-port-cluster').results.filter((r) => !r.ok)
    expect(new Set(nodePort.map((r) => r.dst.name))).toEqual(new Set(['node-1']))
    expect(nodePort.map((r) => r.src.name).sort()).toEqual(['internet', 'node-0', 'node-2'])
    // the Service without endpoints: from node-2 and its pod only, and as a timeout
    const refused = check(report, 'service-no-endpoints')
    expect(failedSources(refused)).toEqual(['client', 'node-2'])
    expect(refused.results.filter((r) => !r.ok).every((r) => /timeout/.test(r.seen))).toBe(true)
    // untouched: the nodes' own connections, the Local NodePort (node-1 has no endpoint of it), the checks from db-0 on node-0
    for (const id of ['service-node-cluster-ip', 'service-node-port-local', 'service-spread', 'service-affinity'])
      expect(check(report, id), id).toMatchObject({failed: 0})
  }, 120_000)

  it("a failure's line says which trace shows why (the probe's own explanations on, as by default)", () => {
    const r = netlab(['probe', lab, '--only', 'services'], env)
    expect(r.code, r.stderr).toBe(1)
    expect(r.stdout).toMatch(
      new RegExp(
        `✗ web-1 \\(\\S+\\) → service web:80 \\(10\\.96\\.\\S+\\): .* see why: netlab trace --lab ${lab} web-1 10\\.96\\.\\S+ --proto tcp --port 80`,
      ),
    )
  }, 120_000)
})
