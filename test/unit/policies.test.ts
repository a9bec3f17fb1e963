// Network policies, the pure part: the topology's labels and policies: list (positioned errors and
// warnings), their resolution to pods with Kubernetes' defaults, the verdict on a flow, and the
// plan's policy phase (chains, rules, whys, the same-node wiring).
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {buildModel, modelWith} from '../../src/compile/model.js'
import {decide, explain, type FlowEnd} from '../../src/model/verdict.js'
import {compilePlan} from '../../src/compile/plan.js'
import {podChain, POLICY_CHAIN} from '../../src/compile/policy.js'
import {compilePolicyApply, filterTable} from '../../src/compile/policy-apply.js'
import {driver} from '../../src/tools/index.js'
import {renderText} from '../../src/plan/render.js'
import {restoreInput} from '../../src/tools/iptables.js'
import {allErrors, type TopologyError, type TopologyWarning} from '../../src/topology/errors.js'
import {loadTopologyFile, parsePolicyFile, parseTopology} from '../../src/topology/parse.js'
import {THREE_NODE, TOPOLOGIES} from '../helpers/constants.js'
import {model, topologyError} from '../helpers/model.js'

const ROOT_DIR = join(fileURLToPath(import.meta.url), '../../..')

const BAD = fileURLToPath(new URL('../fixtures/bad-policies/', import.meta.url))
const THREE_TIER = join(TOPOLOGIES, 'policy-three-tier.yaml')

/** Two nodes: web-0 and db on node-0, web-1 and api on node-1; then the policies given. */
const lab = (policies: string) => `name: lab
nodes:
  - name: node-0
    pods:
      - {name: web-0, labels: {app: web}}
      - {name: db, labels: {app: db, tier: data}}
  - name: node-1
    pods:
      - {name: web-1, labels: {app: web}}
      - {name: api, labels: {app: api}}
external:
  - name: internet
    ip: 203.0.113.10
${policies}`

describe('labels and policies in the topology', () => {
  it('pods keep their labels; a lab without a policies: key has no policies at all (not an empty list)', () => {
    const m = model(lab(''))
    expect(m.nodes[0].pods[1].labels).toEqual({app: 'db', tier: 'data'})
    expect(m.policies).toBeUndefined()
    // no labels: no key (the saved model of an old lab looks the same)
    expect(buildModel(loadTopologyFile(THREE_NODE)).nodes[0].pods[0]).not.toHaveProperty('labels')
    expect(model(lab('policies: []')).policies).toEqual([])
  })

  it("resolves selectors, rules and Kubernetes' defaults: protocol TCP, policyTypes Ingress (+ Egress with egress rules)", () => {
    const m = model(
      lab(`policies:
  - name: db-in
    podSelector: {app: db}
    ingress:
      - from: [{podSelector: {matchLabels: {app: web}}}, {ipBlock: {cidr: 10.9.0.0/16}}]
        ports: [{port: 5432}, {protocol: ICMP}]
  - name: web-out
    podSelector: {app: web}
    egress:
      - to: [{podSelector: {}}]
  - name: all-in
    podSelector: {}
    policyTypes: [Ingress]
    ingress: [{}]`),
    )
    const [dbIn, webOut, allIn] = m.policies!
    expect(dbIn).toEqual({
      name: 'db-in',
      selector: {app: 'db'},
      pods: ['db'],
      types: ['Ingress'],
      ingress: [
        {
          peers: [
            {kind: 'pods', selector: {app: 'web'}, pods: ['web-0', 'web-1']},
            {kind: 'ipBlock', cidr: '10.9.0.0/16'},
          ],
          ports: [{protocol: 'TCP', port: 5432}, {protocol: 'ICMP'}],
        },
      ],
      egress: [],
    })
    expect(webOut.types).toEqual(['Ingress', 'Egress'])
    expect(webOut.egress[0].peers).toEqual([{kind: 'pods', selector: {}, pods: ['web-0', 'db', 'web-1', 'api']}])
    expect(allIn.pods).toEqual(['web-0', 'db', 'web-1', 'api'])
    expect(allIn.ingress).toEqual([{}]) // a rule with neither peers nor ports: anyone, anything
  })

  it('warns, with a position, about a selector that matches no pod, and about rules policyTypes makes ignored', () => {
    const warnings: TopologyWarning[] = []
    const m = model(
      lab(`policies:
  - name: ghost
    podSelector: {app: nothing}
  - name: db-in
    podSelector: {app: db}
    policyTypes: [Ingress]
    ingress:
      - from: [{podSelector: {app: cache}}]
    egress:
      - to: [{ipBlock: 10.0.0.0/8}]`),
      {warnings},
    )
    expect(warnings.map((w) => w.message)).toEqual([
      'test.yaml:16:18: warning: policy ghost: podSelector {app: nothing} matches no pod, so the policy isolates nothing (Kubernetes accepts such a policy too)',
      'test.yaml:21:30: warning: policy db-in: ingress[0].from[0].podSelector {app: cache} matches no pod: this peer allows nothing',
      'test.yaml:23:7: warning: policy db-in: its egress rules are ignored: policyTypes does not list Egress',
    ])
    expect(m.policies![0].pods).toEqual([])
    expect(m.policies![1].egress).toEqual([])
  })

  it('a policy file holds policies: and nothing else', () => {
    expect(parsePolicyFile('policies: []\n', 'p.yaml')).toEqual([])
    expect(parsePolicyFile('policies:\n  - name: a\n    podSelector: {}\n', 'p.yaml')).toHaveLength(1)
    expect(topologyError(() => parsePolicyFile('name: x\npolicies: []\n', 'p.yaml')).message).toBe(
      'p.yaml:1:1: policy file: unknown key "name" (allowed: policies)',
    )
    expect(topologyError(() => parsePolicyFile('', 'p.yaml')).message).toMatch(/^p\.yaml:1:1: the file is empty/)
    expect(topologyError(() => parsePolicyFile('{}\n', 'p.yaml')).message).toMatch(/^p\.yaml:1:1: missing key "policies"/)
  })
})

