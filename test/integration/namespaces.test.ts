// Namespaces and Kubernetes' own policy semantics on a real lab (issue 24): pods of namespaces
// x, y and z on two nodes, a namespaceSelector policy and a matchExpressions policy with a named
// port; the probe passes; `netlab label` changes a pod's and a namespace's labels on the running
// lab and the probe sees the policies' new verdict at once; a label change that fails midway
// leaves the rules and the saved labels as they were, one killed after its commit is finished by
// the next command; down removes everything.
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {isRoot, labNetns, labSandbox, netlab, rootSnapshot, uniqueLab, writeTopology} from '../helpers/lab.js'

interface End {
  name: string
}
interface Report {
  passed: number
  failed: number
  checks: {id: string; results: {src: End; dst: End; ok: boolean; policy?: {verdict: string; service: string}}[]}[]
  policy?: {allowedReachable: number; deniedBlocked: number; violations: unknown[]}
}

function topology(lab: string): Record<string, unknown> {
  return {
    name: lab,
    namespaces: [
      {name: 'x', labels: {team: 'a'}},
      {name: 'y', labels: {team: 'b'}},
      {name: 'z', labels: {team: 'c'}},
    ],
    nodes: [
      {
        name: 'n0',
        pods: [
          {name: 'a', namespace: 'x', labels: {pod: 'a'}},
          {name: 'b', namespace: 'x', labels: {pod: 'b'}},
          {name: 'a', namespace: 'y', labels: {pod: 'a'}},
        ],
      },
      {
        name: 'n1',
        pods: [
          {name: 'b', namespace: 'y', labels: {pod: 'b'}},
          {name: 'a', namespace: 'z', labels: {pod: 'a'}, ports: [{name: 'http', port: 8080}]},
          {name: 'b', namespace: 'z', labels: {pod: 'b'}},
        ],
      },
    ],
    policies: [
      // y takes connections from team a's namespaces only
      {name: 'from-team-a', namespace: 'y', podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: 'a'}}}]}]},
      // z/a takes its port http from pods of any namespace that carry no env label
      {
        name: 'http-from-untagged',
        namespace: 'z',
        podSelector: {matchExpressions: [{key: 'pod', operator: 'In', values: ['a']}]},
        ingress: [
          {
            from: [{podSelector: {matchExpressions: [{key: 'env', operator: 'DoesNotExist'}]}, namespaceSelector: {}}],
            ports: [{port: 'http'}],
          },
        ],
      },
    ],
  }
}

const inNs = (ns: string, args: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...args], {encoding: 'utf8'})

