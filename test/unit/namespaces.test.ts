// Namespaces and NetworkPolicy as Kubernetes writes it (issue 24), the pure part: namespaces in
// the topology and their names on the machine, the new selectors (namespaceSelector,
// matchExpressions), named ports, endPort and ipBlock except, resolved, compiled and judged; the
// compiled rules agree with the verdict on random labs; netlab label's model change.
import {describe, expect, it} from 'vitest'
import fc from 'fast-check'
import {compilePlan} from '../../src/compile/plan.js'
import {buildGraph} from '../../src/graph/build.js'
import {podChain} from '../../src/compile/policy.js'
import {labelCommand, labelsOfIntent, relabel} from '../../src/compile/labels.js'
import {subtractCidrs, parseCidr, type Cidr} from '../../src/core/ipv4.js'
import {hostVethName, labOfNetns, netnsName} from '../../src/core/names.js'
import {decide, explain, type FlowEnd} from '../../src/model/verdict.js'
import type {LabModel} from '../../src/model/types.js'
import {checkApplyRecord} from '../../src/lab/policy.js'
import {compilePolicyApply} from '../../src/compile/policy-apply.js'
import {UsageError} from '../../src/core/errors.js'
import {kernelAllows} from '../helpers/iptables-sim.js'
import {model, topologyError} from '../helpers/model.js'

/** x (team a), y (team b), z; pods a and b in each, a in default; then the policies given. */
const lab = (policies: string) => `name: lab
namespaces:
  - {name: x, labels: {team: a}}
  - {name: y, labels: {team: b}}
  - {name: z}
nodes:
  - name: node-0
    pods:
      - {name: a, namespace: x, labels: {pod: a}, ports: [{name: http, port: 80}, {name: dns, port: 53, protocol: UDP}]}
      - {name: b, namespace: x, labels: {pod: b, env: prod}}
      - {name: a, namespace: y, labels: {pod: a}, ports: [{name: http, port: 8080}]}
  - name: node-1
    pods:
      - {name: b, namespace: y, labels: {pod: b}}
      - {name: a, namespace: z, labels: {pod: a, env: dev}}
      - {name: b, namespace: z}
      - {name: a, labels: {pod: a}}
${policies}`

const pods = (m: LabModel) => m.nodes.flatMap((n) => n.pods)
const end = (m: LabModel, name: string): FlowEnd => {
  const p = pods(m).find((x) => x.name === name)!
  return {kind: 'pod', name, ip: p.ip, node: p.node}
}