describe('every problem of a policies: list (issue 22, 16)', () => {
  const where = (e: TopologyError) => allErrors(e).map((x) => `${x.pos.line}:${x.pos.col} ${x.detail.split(':')[0]}`)

  it('two mistakes in one policy (its name and a port, or two ports of one rule) are both reported, in file order', () => {
    const named = 'policies:\n  - name: A_B\n    podSelector: {}\n    ingress: [{ports: [{port: 0}]}]\n'
    expect(where(topologyError(() => parsePolicyFile(named, 'p.yaml')))).toEqual(['2:11 policies[0].name', '4:31 policies[0]'])
    const ports = 'policies:\n  - name: a\n    podSelector: []\n    egress: [{to: [{bogus: 1}], ports: [{protocol: tcp}, {port: X_Y}]}]\n'
    expect(where(topologyError(() => parsePolicyFile(ports, 'p.yaml')))).toEqual([
      '3:18 policy a',
      '4:21 policy a',
      '4:52 policy a',
      '4:65 policy a',
    ])
  })

  it('a topology with such a policy: validate lists both too', () => {
    const e = topologyError(() =>
      buildModel(
        parseTopology(lab(`policies:\n  - name: a\n    podSelector: {app: web}\n    ingress: [{ports: [{port: 0}, {port: 70000}]}]\n`)),
      ),
    )
    expect(allErrors(e).map((x) => x.pos.line)).toEqual([17, 17])
  })

  it('blocks that are no networks, found against the pods after the syntax: every one, not the first', () => {
    const block = (name: string) => `  - name: ${name}\n    podSelector: {}\n    ingress: [{from: [{ipBlock: 10.0.0.1/8}]}]\n`
    const e = topologyError(() => buildModel(parseTopology(lab(`policies:\n${block('a')}${block('b')}`))))
    expect(allErrors(e).map((x) => x.detail)).toEqual([
      'policy a: ingress[0].from[0].ipBlock: "10.0.0.1/8" has host bits set; did you mean 10.0.0.0/8?',
      'policy b: ingress[0].from[0].ipBlock: "10.0.0.1/8" has host bits set; did you mean 10.0.0.0/8?',
    ])
  })
})

