// `netlab policy apply --namespace x` on real namespaces: a lab with namespaces x and y, each
// isolating its pods; a new file for x replaces x's policy only — x's pods open up in the kernel,
// y's rules stay byte for byte and its pods stay closed — and status lists the merged policies.
// A file naming y, or a namespace the lab lacks, is exit 2 and changes nothing.
import {execFileSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {isRoot, labSandbox, netlab, uniqueLab, writeTopology} from '../helpers/lab.js'

interface Report {
  checks: {results: {src: {name: string}; dst: {name: string}; ok: boolean; policy?: {verdict: string; service: string}}[]}[]
}

describe.skipIf(!isRoot)('policy apply --namespace on a real lab', () => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab('pns'))
  const pod = (name: string, namespace: string) => ({name, namespace, labels: {app: name}, ports: [{name: 'http', port: 8080}]})
  const topology = {
    name: lab,
    namespaces: [{name: 'x'}, {name: 'y'}],
    nodes: [
      {name: 'n0', pods: [pod('a', 'x'), pod('a', 'y')]},
      {name: 'n1', pods: [pod('b', 'x'), pod('b', 'y')]},
    ],
    policies: [
      {name: 'deny-all', namespace: 'x', podSelector: {}, ingress: []},
      {name: 'deny-all', namespace: 'y', podSelector: {}, ingress: []},
    ],
  }
  const file = (name: string, text: string) => {
    const path = join(stateDir, name)
    writeFileSync(path, text)
    return path
  }
  /** each node's filter table, the lines of y's chains and the jumps to them */
  const rules = (ns: string) =>
    ['n0', 'n1'].flatMap((n) =>
      execFileSync('ip', ['netns', 'exec', `netlab-${lab}.${n}`, 'iptables-save', '-t', 'filter'], {encoding: 'utf8'})
        .split('\n')
        .filter((l) => l.includes(`NETLAB-IN-${ns}.`)),
    )
  /** what the kernel did for each pair on tcp/8080 (the probe checked it against the policies too) */
  const kernel = () => {
    const r = netlab(['probe', lab, '--only', 'policy', '--json', '--no-explain'], env)
    const report = JSON.parse(r.stdout) as Report
    const cells = report.checks.flatMap((c) => c.results).filter((x) => x.policy?.service === 'tcp/8080')
    return {code: r.code, at: (src: string, dst: string) => cells.find((x) => x.src.name === src && x.dst.name === dst)?.policy?.verdict}
  }
  const policies = () =>
    (JSON.parse(netlab(['status', lab, '--json'], env).stdout) as {policies: {name: string}[]}).policies.map((p) => p.name)

  it("replaces x's policies, leaves y's as they were, and refuses a file or namespace that does not fit", () => {
    const up = netlab(['up', writeTopology(stateDir, topology), '-q'], env)
    expect(up.code, up.stderr).toBe(0)
    const before = kernel()
    expect(before.code).toBe(0)
    expect([before.at('y/a', 'x/b'), before.at('x/a', 'y/b')]).toEqual(['denied', 'denied'])
    const yRules = rules('y')
    expect(yRules.length).toBeGreaterThan(0)

    // bad input: nothing changes
    const other = netlab(
      ['policy', 'apply', lab, file('other.yaml', 'policies:\n  - {name: p, namespace: y, podSelector: {}}\n'), '-n', 'x'],
      env,
    )
    expect(other.code, other.stderr).toBe(2)
    expect(other.stderr).toMatch(/other\.yaml:2:26: policy p: namespace "y" is not x/)
    const missing = netlab(['policy', 'apply', lab, file('none.yaml', 'policies: []\n'), '--namespace', 'nope'], env)
    expect(missing.code, missing.stderr).toBe(2)
    expect(missing.stderr).toContain('has no namespace "nope"')
    expect(policies()).toEqual(['x/deny-all', 'y/deny-all'])

    // x's deny-all becomes allow-from-y (written without namespace:, so in x)
    const allow = file(
      'x.yaml',
      'policies:\n  - {name: allow-from-y, podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}}]}]}\n',
    )
    const applied = netlab(['policy', 'apply', lab, allow, '--namespace', 'x', '--json'], env)
    expect(applied.code, applied.stderr).toBe(0)
    expect(JSON.parse(applied.stdout)).toMatchObject({
      namespace: 'x',
      created: ['x/allow-from-y'],
      changed: [],
      deleted: ['x/deny-all'],
      policies: 2,
    })
    expect(policies()).toEqual(['y/deny-all', 'x/allow-from-y'])
    expect(rules('y')).toEqual(yRules)
    const after = kernel()
    expect(after.code).toBe(0)
    expect([after.at('y/a', 'x/b'), after.at('x/a', 'y/b'), after.at('x/a', 'x/b')]).toEqual(['allowed', 'denied', 'denied'])

    // an empty list deletes x's policies: x is open, y still closed
    const emptied = netlab(['policy', 'apply', lab, file('empty.yaml', 'policies: []\n'), '-n', 'x'], env)
    expect(emptied.code, emptied.stderr).toBe(0)
    expect(emptied.stdout).toContain('(namespace x: created none; changed none; deleted x/allow-from-y)')
    expect(policies()).toEqual(['y/deny-all'])
    expect(rules('y')).toEqual(yRules)
    const open = kernel()
    expect([open.at('x/a', 'x/b'), open.at('x/a', 'y/b')]).toEqual(['allowed', 'denied'])
    expect(netlab(['down', lab], env).code).toBe(0)
  })
})