describe('namespaces in the topology, and their names on the machine', () => {
  const m = model(lab('policies: []'))

  it('a pod outside default is NS/NAME in the lab, netlab-LAB.NS.NAME on the machine; default pods keep their names', () => {
    expect(pods(m).map((p) => p.name)).toEqual(['x/a', 'x/b', 'y/a', 'y/b', 'z/a', 'z/b', 'a'])
    expect(pods(m).map((p) => p.netns)).toContain('netlab-lab.x.a')
    expect(pods(m).find((p) => p.name === 'a')).toMatchObject({netns: 'netlab-lab.a', hostVeth: 'veth-a'})
    expect(pods(m).find((p) => p.name === 'a')!.namespace).toBeUndefined()
    expect(pods(m).find((p) => p.name === 'x/a')!.namespace).toBe('x')
    for (const p of pods(m)) expect(labOfNetns(p.netns)).toBe('lab')
    // no "/" where the kernel takes a name: veths hashed, chains dotted
    for (const p of pods(m)) expect(p.hostVeth).toMatch(/^veth[-0-9a-z]{1,11}$/)
    expect(new Set(pods(m).map((p) => p.hostVeth)).size).toBe(pods(m).length)
    expect(hostVethName('x/a')).toMatch(/^veth[0-9a-f]{11}$/)
    expect(netnsName('lab', 'x/a')).toBe('netlab-lab.x.a')
    expect(podChain('ingress', 'x/a')).toBe('NETLAB-IN-x.a')
    expect(podChain('egress', 'ns/a-long-pod-name-here')).toMatch(/^NETLAB-OUT-ns\.a-lon\.[0-9a-f]{8}$/)
    expect(labOfNetns('netlab-lab.x.a.b')).toBeUndefined()
  })

  it('every namespace carries kubernetes.io/metadata.name; default exists without being listed', () => {
    expect(m.namespaces).toEqual([
      {name: 'x', labels: {team: 'a', 'kubernetes.io/metadata.name': 'x'}},
      {name: 'y', labels: {team: 'b', 'kubernetes.io/metadata.name': 'y'}},
      {name: 'z', labels: {'kubernetes.io/metadata.name': 'z'}},
    ])
    // a lab without namespaces: no such key in its model (its saved state is what it was)
    expect(model('name: lab\nnodes: [{name: n0, pods: [a]}]').namespaces).toBeUndefined()
  })

  it('pod names are unique within their namespace; a namespace must be listed; names are checked', () => {
    const two = (a: string, b: string) =>
      `name: lab\nnamespaces: [{name: x}]\nnodes:\n  - name: n0\n    pods: [{name: a${a}}, {name: a${b}}]\n`
    expect(() => model(two(', namespace: x', ''))).not.toThrow()
    expect(topologyError(() => model(two(', namespace: x', ', namespace: x'))).message).toMatch(/^test\.yaml:5:44: duplicate name "x\/a"/)
    expect(topologyError(() => model(two(', namespace: q', ''))).message).toMatch(/pod q\/a: namespace "q" is not in namespaces:/)
    expect(topologyError(() => model('name: lab\nnamespaces: [{name: x}, {name: x}]\nnodes: [{name: n0}]')).detail).toMatch(
      /^namespaces\[1\]: duplicate namespace "x"/,
    )
    expect(
      topologyError(() => model('name: lab\nnamespaces: [{name: x, labels: {kubernetes.io/metadata.name: y}}]\nnodes: [{name: n0}]'))
        .detail,
    ).toMatch(/kubernetes\.io\/metadata\.name is the namespace's own name/)
  })

  it('graph notes each namespace with its labels and pods (a pod is drawn NS/NAME)', () => {
    const g = buildGraph(m)
    expect(g.notes).toContain(
      'namespaces (a pod outside default is drawn NS/NAME): default: a; x {team=a}: x/a, x/b; y {team=b}: y/a, y/b; z: z/a, z/b',
    )
    expect(g.nodes.some((n) => [n.label].flat()[0] === 'x/a')).toBe(true)
    expect(buildGraph(model('name: lab\nnodes: [{name: n0, pods: [a]}]')).notes.some((n) => n.startsWith('namespaces'))).toBe(false)
  })

  it('a Service selects pods of its own namespace only', () => {
    const s = model(`${lab('')}services:
  - {name: web, namespace: x, selector: {pod: a}, ports: [{port: 80}]}
  - {name: web, selector: {pod: a}, ports: [{port: 80}]}`)
    expect(s.services!.list.map((x) => [x.namespace, x.ports[0].endpoints.map((e) => e.pod)])).toEqual([
      ['x', ['x/a']],
      ['default', ['a']],
    ])
  })
})

describe('selectors, ports and blocks as Kubernetes reads them', () => {
  const m = model(
    lab(`policies:
  - name: from-team-a
    namespace: y
    podSelector: {}
    ingress:
      - from: [{namespaceSelector: {matchLabels: {team: a}}}]
  - name: expr
    namespace: z
    podSelector:
      matchExpressions: [{key: env, operator: NotIn, values: [prod]}]
    ingress:
      - from:
          - podSelector: {matchExpressions: [{key: env, operator: DoesNotExist}]}
            namespaceSelector: {matchExpressions: [{key: team, operator: In, values: [a, b]}]}
        ports: [{port: 80, endPort: 81}, {protocol: UDP, port: 53}]
  - name: named
    namespace: x
    podSelector: {pod: a}
    ingress:
      - ports: [{port: http}, {protocol: UDP, port: dns}]
  - name: out
    namespace: x
    podSelector: {pod: b}
    policyTypes: [Egress]
    egress:
      - to: [{ipBlock: {cidr: 10.244.0.0/16, except: [10.244.1.0/24]}}]
      - to: [{namespaceSelector: {}}]
        ports: [{port: http}]`),
  )

  it('a policy selects pods of its namespace; NotIn and DoesNotExist match pods without the key', () => {
    expect(m.policies!.map((p) => [p.namespace, p.name, p.pods])).toEqual([
      ['y', 'from-team-a', ['y/a', 'y/b']],
      ['z', 'expr', ['z/a', 'z/b']],
      ['x', 'named', ['x/a']],
      ['x', 'out', ['x/b']],
    ])
    // namespaceSelector alone: every pod of x; both: pods without env in x and y
    expect(m.policies![0].ingress[0].peers).toMatchObject([{kind: 'pods', pods: ['x/a', 'x/b']}])
    expect(m.policies![1].ingress[0].peers).toMatchObject([{kind: 'pods', pods: ['x/a', 'y/a', 'y/b']}])
  })

  it('the verdict: namespaces by label, both selectors at once, ranges, named ports per destination, except', () => {
    const v = (s: string, d: string, protocol: 'TCP' | 'UDP', port?: number) =>
      decide(m, {src: end(m, s), dst: end(m, d), protocol, port}).allowed
    expect(v('x/b', 'y/a', 'TCP', 9)).toBe(true) // team a → y
    expect(v('z/a', 'y/a', 'TCP', 9)).toBe(false)
    expect(v('a', 'y/b', 'TCP', 9)).toBe(false)
    // expr: from pods without env in team a or b namespaces, on 80-81/tcp and 53/udp
    expect([80, 81, 82].map((p) => v('x/a', 'z/b', 'TCP', p))).toEqual([true, true, false])
    expect(v('x/a', 'z/b', 'UDP', 53)).toBe(true)
    expect(v('x/b', 'z/b', 'TCP', 80)).toBe(false) // x/b has env
    expect(v('z/b', 'z/a', 'TCP', 80)).toBe(false) // z has no team
    // named: x/a's http is 80, its dns 53/udp
    expect(v('a', 'x/a', 'TCP', 80)).toBe(true)
    expect(v('a', 'x/a', 'TCP', 8080)).toBe(false)
    expect(v('a', 'x/a', 'UDP', 53)).toBe(true)
    expect(v('a', 'x/a', 'TCP', 53)).toBe(false)
    // out: node-1's pods (10.244.1.0/24) are cut out of the block, but y/a's port http (8080) is let through by rule 2
    expect(v('x/b', 'x/a', 'TCP', 80)).toBe(true)
    expect(v('x/b', 'x/a', 'TCP', 1)).toBe(false) // x/a lets in its named ports only
    expect(v('x/b', 'y/b', 'TCP', 1)).toBe(false)
    expect(v('x/b', 'a', 'TCP', 80)).toBe(false) // a has no port http
    expect(explain(decide(m, {src: end(m, 'x/b'), dst: end(m, 'y/b'), protocol: 'TCP', port: 1}))).toBe(
      'denied: x/b is isolated for egress by x/out, and no rule of it allows this',
    )
  })

  it("the rules: a chain per pod with a dot, --dport P:E, a named port's number per pod, except cut out of the block", () => {
    const plan = compilePlan(m)
    const lines = (chain: string) =>
      plan.actions.filter((a) => a.tool === 'iptables' && a.args[1] === chain && a.args[0] === '-A').map((a) => a.args.join(' '))
    expect(lines('NETLAB-IN-z.b')).toContain(
      '-A NETLAB-IN-z.b -s 10.244.0.2 -p tcp --dport 80:81 -m comment --comment z/expr ingress rule 1 -j RETURN',
    )
    expect(lines('NETLAB-IN-x.a')).toEqual([
      '-A NETLAB-IN-x.a -p tcp --dport 80 -m comment --comment x/named ingress rule 1 -j RETURN',
      '-A NETLAB-IN-x.a -p udp --dport 53 -m comment --comment x/named ingress rule 1 -j RETURN',
      '-A NETLAB-IN-x.a -m comment --comment isolated by x/named -j REJECT --reject-with icmp-admin-prohibited',
    ])
    const out = lines('NETLAB-OUT-x.b')
    // 10.244.0.0/16 less 10.244.1.0/24: eight blocks
    expect(out.filter((l) => l.includes('egress rule 1')).map((l) => l.split(' ')[3])).toEqual([
      '10.244.0.0/24',
      '10.244.2.0/23',
      '10.244.4.0/22',
      '10.244.8.0/21',
      '10.244.16.0/20',
      '10.244.32.0/19',
      '10.244.64.0/18',
      '10.244.128.0/17',
    ])
    // the named port of egress: each destination pod that has it, on its own number
    expect(out.filter((l) => l.includes('egress rule 2'))).toEqual([
      '-A NETLAB-OUT-x.b -d 10.244.0.2 -p tcp --dport 80 -m comment --comment x/out egress rule 2 -j RETURN',
      '-A NETLAB-OUT-x.b -d 10.244.0.4 -p tcp --dport 8080 -m comment --comment x/out egress rule 2 -j RETURN',
    ])
  })

  it('warns about a named port no pod has, and a namespaceSelector that matches no namespace', () => {
    const warnings: {message: string}[] = []
    model(
      lab(`policies:
  - name: p
    podSelector: {}
    ingress:
      - from: [{namespaceSelector: {team: c}}]
        ports: [{port: nope}]`),
      {warnings: warnings as never},
    )
    expect(warnings.map((w) => w.message)).toEqual([
      'test.yaml:22:36: warning: policy p: ingress[0].from[0].namespaceSelector {team: c} matches no pod: this peer allows nothing',
      'test.yaml:23:24: warning: policy p: ingress[0].ports[0]: no pod has a TCP port named "nope": this port allows nothing',
    ])
  })

  it('an ipBlock less its exceptions, as the fewest blocks', () => {
    const c = (s: string) => parseCidr(s) as Cidr
    expect(subtractCidrs(c('10.0.0.0/8'), [c('10.0.0.0/9')]).map(String)).toEqual(['10.128.0.0/9'])
    expect(subtractCidrs(c('10.0.0.0/8'), [c('192.168.0.0/16')]).map(String)).toEqual(['10.0.0.0/8'])
    expect(subtractCidrs(c('10.0.0.0/30'), [c('10.0.0.1/32'), c('10.0.0.2/32')]).map(String)).toEqual(['10.0.0.0/32', '10.0.0.3/32'])
  })
})

// ---- the compiled rules and the verdict agree, on random labs ----

const NS = ['default', 'x', 'y'] as const
const VALUES = ['a', 'b'] as const
const labelsArb = fc.dictionary(fc.constantFrom('app', 'tier'), fc.constantFrom(...VALUES), {maxKeys: 2})
const exprArb = fc.oneof(
  fc.record({
    key: fc.constantFrom('app', 'tier'),
    operator: fc.constantFrom('In', 'NotIn'),
    values: fc.subarray([...VALUES], {minLength: 1}),
  }),
  fc.record({key: fc.constantFrom('app', 'tier'), operator: fc.constantFrom('Exists', 'DoesNotExist')}),
)
const selectorArb = fc.oneof(labelsArb, fc.record({matchLabels: labelsArb, matchExpressions: fc.array(exprArb, {maxLength: 2})}))
const nsSelectorArb = fc.oneof(
  fc.dictionary(fc.constant('team'), fc.constantFrom(...VALUES), {maxKeys: 1}),
  fc.record({
    matchExpressions: fc.array(
      exprArb.map((e) => ({...e, key: 'team'})),
      {maxLength: 1},
    ),
  }),
)
const peerArb = fc.oneof(
  fc.record({podSelector: selectorArb}),
  fc.record({namespaceSelector: nsSelectorArb}),
  fc.record({podSelector: selectorArb, namespaceSelector: nsSelectorArb}),
  fc.record({
    ipBlock: fc.record({cidr: fc.constant('10.244.0.0/16'), except: fc.subarray(['10.244.0.0/26', '10.244.1.0/24', '10.244.0.4/30'])}),
  }),
)
const portArb = fc.oneof(
  fc.record({protocol: fc.constantFrom('TCP', 'UDP'), port: fc.constantFrom(80, 81, 53)}),
  fc.record({port: fc.constant(80), endPort: fc.constantFrom(81, 90)}),
  fc.record({protocol: fc.constantFrom('TCP', 'UDP'), port: fc.constantFrom('http', 'dns')}),
)
const ruleArb = fc.record({peers: fc.array(peerArb, {maxLength: 2}), ports: fc.array(portArb, {maxLength: 2})}, {requiredKeys: []})
const policyArb = fc.record({
  namespace: fc.constantFrom(...NS),
  podSelector: selectorArb,
  policyTypes: fc.subarray(['Ingress', 'Egress'], {minLength: 1}),
  ingress: fc.array(ruleArb, {maxLength: 2}),
  egress: fc.array(ruleArb, {maxLength: 2}),
})
const podPortsArb = fc
  .subarray([
    {name: 'http', port: 80},
    {name: 'http', port: 8080},
    {name: 'dns', port: 53, protocol: 'UDP'},
  ])
  .filter((ps) => ps.filter((p) => p.name === 'http').length <= 1)
const podArb = fc.record({namespace: fc.constantFrom(...NS), labels: labelsArb, ports: podPortsArb})
const labArb = fc.record({
  teams: fc.record({x: fc.constantFrom(...VALUES), y: fc.constantFrom(...VALUES)}),
  pods: fc.array(fc.array(podArb, {minLength: 1, maxLength: 3}), {minLength: 2, maxLength: 2}),
  policies: fc.array(policyArb, {minLength: 1, maxLength: 3}),
})

type RandomLab = typeof labArb extends fc.Arbitrary<infer T> ? T : never

/** The topology as JSON (YAML reads it): rules without peers or ports leave the key out, as a user would. */
function topologyText(l: RandomLab): string {
  const rule = (key: 'from' | 'to') => (r: {peers?: unknown[]; ports?: unknown[]}) => ({
    ...(r.peers && r.peers.length > 0 ? {[key]: r.peers} : {}),
    ...(r.ports && r.ports.length > 0 ? {ports: r.ports} : {}),
  })
  return JSON.stringify({
    name: 'rnd',
    namespaces: [
      {name: 'x', labels: {team: l.teams.x}},
      {name: 'y', labels: {team: l.teams.y}},
    ],
    nodes: l.pods.map((ps, i) => ({
      name: `n${i}`,
      pods: ps.map((p, k) => ({name: `p${i}${k}`, namespace: p.namespace, labels: p.labels, ports: p.ports})),
    })),
    policies: l.policies.map((p, i) => ({
      name: `pol-${i}`,
      namespace: p.namespace,
      podSelector: p.podSelector,
      policyTypes: p.policyTypes,
      ingress: p.ingress.map(rule('from')),
      egress: p.egress.map(rule('to')),
    })),
  })
}

const PROBES: {protocol: 'TCP' | 'UDP'; port: number}[] = [80, 81, 85, 90, 91, 53, 8080, 9].flatMap((port) => [
  {protocol: 'TCP' as const, port},
  {protocol: 'UDP' as const, port},
])

/** Every pair of pods on every probe: where the rules and the verdict part, described. */
function disagreements(m: LabModel): string[] {
  const plan = compilePlan(m)
  const out: string[] = []
  for (const s of pods(m))
    for (const d of pods(m)) {
      if (s.name === d.name) continue
      for (const {protocol, port} of PROBES) {
        const kernel = kernelAllows(m, plan, s.name, d.name, {protocol: protocol === 'TCP' ? 'tcp' : 'udp', dport: port})
        const verdict = decide(m, {src: end(m, s.name), dst: end(m, d.name), protocol, port}).allowed
        if (kernel !== verdict) out.push(`${s.name} → ${d.name} ${protocol}/${port}: rules ${kernel}, verdict ${verdict}`)
      }
    }
  return out
}

describe('the compiled rules and the verdict agree (differential, random labs)', () => {
  it('on every pair, protocol and port of random labs with namespaces, expressions, named ports, ranges and exceptions', () => {
    fc.assert(
      fc.property(labArb, (l) => {
        const text = topologyText(l)
        const m = model(text)
        expect(disagreements(m), text).toEqual([])
        // and again after a relabel (netlab label): the policies' pods are selected anew
        const first = pods(m)[0].name
        const relabelled = relabel(relabel(m, {pod: first}, [{key: 'app', value: 'b'}, {key: 'tier'}]), {namespace: 'x'}, [
          {key: 'team', value: 'b'},
        ])
        expect(disagreements(relabelled), `${text} relabelled`).toEqual([])
      }),
      {numRuns: 80},
    )
  })

  it('the simulator is no rubber stamp: a rule taken out of the plan shows up as a disagreement', () => {
    const m = model(lab(`policies:\n  - {name: p, namespace: x, podSelector: {}, ingress: [{from: [{namespaceSelector: {}}]}]}`))
    expect(disagreements(m)).toEqual([])
    const plan = compilePlan(m)
    const cut = {...plan, actions: plan.actions.filter((a) => !a.args.includes('RETURN') || !a.args.includes('10.244.1.2'))}
    expect(kernelAllows(m, cut, 'y/b', 'x/a', {protocol: 'tcp', dport: 80})).toBe(false)
    expect(decide(m, {src: end(m, 'y/b'), dst: end(m, 'x/a'), protocol: 'TCP', port: 80}).allowed).toBe(true)
  })
})

describe('netlab label, the pure part', () => {
  const m = model(
    lab(`policies:
  - {name: p, namespace: y, podSelector: {pod: a}, ingress: [{from: [{namespaceSelector: {team: a}}]}]}`),
  )

  it("reads POD then key=value / key-; --namespace alone names a namespace, before a name the pod's", () => {
    expect(labelCommand(['x/a', 'app=web', 'pod-'], undefined)).toEqual({
      target: {pod: 'x/a'},
      edits: [{key: 'app', value: 'web'}, {key: 'pod'}],
    })
    expect(labelCommand(['a', 'k='], 'x')).toEqual({target: {pod: 'x/a'}, edits: [{key: 'k', value: ''}]})
    expect(labelCommand(['team=c'], 'y')).toEqual({target: {namespace: 'y'}, edits: [{key: 'team', value: 'c'}]})
    // a pod named in another namespace than --namespace says is a mistake, not a silent choice
    expect(() => labelCommand(['x/a', 'k=v'], 'y')).toThrow(/pod x\/a is not in namespace y/)
    expect(labelCommand(['x/a', 'k=v'], 'x')).toEqual({target: {pod: 'x/a'}, edits: [{key: 'k', value: 'v'}]})
    for (const bad of [['x/a'], ['x/a', 'bogus'], ['x/a', '-k=v'], ['x/a', 'k=v', 'k-'], ['team=c']])
      expect(() => labelCommand(bad, undefined), bad.join(' ')).toThrow(UsageError)
  })

  it('a relabelled pod or namespace changes what the policies select; the rest of the model is untouched', () => {
    const moved = relabel(m, {pod: 'y/b'}, [{key: 'pod', value: 'a'}])
    expect(moved.policies![0].pods).toEqual(['y/a', 'y/b'])
    expect(m.policies![0].pods).toEqual(['y/a'])
    const z = relabel(m, {namespace: 'z'}, [{key: 'team', value: 'a'}])
    expect(z.policies![0].ingress[0].peers![0]).toMatchObject({pods: ['x/a', 'x/b', 'z/a', 'z/b']})
    expect(relabel(m, {pod: 'x/a'}, [{key: 'pod'}]).nodes[0].pods[0].labels).toBeUndefined()
    // default's labels, on a lab that never listed it
    expect(relabel(m, {namespace: 'default'}, [{key: 'team', value: 'a'}]).namespaces![0]).toEqual({
      name: 'default',
      labels: {'kubernetes.io/metadata.name': 'default', team: 'a'},
    })
    expect(() => relabel(m, {pod: 'q/a'}, [])).toThrow(/has no pod named "q\/a"/)
    expect(() => relabel(m, {namespace: 'x'}, [{key: 'kubernetes.io/metadata.name', value: 'q'}])).toThrow(UsageError)
  })

  it("an interrupted label change's record completes to its labels only when its actions are what netlab compiles for them", () => {
    const next = relabel(m, {namespace: 'z'}, [{key: 'team', value: 'a'}])
    const plan = compilePolicyApply(m, next, {owner: 'netlab:lab'})
    const record = JSON.parse(JSON.stringify({...plan, intent: next}))
    const checked = checkApplyRecord(record, m, 'netlab:lab')
    expect(checked.ok && checked.record.next?.namespaces?.find((n) => n.name === 'z')?.labels.team).toBe('a')
    // labels that do not lead to those actions: nothing to complete, only to roll back
    const lying = JSON.parse(JSON.stringify({...plan, intent: relabel(next, {namespace: 'z'}, [{key: 'team'}])}))
    const l = checkApplyRecord(lying, m, 'netlab:lab')
    expect(l.ok && l.record.next).toBeUndefined()
    // a record whose labels are not labels is damaged
    const bad = JSON.parse(JSON.stringify({...plan, intent: next}))
    bad.intent.nodes[0].pods[0].labels = {pod: 3}
    expect(checkApplyRecord(bad, m, 'netlab:lab')).toEqual({ok: false, reason: 'damaged: a pod of its intent is not one'})
    expect(labelsOfIntent(m, {namespaces: [{name: 'q', labels: {}}]})).toBe('its intent has other namespaces than the lab')
    // a second read found these adopted into the saved model: labels a topology could not give, a namespace left out
    const evil = JSON.parse(JSON.stringify({...plan, intent: next}))
    evil.intent.nodes[0].pods[0].labels = {'evil\nkey': 'v\u0007'}
    expect(checkApplyRecord(evil, m, 'netlab:lab')).toEqual({ok: false, reason: 'damaged: a pod of its intent is not one'})
    const fewer = JSON.parse(JSON.stringify({...plan, intent: next}))
    fewer.intent.namespaces = fewer.intent.namespaces.filter((n: {name: string}) => n.name !== 'z')
    expect(checkApplyRecord(fewer, m, 'netlab:lab')).toEqual({ok: false, reason: 'damaged: its intent has other namespaces than the lab'})
  })
})