describe('the bad-policy corpus', () => {
  const expected = JSON.parse(readFileSync(join(BAD, 'expected.json'), 'utf8')) as Record<
    string,
    {line: number; col: number; match: string}
  >
  const corpus = readdirSync(BAD)
    .filter((f) => f.endsWith('.yaml'))
    .sort()

  it('has an expectation for every file, and a file for every expectation', () => {
    expect(Object.keys(expected).sort()).toEqual(corpus)
    expect(corpus.length).toBeGreaterThanOrEqual(20)
  })

  it.each(corpus)('%s is rejected at the expected place, on one line', (name) => {
    const file = join(BAD, name)
    const want = expected[name]
    const error = topologyError(() => buildModel(loadTopologyFile(file)))
    expect(error.pos).toEqual({file, line: want.line, col: want.col})
    expect(error.message).not.toMatch(/[\r\n]/)
    expect(error.detail).toMatch(new RegExp(want.match))
  })
})

describe('the verdict on a flow (who may talk to whom)', () => {
  const m = model(
    lab(`policies:
  - name: db-from-web
    podSelector: {app: db}
    ingress:
      - from: [{podSelector: {app: web}}]
        ports: [{protocol: TCP, port: 5432}]
  - name: db-from-nodes
    podSelector: {app: db}
    ingress:
      - from: [{ipBlock: 192.168.50.0/24}]
        ports: [{protocol: ICMP}]
  - name: web-out
    podSelector: {app: web}
    policyTypes: [Egress]
    egress:
      - to: [{podSelector: {app: db}}]
      - to: [{ipBlock: 203.0.113.0/24}]
        ports: [{protocol: UDP, port: 53}]`),
  )
  const pod = (name: string): FlowEnd => {
    const p = m.nodes.flatMap((n) => n.pods).find((x) => x.name === name)!
    return {kind: 'pod', name, ip: p.ip, node: p.node}
  }
  const node = (i: number): FlowEnd => ({kind: 'node', name: m.nodes[i].name, ip: m.nodes[i].ip})
  const internet: FlowEnd = {kind: 'external', name: 'internet', ip: '203.0.113.10'}

  it('the union of the policies that select a pod; both ends must allow; unselected pods stay open', () => {
    expect(decide(m, {src: pod('web-1'), dst: pod('db'), protocol: 'TCP', port: 5432})).toMatchObject({allowed: true})
    const other = decide(m, {src: pod('web-1'), dst: pod('db'), protocol: 'TCP', port: 80})
    expect(other.allowed).toBe(false)
    expect(explain(other)).toBe('denied: db is isolated for ingress by db-from-web, db-from-nodes, and no rule of theirs allows this')
    // api is selected by nothing, db lets only web in
    expect(decide(m, {src: pod('api'), dst: pod('db'), protocol: 'TCP', port: 5432}).allowed).toBe(false)
    expect(decide(m, {src: pod('api'), dst: pod('web-1'), protocol: 'TCP'})).toEqual({allowed: true, checks: []})
    // web may only reach db and the internet's UDP 53: its egress decides, wherever db's ingress stands
    const webToApi = decide(m, {src: pod('web-0'), dst: pod('api'), protocol: 'TCP'})
    expect(webToApi.allowed).toBe(false)
    expect(webToApi.checks).toEqual([{direction: 'egress', pod: 'web-0', isolatedBy: ['web-out']}])
    expect(decide(m, {src: pod('web-0'), dst: internet, protocol: 'UDP', port: 53}).allowed).toBe(true)
    expect(decide(m, {src: pod('web-0'), dst: internet, protocol: 'TCP', port: 53}).allowed).toBe(false)
    expect(explain(decide(m, {src: pod('web-0'), dst: pod('db'), protocol: 'TCP', port: 5432}))).toBe(
      'allowed by web-out (egress rule 1) and db-from-web (ingress rule 1)',
    )
  })

  it("a pod and its own node are never filtered; another node is just an address (the one the receiver's node sees)", () => {
    // db is on node-0: node-0 → db always; node-1 → db only as ICMP from the nodes' network
    expect(decide(m, {src: node(0), dst: pod('db'), protocol: 'TCP', port: 80}).allowed).toBe(true)
    expect(decide(m, {src: node(1), dst: pod('db'), protocol: 'TCP', port: 80}).allowed).toBe(false)
    expect(decide(m, {src: node(1), dst: pod('db'), protocol: 'ICMP'}).allowed).toBe(true)
    // seen from another address (an overlay's), the ipBlock no longer matches
    expect(decide(m, {src: node(1), dst: pod('db'), protocol: 'ICMP', seenAs: '10.244.1.0'}).allowed).toBe(false)
    // web-1 (egress-isolated) reaches its own node, but not node-0
    expect(decide(m, {src: pod('web-1'), dst: node(1), protocol: 'ICMP'}).allowed).toBe(true)
    expect(decide(m, {src: pod('web-1'), dst: node(0), protocol: 'ICMP'}).allowed).toBe(false)
  })
})