describe.skipIf(!isRoot)('namespaces, namespaceSelector and matchExpressions on a real lab; netlab label', () => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab('ns'))

  const probe = () => {
    const r = netlab(['probe', lab, '--only', 'policy', '--json', '--no-explain'], env)
    return {code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr}
  }
  /** The verdict the probe carried, and checked, for one pair and service. */
  const verdictOf = (report: Report, src: string, dst: string, service: string) =>
    report.checks.flatMap((c) => c.results).find((x) => x.src.name === src && x.dst.name === dst && x.policy?.service === service)?.policy
      ?.verdict
  const tables = () =>
    ['n0', 'n1']
      .map((n) =>
        inNs(`netlab-${lab}.${n}`, ['iptables-save', '-t', 'filter'])
          .replace(/^#.*\n/gm, '')
          .replace(/\[\d+:\d+\]/g, ''),
      )
      .join('\n')
  const status = () =>
    JSON.parse(netlab(['status', lab, '--json'], env).stdout) as {
      nodes: {pods: {name: string; namespace: string; netns: string}[]}[]
      namespaces: {name: string; labels: Record<string, string>; pods: string[]}[]
    }
  /** a pod's labels as the lab's saved model has them */
  const savedLabels = (pod: string) =>
    (
      JSON.parse(readFileSync(join(stateDir, lab, 'state.json'), 'utf8')) as {model: {nodes: {pods: {name: string; labels?: unknown}[]}[]}}
    ).model.nodes
      .flatMap((n) => n.pods)
      .find((p) => p.name === pod)?.labels
  const label = (args: string[], extra: Record<string, string> = {}) =>
    netlab(['label', '--lab', lab, ...args, '--json'], {...env, ...extra})

  it('builds, probes, relabels between probes, and a failed relabel changes nothing', () => {
    const before = rootSnapshot()
    const up = netlab(['up', writeTopology(stateDir, topology(lab)), '-q'], env)
    expect(up.code, up.stderr).toBe(0)
    // NS/NAME in the lab, netlab-LAB.NS.NAME on the machine
    const s = status()
    expect(s.nodes[0].pods[0]).toMatchObject({name: 'x/a', namespace: 'x', netns: `netlab-${lab}.x.a`})
    expect(labNetns(lab)).toContain(`netlab-${lab}.z.b`)
    expect(s.namespaces.map((n) => [n.name, n.pods])).toEqual([
      ['default', []],
      ['x', ['x/a', 'x/b']],
      ['y', ['y/a', 'y/b']],
      ['z', ['z/a', 'z/b']],
    ])
    expect(netlab(['exec', '--lab', lab, 'z/b', '--', 'ip', '-br', 'addr', 'show', 'eth0'], env).stdout).toMatch(/^eth0@\S+\s+UP/)

    // healthy: x reaches y, z does not; z/a's http (8080) takes x/a, until x/a is tagged
    const first = probe()
    expect(first.code, JSON.stringify(first.report.policy?.violations)).toBe(0)
    expect(verdictOf(first.report, 'x/a', 'y/b', 'tcp/8080')).toBe('allowed')
    expect(verdictOf(first.report, 'z/b', 'y/b', 'tcp/8080')).toBe('denied')
    expect(verdictOf(first.report, 'x/a', 'z/a', 'tcp/8080')).toBe('allowed')
    expect(first.report.policy!.deniedBlocked).toBeGreaterThan(0)

    // a pod's label: x/a gets env=prod, and z/a's policy no longer lets it in
    const tagged = label(['x/a', 'env=prod'])
    expect(tagged.code, tagged.stderr).toBe(0)
    const result = JSON.parse(tagged.stdout) as {ms: number; nodes: number; labels: Record<string, string>}
    expect(result.labels).toEqual({pod: 'a', env: 'prod'})
    expect(result.nodes).toBe(2)
    process.stdout.write(`netlab label x/a env=prod: ${result.ms} ms inside netlab, ${Math.round(tagged.ms)} ms the whole command\n`)
    const second = probe()
    expect(second.code, JSON.stringify(second.report.policy?.violations)).toBe(0)
    expect(verdictOf(second.report, 'x/a', 'z/a', 'tcp/8080')).toBe('denied')
    expect(verdictOf(second.report, 'x/b', 'z/a', 'tcp/8080')).toBe('allowed')

    // a namespace's label: z joins team a, and y lets it in
    const team = label(['--namespace', 'z', 'team=a'])
    expect(team.code, team.stderr).toBe(0)
    const third = probe()
    expect(third.code, JSON.stringify(third.report.policy?.violations)).toBe(0)
    expect(verdictOf(third.report, 'z/b', 'y/b', 'tcp/8080')).toBe('allowed')

    // a label change that fails at its last step (n1's table): n0's table comes back, the lab keeps its labels
    const untouched = tables()
    const labelsBefore = status().namespaces
    const steps = (JSON.parse(label(['x/a', 'env-', '--dry-run']).stdout) as {actions: unknown[]}).actions.length
    expect(steps).toBe(2)
    const failed = label(['x/a', 'env-'], {NETLAB_TEST_FAULT_AT: String(steps - 1)})
    expect(failed.code, failed.stderr).toBe(1)
    // --json: the error is JSON on stdout
    const error = (JSON.parse(failed.stdout) as {error: {message: string}}).error.message
    expect(error).toContain(`label failed at step ${steps}/${steps}`)
    expect(error).toContain(`lab ${lab} keeps its old labels`)
    expect(tables()).toBe(untouched)
    expect(status().namespaces).toEqual(labelsBefore)
    expect(savedLabels('x/a')).toEqual({pod: 'a', env: 'prod'})
    const still = probe()
    expect(still.code).toBe(0)
    expect(verdictOf(still.report, 'x/a', 'z/a', 'tcp/8080')).toBe('denied')

    // killed just after every node had its new rules: the next command finishes it, labels and all
    expect(label(['x/a', 'env-'], {NETLAB_TEST_KILL_AFTER_COMMIT: '1'}).code).toBe(-1)
    expect(savedLabels('x/a')).toEqual({pod: 'a', env: 'prod'})
    const finished = probe()
    expect(finished.stderr).toContain('completed (lab')
    expect(finished.code, JSON.stringify(finished.report.policy?.violations)).toBe(0)
    expect(savedLabels('x/a')).toEqual({pod: 'a'})
    expect(verdictOf(finished.report, 'x/a', 'z/a', 'tcp/8080')).toBe('allowed')

    // bad input: exit 2, nothing changed
    const settled = tables()
    expect(label(['x/a', 'bogus']).code).toBe(2)
    expect(label(['q/a', 'k=v']).code).toBe(2)
    expect(tables()).toBe(settled)

    expect(netlab(['down', lab], env).code).toBe(0)
    expect(labNetns(lab)).toEqual([])
    expect(rootSnapshot()).toBe(before)
  }, 180_000)
})