describe("the plan's policy phase", () => {
  const threeTier = buildModel(loadTopologyFile(THREE_TIER))
  const plan = compilePlan(threeTier)
  const phase = plan.actions.filter((a) => a.phase === 'policies')

  it('labs without a policies: key get no policy phase (their plans are byte-identical: see golden-plan.test.ts)', () => {
    expect(compilePlan(buildModel(loadTopologyFile(THREE_NODE))).phases.map((p) => p.id)).not.toContain('policies')
  })

  it('is the last phase, and everything in it happens inside the nodes with pods', () => {
    expect(plan.phases.at(-1)!.id).toBe('policies')
    const nodes = new Set(threeTier.nodes.map((n) => n.netns))
    for (const a of phase) {
      expect(nodes.has(a.netns!), a.args.join(' ')).toBe(true)
      expect(a.undo).toEqual({kind: 'netns', netns: a.netns})
    }
  })

  it("db's ingress chain: a RETURN per allowed peer and port, each why naming its policy and rule, then REJECT", () => {
    const node2 = threeTier.nodes[2].netns
    const rules = phase.filter((a) => a.netns === node2 && a.tool === 'iptables' && a.args.includes('NETLAB-IN-db'))
    expect(rules.map((a) => a.args.join(' '))).toEqual([
      '-N NETLAB-IN-db',
      '-A NETLAB-IN-db -s 10.244.0.3 -p tcp --dport 5432 -m comment --comment db-from-api ingress rule 1 -j RETURN',
      '-A NETLAB-IN-db -s 10.244.1.3 -p tcp --dport 5432 -m comment --comment db-from-api ingress rule 1 -j RETURN',
      '-A NETLAB-IN-db -s 192.168.50.0/24 -p icmp -m comment --comment db-from-api ingress rule 2 -j RETURN',
      '-A NETLAB-IN-db -m comment --comment isolated by db-from-api -j REJECT --reject-with icmp-admin-prohibited',
      '-A NETLAB-POLICY -d 10.244.2.2 -j NETLAB-IN-db',
    ])
    expect(rules[1].why).toBe('policy db-from-api, ingress rule 1: pod api-0 may reach db on tcp/5432 (RETURN: on to the next check)')
    expect(rules[3].why).toMatch(/^policy db-from-api, ingress rule 2: addresses in 192\.168\.50\.0\/24 may reach db with ICMP/)
    // the text plan shows the command a person would type
    expect(renderText(plan)).toContain(
      `$ ip netns exec ${node2} iptables -A NETLAB-IN-db -s 10.244.0.3 -p tcp --dport 5432 -m comment --comment 'db-from-api ingress rule 1' -j RETURN`,
    )
  })

  it('each node: same-node traffic routed through it (ports isolated, proxy ARP at once, no redirects), REJECTs unthrottled, NETLAB-POLICY first in FORWARD', () => {
    const n0 = threeTier.nodes[0]
    const mine = phase.filter((a) => a.netns === n0.netns).map((a) => `${a.tool} ${a.args.join(' ')}`)
    expect(mine.slice(0, 9)).toEqual([
      'bridge link set dev veth-frontend-0 isolated on',
      'bridge link set dev veth-api-0 isolated on',
      'sysctl net.ipv4.conf.cni0.proxy_arp_pvlan=1',
      'sysctl net.ipv4.neigh.cni0.proxy_delay=0',
      'sysctl net.ipv4.conf.all.send_redirects=0',
      'sysctl net.ipv4.conf.cni0.send_redirects=0',
      'sysctl net.ipv4.icmp_ratemask=6160',
      `iptables -N ${POLICY_CHAIN}`,
      `iptables -I FORWARD 1 -j ${POLICY_CHAIN}`,
    ])
    expect(mine).toContain(`iptables -A ${POLICY_CHAIN} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`)
    // never the bridge-netfilter setting: the plan does not depend on br_netfilter
    expect(plan.actions.some((a) => a.args.some((x) => x.includes('bridge-nf-call')))).toBe(false)
    expect(plan.phases.at(-1)!.why).toContain('net.bridge.bridge-nf-call-iptables')
    // egress checks come before ingress checks in the dispatcher
    const jumps = mine.filter((x) => x.startsWith(`iptables -A ${POLICY_CHAIN} -`) && x.includes('-j NETLAB-'))
    expect(jumps).toEqual([
      `iptables -A ${POLICY_CHAIN} -s 10.244.0.2 -j NETLAB-OUT-frontend-0`,
      `iptables -A ${POLICY_CHAIN} -s 10.244.0.3 -j NETLAB-OUT-api-0`,
      `iptables -A ${POLICY_CHAIN} -d 10.244.0.3 -j NETLAB-IN-api-0`,
    ])
  })

  it("a node's firewall and policy rules make one iptables-restore input, chains before the rules that jump to them", () => {
    const n2 = threeTier.nodes[2].netns
    const input = restoreInput(plan.actions.filter((a) => a.netns === n2 && a.tool === 'iptables').map((a) => a.args))
    const lines = input.text.split('\n')
    expect(lines[0]).toBe('*filter')
    expect(lines.indexOf('-N NETLAB-IN-db')).toBeLessThan(lines.indexOf('-A NETLAB-POLICY -d 10.244.2.2 -j NETLAB-IN-db'))
    expect(lines).toContain('-A NETLAB-IN-db -s 10.244.0.3 -p tcp --dport 5432 -m comment --comment "db-from-api ingress rule 1" -j RETURN')
  })

  it('policies: [] wires the nodes and installs an empty dispatcher; every pod stays open', () => {
    const p = compilePlan(model(lab('policies: []')))
    const chains = p.actions.filter((a) => a.phase === 'policies' && a.args[0] === '-N').map((a) => a.args[1])
    expect(chains).toEqual([POLICY_CHAIN, POLICY_CHAIN])
    expect(p.phases.at(-1)!.why).toContain('This lab has no policies yet')
  })

  it("chain names fit iptables' 28 characters and stay apart for long pod names", () => {
    expect(podChain('ingress', 'db')).toBe('NETLAB-IN-db')
    expect(podChain('egress', 'a-pod-name-of-17c')).toBe('NETLAB-OUT-a-pod-name-of-17c')
    const long = ['a-very-long-pod-name-number-one', 'a-very-long-pod-name-number-two'].map((p) => podChain('egress', p))
    for (const c of long) expect(c.length).toBeLessThanOrEqual(28)
    expect(new Set(long).size).toBe(2)
    expect(long[0]).toMatch(/^NETLAB-OUT-a-very-l\.[0-9a-f]{8}$/)
  })

  it("in a lab big enough to write its neighbours, a pod reaches its node's other pods through its gateway, with or without policies", () => {
    const topo = `name: big
nodes:
${Array.from({length: 12}, (_, i) => `  - name: n${i}\n    pods: 4`).join('\n')}
policies: []`
    for (const t of [topo, topo.replace('policies: []', '')]) {
      const m = model(t)
      const p = compilePlan(m)
      const n0 = m.nodes[0]
      const [a] = n0.pods
      // the pod's one written neighbour is its gateway; no entry for any other pod
      const entries = p.actions.filter((x) => x.netns === a.netns && x.args[0] === 'neigh')
      expect(entries.map((x) => x.args)).toEqual([['neigh', 'add', n0.gateway, 'lladdr', n0.gatewayMac, 'dev', 'eth0', 'nud', 'permanent']])
      expect(p.actions.some((x) => x.netns === a.netns && x.args.join(' ') === `route add default via ${n0.gateway} dev eth0 onlink`)).toBe(
        true,
      )
      // the node sends no redirects, once (the neighbours phase or the policies phase)
      const redirects = p.actions.filter((x) => x.netns === n0.netns && x.args[0] === 'net.ipv4.conf.all.send_redirects=0')
      expect(redirects).toHaveLength(1)
    }
  })
})

describe('the plan of netlab policy apply', () => {
  const topo = (policies: string) => model(lab(policies))
  const before = topo('')
  const after = topo(`policies:
  - name: db-in
    podSelector: {app: db}
    ingress:
      - from: [{podSelector: {app: web}}]`)

  it("a lab built without policies is wired first (undone back to a fresh namespace's settings), and its pods forget their neighbours", () => {
    const p = compilePolicyApply(before, after)
    expect(p.phases.map((x) => x.id)).toEqual(['policy-wiring', 'policy-rules'])
    const n0 = before.nodes[0]
    const wiring = p.actions.filter((a) => a.phase === 'policy-wiring' && a.netns === n0.netns)
    expect(wiring.find((a) => a.tool === 'bridge')).toMatchObject({
      args: ['link', 'set', 'dev', 'veth-web-0', 'isolated', 'on'],
      undo: {
        kind: 'commands',
        commands: [{tool: 'bridge', netns: n0.netns, args: ['link', 'set', 'dev', 'veth-web-0', 'isolated', 'off']}],
      },
    })
    expect(wiring.find((a) => a.args[0].startsWith('net.ipv4.neigh.cni0.proxy_delay'))!.undo).toEqual({
      kind: 'commands',
      commands: [{tool: 'sysctl', netns: n0.netns, args: ['net.ipv4.neigh.cni0.proxy_delay=80']}],
    })
    expect(wiring.find((a) => a.args[0].startsWith('net.ipv4.icmp_ratemask'))!.undo).toEqual({
      kind: 'commands',
      commands: [{tool: 'sysctl', netns: n0.netns, args: ['net.ipv4.icmp_ratemask=6168']}],
    })
    const flush = p.actions.filter((a) => a.args[0] === 'neigh')
    expect(flush.map((a) => a.netns)).toEqual(before.nodes.flatMap((n) => n.pods.map((x) => x.netns)))
    expect(flush[0].args).toEqual(['neigh', 'flush', 'dev', 'eth0'])
    // every action is undone by commands: an apply never deletes a namespace
    for (const a of p.actions) expect(a.undo.kind).toBe('commands')
  })

  it("keeps kube-proxy's filter chains in a lab with Services: the new table is the node's whole filter table", () => {
    const text = readFileSync(join(ROOT_DIR, 'topologies/services.yaml'), 'utf8')
    const withPolicies = (p: string) => text.replace(/^services:/m, `policies:\n${p}services:`)
    const was = model(withPolicies(''), {file: 'services.yaml'})
    const now = model(withPolicies('  - name: deny-web\n    podSelector: {matchLabels: {app: web}}\n    policyTypes: [Ingress]\n'), {
      file: 'services.yaml',
    })
    const plan = compilePlan(now)
    const node = now.nodes[0]
    const kube = plan.actions
      .filter((a) => a.netns === node.netns && a.tool === 'iptables-restore')
      .flatMap((a) => (a.stdin ?? '').split('*nat')[0].split('\n'))
      .filter((l) => l.startsWith('-A ') && l.includes('KUBE-'))
    expect(kube.length).toBeGreaterThan(0)
    const table = filterTable(plan, node).split('\n')
    for (const l of kube) expect(table, l).toContain(l)
    const change = compilePolicyApply(was, now).actions.find((a) => a.phase === 'policy-rules' && a.netns === node.netns)!
    expect(change.stdin).toContain('-I FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD')
  })

  it('each node with pods: one iptables-restore of its whole filter table, undone by the old table', () => {
    const p = compilePolicyApply(before, after)
    const rules = p.actions.filter((a) => a.phase === 'policy-rules')
    expect(rules.map((a) => a.netns)).toEqual(before.nodes.map((n) => n.netns))
    const [n0] = rules
    expect(n0).toMatchObject({tool: 'iptables-restore', args: []})
    const lines = n0.stdin!.split('\n')
    expect(lines[0]).toBe('*filter')
    expect(lines).toContain(':FORWARD DROP [0:0]')
    expect(lines).toContain('-A NETLAB-IN-db -s 10.244.0.2 -m comment --comment "db-in ingress rule 1" -j RETURN')
    expect(lines[lines.indexOf('-N NETLAB-IN-db') - 1]).toMatch(/^# db's ingress chain: it is isolated for ingress by db-in/)
    expect(lines.at(-2)).toBe('COMMIT')
    // the nat table is left alone: masquerade is not the policies' business
    expect(n0.stdin).not.toContain('*nat')
    const undo = n0.undo.kind === 'commands' ? n0.undo.commands : []
    expect(undo).toHaveLength(1)
    expect(undo[0].stdin).toBe(filterTable(compilePlan(before), before.nodes[0]))
    expect(undo[0].stdin).not.toContain('NETLAB')
    // the text plan shows the input as a here-document
    expect(renderText(p)).toContain(`$ ip netns exec ${before.nodes[0].netns} iptables-restore <<'NETLAB_EOF'\n*filter\n`)
  })

  it('a lab wired already: only the rules change; removing every policy keeps the (empty) dispatcher', () => {
    const p = compilePolicyApply(after, topo('policies: []'))
    expect(p.phases.map((x) => x.id)).toEqual(['policy-rules'])
    expect(p.actions[0].stdin).toContain('-N NETLAB-POLICY')
    expect(p.actions[0].stdin).not.toContain('NETLAB-IN-db')
  })

  it('the iptables-restore driver: one program per table; a failure names its action; a test fault really fails', () => {
    const p = compilePolicyApply(after, before.policies ? before : modelWith(before, {policies: []}))
    const d = driver('iptables-restore')
    const prepared = d.prepare(p.actions, p.actions[0].netns, {fault: 1, netlink: true})
    expect(prepared.steps).toEqual([
      {kind: 'exec', argv: ['iptables-restore'], stdin: p.actions[0].stdin},
      {kind: 'exec', argv: ['iptables-restore'], stdin: expect.stringContaining('NETLAB-INJECTED-FAULT')},
    ])
    const out = d.interpret(prepared, {step: 1, exitCode: 1, stderr: 'iptables-restore: line 2 failed'})
    expect(out.failed).toBe(p.actions[1])
    expect(out.applied).toEqual([p.actions[0]])
  })
})

describe('policies in a mode whose pods are routed already (aws-vpc: no bridge)', () => {
  const topo = `name: vpc
cluster: {underlay: 192.168.50.0/24, routing: aws-vpc}
nodes:
  - name: node-0
    pods: [{name: web, labels: {app: web}}, {name: db, labels: {app: db}}]
policies:
  - name: db-in
    podSelector: {app: db}
    ingress:
      - from: [{podSelector: {app: web}}]`
  const m = model(topo)
  const plan = compilePlan(m)

  it("wires nothing (no port to isolate, no cni0), says why, and keys the chains on the pods' VPC addresses", () => {
    const phase = plan.actions.filter((a) => a.phase === 'policies')
    expect(phase.filter((a) => a.tool !== 'iptables').map((a) => `${a.tool} ${a.args.join(' ')}`)).toEqual([
      'sysctl net.ipv4.icmp_ratemask=6160',
    ])
    expect(plan.phases.at(-1)!.why).toContain('There is no bridge')
    const [web, db] = m.nodes[0].pods
    expect(phase.map((a) => a.args.join(' '))).toContain(`-A NETLAB-IN-db -s ${web.ip} -m comment --comment db-in ingress rule 1 -j RETURN`)
    expect(phase.map((a) => a.args.join(' '))).toContain(`-A NETLAB-POLICY -d ${db.ip} -j NETLAB-IN-db`)
  })

  it("policy apply on such a lab built without policies flushes no pod's neighbours", () => {
    const p = compilePolicyApply(model(topo.slice(0, topo.indexOf('policies:'))), m)
    expect(p.actions.some((a) => a.args[0] === 'neigh')).toBe(false)
    expect(p.actions.filter((a) => a.phase === 'policy-wiring').map((a) => a.args[0])).toEqual(['net.ipv4.icmp_ratemask=6160'])
  })
})
