// Network policies on real labs, in every routing mode: the probe passes with both kinds of
// expectation, and catches a violation both ways — a rule deleted by hand lets a denied pair
// through, a stray DROP blocks an allowed one — for pods on the same node and on different
// nodes, naming the deciding policy. Same-node enforcement does not depend on br_netfilter.
// `netlab policy apply` swaps a running lab's policies, rolls back on failure, and `down` still
// removes everything.
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {stringify} from 'yaml'
import {ROUTING_MODES, routingMode} from '../../src/modes/index.js'
import {CLUSTER, INTERNET} from '../helpers/constants.js'
import {exited, isRoot, labNetns, labSandbox, netlab, netlabSpawn, rootSnapshot, uniqueLab, writeTopology} from '../helpers/lab.js'
import {upInProcess} from '../helpers/in-process.js'

interface End {
  kind: string
  name: string
  ip: string
}
interface Violation {
  kind: 'denied-but-reachable' | 'allowed-but-blocked'
  src: End
  dst: End
  service: string
  policies: string[]
}
interface Report {
  passed: number
  failed: number
  ms: number
  checks: {id: string; results: {src: End; dst: End; ok: boolean; policy?: {verdict: string; service: string}}[]}[]
  policy?: {
    allowedReachable: number
    deniedBlocked: number
    violations: Violation[]
    deniedMs?: {count: number; median: number; max: number}
  }
}

const inNs = (ns: string, args: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...args], {encoding: 'utf8'})
const ipt = (ns: string, args: string[]) => inNs(ns, ['iptables', ...args])

const SERVERS_IN = `servers-in`
const POLICIES = [
  {
    name: SERVERS_IN,
    podSelector: {role: 'server'},
    ingress: [
      {from: [{podSelector: {role: 'client'}}], ports: [{protocol: 'TCP', port: 8080}, {protocol: 'UDP', port: 5353}, {protocol: 'ICMP'}]},
    ],
  },
  {name: 'client-out', podSelector: {role: 'client'}, policyTypes: ['Egress'], egress: [{to: [{podSelector: {role: 'server'}}]}]},
]

/** n0: client, server-0, other; n1: server-1. Servers take 8080/tcp, 5353/udp and ping from the client only; the client may reach servers only. */
function topology(lab: string, routing: string, policies: unknown[] | null = POLICIES): Record<string, unknown> {
  // a mode whose pods hold underlay addresses takes no pod range
  const {podCIDR, nodeSubnetSize, ...rest} = CLUSTER
  return {
    name: lab,
    cluster: {...(routingMode(routing).podsInUnderlay ? rest : {podCIDR, nodeSubnetSize, ...rest}), routing},
    nodes: [
      {
        name: 'n0',
        pods: [
          {name: 'client', labels: {role: 'client'}},
          {name: 'server-0', labels: {role: 'server'}},
          {name: 'other', labels: {role: 'other'}},
        ],
      },
      {name: 'n1', pods: [{name: 'server-1', labels: {role: 'server'}}]},
    ],
    external: [{...INTERNET}],
    ...(policies ? {policies} : {}),
  }
}

const REJECT = (pod: string) => [
  `NETLAB-IN-${pod}`,
  '-m',
  'comment',
  '--comment',
  `isolated by ${SERVERS_IN}`,
  '-j',
  'REJECT',
  '--reject-with',
  'icmp-admin-prohibited',
]

const pairs = (vs: Violation[]) => vs.map((v) => `${v.kind} ${v.src.name}>${v.dst.name} ${v.service} [${v.policies.join(',')}]`).sort()

/** `netlab probe LAB --json`: its exit code, report, and what it said on stderr. */
function probeWith(env: Record<string, string>, lab: string): {code: number; report: Report; stdout: string; stderr: string} {
  // what failed is this test's question, not why: trace's explanations are tested in trace.test.ts
  const r = netlab(['probe', lab, '--json', '--no-explain'], env)
  return {code: r.code, report: JSON.parse(r.stdout) as Report, stdout: r.stdout, stderr: r.stderr}
}

/** The filter tables of a lab's nodes, without comments and counters. */
const filterTables = (lab: string) =>
  ['n0', 'n1']
    .map((n) =>
      inNs(`netlab-${lab}.${n}`, ['iptables-save', '-t', 'filter'])
        .replace(/^#.*\n/gm, '')
        .replace(/\[\d+:\d+\]/g, ''),
    )
    .join('\n')

describe.skipIf(!isRoot)('policies, enforced and proven both ways, in every routing mode', () => {
  const {stateDir, env, track} = labSandbox()
  const probe = (lab: string) => probeWith(env, lab)

  for (const mode of ROUTING_MODES) {
    it(`${mode}: allowed pairs reachable, denied ones blocked at once; a deleted rule and a stray DROP are caught, same node and across nodes`, () => {
      const lab = track(uniqueLab(`pol-${mode}`))
      const up = netlab(['up', writeTopology(stateDir, topology(lab, mode)), '-q'], env)
      expect(up.code, up.stderr).toBe(0)
      const ns = (m: string) => `netlab-${lab}.${m}`
      const status = JSON.parse(netlab(['status', lab, '--json'], env).stdout) as {nodes: {pods: {name: string; ip: string}[]}[]}
      const ip = Object.fromEntries(status.nodes.flatMap((n) => n.pods.map((p) => [p.name, p.ip])))

      // healthy: everything as the policies say
      const ok = probe(lab)
      expect(ok.code, JSON.stringify(ok.report.policy?.violations)).toBe(0)
      expect(ok.report.failed).toBe(0)
      const s = ok.report.policy!
      expect(s.violations).toEqual([])
      expect(s.allowedReachable).toBeGreaterThan(20)
      expect(s.deniedBlocked).toBeGreaterThan(20)
      // denied TCP and UDP flows are refused at once (REJECT), not left to time out
      expect(s.deniedMs!.median).toBeLessThan(100)
      expect(s.deniedMs!.max).toBeLessThan(1000)
      const ports = ok.report.checks.find((c) => c.id === 'policy-ports')!.results
      const result = (src: string, dst: string, service: string) =>
        ports.find((r) => r.src.name === src && r.dst.name === dst && r.policy?.service === service)!
      for (const [src, dst] of [
        ['client', 'server-0'],
        ['client', 'server-1'],
      ]) {
        expect(result(src, dst, 'tcp/8080')).toMatchObject({ok: true, policy: {verdict: 'allowed'}})
        expect(result(src, dst, 'udp/5353')).toMatchObject({ok: true, policy: {verdict: 'allowed'}})
      }
      for (const [src, dst] of [
        ['other', 'server-0'],
        ['other', 'server-1'],
        ['server-0', 'server-1'],
      ])
        expect(result(src, dst, 'tcp/8080')).toMatchObject({ok: true, policy: {verdict: 'denied'}})

      // a rule deleted by hand: the REJECT closing each server's ingress chain
      ipt(ns('n0'), ['-D', ...REJECT('server-0')])
      ipt(ns('n1'), ['-D', ...REJECT('server-1')])
      const leak = probe(lab)
      expect(leak.code).toBe(1)
      const leaks = pairs(leak.report.policy!.violations)
      expect(leak.report.policy!.violations.every((v) => v.kind === 'denied-but-reachable' && v.policies.includes(SERVERS_IN))).toBe(true)
      // same node (other → server-0) and across nodes (other → server-1, server-0 → server-1), on every service
      for (const pair of ['other>server-0', 'other>server-1', 'server-0>server-1']) {
        for (const service of ['ping', 'tcp/8080', 'udp/5353'])
          expect(leaks).toContain(`denied-but-reachable ${pair} ${service} [${SERVERS_IN}]`)
      }
      const text = netlab(['probe', lab, '--only', 'policy'], env)
      expect(text.code).toBe(1)
      expect(text.stdout).toContain(
        `✗ denied but reachable: other (${ip.other}) → server-0 (${ip['server-0']}) tcp/8080 — server-0 is isolated for ingress by ${SERVERS_IN}, and no rule of it allows this; it answered`,
      )
      ipt(ns('n0'), ['-A', ...REJECT('server-0')])
      ipt(ns('n1'), ['-A', ...REJECT('server-1')])
      expect(probe(lab).code).toBe(0)

      // a stray DROP on each server's node, for a pair the policies allow
      const drop = (dst: string) => ['FORWARD', '-s', ip.client, '-d', ip[dst], '-p', 'tcp', '--dport', '8080', '-j', 'DROP']
      ipt(ns('n0'), ['-I', ...drop('server-0')])
      ipt(ns('n1'), ['-I', ...drop('server-1')])
      const cut = probe(lab)
      expect(cut.code).toBe(1)
      expect(pairs(cut.report.policy!.violations)).toEqual([
        `allowed-but-blocked client>server-0 tcp/8080 [client-out,${SERVERS_IN}]`,
        `allowed-but-blocked client>server-1 tcp/8080 [client-out,${SERVERS_IN}]`,
      ])
      expect(cut.report.failed).toBe(2)
      ipt(ns('n0'), ['-D', ...drop('server-0')])
      ipt(ns('n1'), ['-D', ...drop('server-1')])
      expect(netlab(['down', lab], env).code).toBe(0)
      expect(labNetns(lab)).toEqual([])
    }, 180_000)
  }

  it("a fault injected in the policies phase of up (first and last step of each tool's batch) is rolled back completely", async () => {
    const before = rootSnapshot()
    const lab = track(uniqueLab('pol-fault'))
    const file = writeTopology(stateDir, topology(lab, 'host-gw'))
    const plan = JSON.parse(netlab(['plan', file, '--format', 'json']).stdout) as {
      actions: {id: number; phase: string; tool: string; netns: string}[]
    }
    const phase = plan.actions.filter((a) => a.phase === 'policies')
    // batch boundaries: where the tool or the namespace changes, on both sides
    const steps = phase.filter(
      (a, i) =>
        i === 0 ||
        i === phase.length - 1 ||
        a.tool !== phase[i - 1].tool ||
        a.netns !== phase[i - 1].netns ||
        a.tool !== phase[i + 1].tool ||
        a.netns !== phase[i + 1].netns,
    )
    expect(new Set(steps.map((a) => a.tool))).toEqual(new Set(['bridge', 'sysctl', 'iptables']))
    // `up` in this process, NETLAB_TEST_FAULT_AT read as the CLI reads it (reliability.test.ts runs it through the CLI too)
    for (const action of steps) {
      const r = await upInProcess(file, {...env, NETLAB_TEST_FAULT_AT: String(action.id)})
      expect(r.code, `fault at step ${action.id}: ${r.stderr}`).toBe(1)
      expect(r.stderr).toContain(`step ${action.id + 1}/${plan.actions.length} (policies:`)
      expect(labNetns(lab)).toEqual([])
    }
    expect(rootSnapshot()).toBe(before)
  }, 300_000)

  it('same-node enforcement needs no br_netfilter: with bridge-nf-call-iptables=0 in the node it holds; without the port isolation it would not', () => {
    const before = rootSnapshot()
    const lab = track(uniqueLab('pol-brnf'))
    expect(netlab(['up', writeTopology(stateDir, topology(lab, 'host-gw')), '-q'], env).code).toBe(0)
    const n0 = `netlab-${lab}.n0`
    const setting = '/proc/sys/net/bridge/bridge-nf-call-iptables'
    // bridged frames no longer reach iptables in this node (what a host without br_netfilter does)
    const hasBrnf = inNs(n0, ['sh', '-c', `test -e ${setting} && echo yes || echo no`]).trim() === 'yes'
    if (hasBrnf) inNs(n0, ['sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=0'])
    const ok = probe(lab)
    expect(ok.code, JSON.stringify(ok.report.policy?.violations)).toBe(0)
    // the control: un-isolate the pods' ports and flush their neighbours, and other → server-0 bypasses the node
    for (const pod of ['client', 'server-0', 'other']) {
      execFileSync('bridge', ['-n', n0, 'link', 'set', 'dev', `veth-${pod}`, 'isolated', 'off'])
      execFileSync('ip', ['-n', `netlab-${lab}.${pod}`, 'neigh', 'flush', 'dev', 'eth0'])
    }
    inNs(n0, ['sysctl', '-qw', 'net.ipv4.conf.cni0.proxy_arp_pvlan=0'])
    const bypass = probe(lab)
    expect(bypass.code).toBe(1)
    const leaks = bypass.report.policy!.violations
    expect(leaks.map((v) => `${v.src.name}>${v.dst.name}`)).toContain('other>server-0')
    // only what the bridge now carries past the node: denied pairs of n0's own pods
    const onN0 = ['client', 'server-0', 'other']
    for (const v of leaks)
      expect(
        v.kind === 'denied-but-reachable' && onN0.includes(v.src.name) && onN0.includes(v.dst.name),
        `${v.src.name}>${v.dst.name}`,
      ).toBe(true)
    expect(netlab(['down', lab], env).code).toBe(0)
    expect(rootSnapshot()).toBe(before)
  }, 120_000)

  it('netlab policy apply: wires a lab built without policies, swaps rules atomically per node, rolls back a failure, and down still removes everything', () => {
    const before = rootSnapshot()
    const lab = track(uniqueLab('pol-apply'))
    expect(netlab(['up', writeTopology(stateDir, topology(lab, 'host-gw', null)), '-q'], env).code).toBe(0)
    const tables = () => filterTables(lab)
    const file = join(stateDir, `${lab}-policies.yaml`)
    writeFileSync(file, stringify({policies: POLICIES}))

    // a bad file: exit 2, file:line:column for every problem (two in one rule; issue 22, 16), nothing touched
    const badFile = join(stateDir, `${lab}-bad.yaml`)
    writeFileSync(badFile, 'policies:\n  - name: x\n    podSelector: {}\n    ingress:\n      - ports: [{protocol: DCCP}, {port: 0}]\n')
    const untouched = tables()
    const bad = netlab(['policy', 'apply', lab, badFile], env)
    expect(bad.code).toBe(2)
    expect(bad.stderr.trim().split('\n')).toEqual([
      `${badFile}:5:28: policy x: ingress[0].ports[0].protocol: "DCCP" is not supported: TCP, UDP, SCTP or ICMP`,
      `${badFile}:5:42: policy x: ingress[0].ports[1].port must be a port number from 1 to 65535, or a pod port's name`,
    ])
    // two blocks that are no networks, in two policies (found against the lab, after the syntax): both, with --json too
    const blocks = join(stateDir, `${lab}-blocks.yaml`)
    const block = (name: string) => `  - name: ${name}\n    podSelector: {}\n    ingress: [{from: [{ipBlock: 10.0.0.1/8}]}]\n`
    writeFileSync(blocks, `policies:\n${block('a')}${block('b')}`)
    const twice = netlab(['policy', 'apply', lab, blocks, '--json'], env)
    expect(twice.code).toBe(2)
    expect(JSON.parse(twice.stdout).error.problems.map((p: {line: number; message: string}) => `${p.line}: ${p.message}`)).toEqual([
      '4: policy a: ingress[0].from[0].ipBlock: "10.0.0.1/8" has host bits set; did you mean 10.0.0.0/8?',
      '7: policy b: ingress[0].from[0].ipBlock: "10.0.0.1/8" has host bits set; did you mean 10.0.0.0/8?',
    ])
    expect(tables()).toBe(untouched)

    // a failure at the last step (n1's table): n0's table comes back, the lab keeps no policies
    const steps = JSON.parse(netlab(['policy', 'apply', lab, file, '--dry-run', '--json'], env).stdout).actions.length as number
    const failed = netlab(['policy', 'apply', lab, file], {...env, NETLAB_TEST_FAULT_AT: String(steps - 1)})
    expect(failed.code, failed.stderr).toBe(1)
    expect(failed.stderr).toContain(`policy apply failed at step ${steps}/${steps}`)
    expect(failed.stderr).toContain(`lab ${lab} keeps its old policies`)
    expect(tables()).toBe(untouched)

    // for real: the same-node and cross-node expectations hold at once, without a rebuild
    const applied = netlab(['policy', 'apply', lab, file], env)
    expect(applied.code, applied.stderr).toBe(0)
    expect(applied.stdout).toContain('2 policies in force on 2 nodes (its nodes now route same-node pod traffic through themselves)')
    const after = probe(lab)
    expect(after.code, JSON.stringify(after.report.policy?.violations)).toBe(0)
    expect(after.report.policy!.deniedBlocked).toBeGreaterThan(20)

    // loosen: no policies at all (the nodes stay wired, every pod open); warnings for a selector that matches nothing
    writeFileSync(file, stringify({policies: [{name: 'nobody', podSelector: {role: 'ghost'}}]}))
    const loose = netlab(['policy', 'apply', lab, file], env)
    expect(loose.code).toBe(0)
    expect(loose.stderr).toMatch(
      new RegExp(`^${file.replace(/[.]/g, '\\.')}:4:7: warning: policy nobody: podSelector \\{role: ghost\\} matches no pod`, 'm'),
    )
    const open = probe(lab)
    expect(open.code).toBe(0)
    expect(open.report.policy!.deniedBlocked).toBe(0)

    expect(netlab(['down', lab], env).code).toBe(0)
    expect(labNetns(lab)).toEqual([])
    expect(rootSnapshot()).toBe(before)
  }, 180_000)
})

describe.skipIf(!isRoot)('a policy apply that is killed, or meets an injected fault', () => {
  const {stateDir, env, track} = labSandbox()
  const probe = (lab: string) => probeWith(env, lab)
  const lab = track(uniqueLab('pol-kill'))
  const policyFile = (name: string, policies: unknown[]) => {
    const file = join(stateDir, `${lab}-${name}.yaml`)
    writeFileSync(file, stringify({policies}))
    return file
  }
  const pending = () =>
    (JSON.parse(netlab(['status', lab, '--json'], env).stdout) as {policyApply?: {next?: string; damaged?: string}}).policyApply
  const killedAfterCommit = (file: string) => netlab(['policy', 'apply', lab, file], {...env, NETLAB_TEST_KILL_AFTER_COMMIT: '1'})

  it('SIGKILL just after the kernel commit: status says so, and the next command completes it (all nodes done) or rolls it back (journal short of done)', () => {
    expect(netlab(['up', writeTopology(stateDir, topology(lab, 'host-gw', null)), '-q'], env).code).toBe(0)
    const tight = policyFile('tight', POLICIES)
    const bare = filterTables(lab)

    // every node has the new rules, the lab's state the old policies: the write-ahead record says where it was going
    expect(killedAfterCommit(tight).code).toBe(-1) // killed by the signal
    expect(filterTables(lab)).not.toBe(bare)
    expect(pending()?.next).toBe('complete')
    expect(netlab(['status', lab], env).stdout).toContain('policy apply: interrupted after every node had its new rules')
    const completed = probe(lab)
    expect(completed.stderr).toContain('completed (lab')
    expect(completed.code, JSON.stringify(completed.report.policy?.violations)).toBe(0)
    expect(completed.report.policy!.deniedBlocked).toBeGreaterThan(20) // judged by the new policies: they are the lab's now
    expect(pending()).toBeUndefined()
    expect(existsSync(join(stateDir, lab, 'policy-plan.json'))).toBe(false)

    // killed between the commit and its journal entry: what ran is unknown, so it is undone
    const tightTables = filterTables(lab)
    expect(killedAfterCommit(policyFile('open', [])).code).toBe(-1)
    const journal = join(stateDir, lab, 'policy-journal.jsonl')
    const lines = readFileSync(journal, 'utf8').trimEnd().split('\n')
    expect(JSON.parse(lines.at(-1)!).t).toBe('done')
    writeFileSync(journal, lines.slice(0, -1).join('\n') + '\n')
    expect(pending()?.next).toBe('roll back')
    expect(netlab(['status', lab], env).stdout).toContain('rolls it back')
    const rolledBack = probe(lab)
    expect(rolledBack.stderr).toContain('rolled back')
    expect(rolledBack.code, JSON.stringify(rolledBack.report.policy?.violations)).toBe(0)
    expect(rolledBack.report.policy!.deniedBlocked).toBeGreaterThan(20) // the old (tight) policies, in state and kernel
    expect(filterTables(lab)).toBe(tightTables)
  }, 120_000)

  it("a killed apply's record is checked, not trusted: one of another lab is refused (status says so, nothing run); only its policies become the lab's", () => {
    const file = join(stateDir, lab, 'policy-plan.json')
    const saved = () =>
      JSON.parse(readFileSync(join(stateDir, lab, 'state.json'), 'utf8')).model as {nodes: unknown[]; policies?: unknown[]}
    const nodes = saved().nodes
    expect(killedAfterCommit(policyFile('none', [])).code).toBe(-1)
    const record = JSON.parse(readFileSync(file, 'utf8'))

    writeFileSync(file, JSON.stringify({...record, lab: 'other'}))
    expect(pending()?.damaged).toBe('damaged: it is for lab "other", not ' + lab)
    expect(netlab(['status', lab], env).stdout).toContain('its record is refused')
    const refused = netlab(['fix', lab], env)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(`${file}: refused, nothing was run: damaged: it is for lab "other"`)
    expect(existsSync(file)).toBe(true)

    // an intent that would move the lab's nodes elsewhere: completed with its policies only
    record.intent.nodes[0].netns = 'victim'
    record.intent.podCIDR = '10.99.0.0/16'
    writeFileSync(file, JSON.stringify(record))
    expect(pending()?.next).toBe('complete')
    const completed = netlab(['fix', lab], env)
    expect(completed.code, completed.stderr).toBe(0)
    expect(completed.stderr).toContain('completed (lab')
    expect(saved().nodes).toEqual(nodes)
    expect(saved().policies).toEqual([])
    expect(existsSync(file)).toBe(false)
  }, 120_000)

  it('SIGKILL at moments through a policy apply leaves no scratch directory once the next command has run', async () => {
    const files = [policyFile('a', []), policyFile('b', POLICIES)]
    const scratch = () => readdirSync(join(stateDir, lab)).filter((f) => f.startsWith('nsexec-'))
    for (let i = 0; i < 8; i++) {
      const child = netlabSpawn(['policy', 'apply', lab, files[i % 2]], env)
      const done = exited(child)
      await sleep(250 + 90 * i)
      child.kill('SIGKILL')
      await done
    }
    const left = scratch().length
    console.log(`policy apply killed 8 times: ${left} scratch director${left === 1 ? 'y' : 'ies'} left`)
    // what a killed run leaves: at least one, made here if the kills above were all too early or too late
    if (left === 0) mkdirSync(join(stateDir, lab, 'nsexec-AbC123'))
    const r = probe(lab)
    expect(scratch()).toEqual([])
    expect(pending()).toBeUndefined()
    expect(r.code, JSON.stringify(r.report.policy?.violations)).toBe(0)
  }, 120_000)

  it('a policy apply over an injected drop says it takes the fault out, and fix then finds nothing to fix', () => {
    const same = policyFile('same', POLICIES)
    expect(netlab(['policy', 'apply', lab, same], env).code).toBe(0)
    expect(netlab(['break', lab, 'drop', '--seed', '3'], env).code).toBe(0)
    expect(probe(lab).code).toBe(1) // the fault is there
    const applied = netlab(['policy', 'apply', lab, same], env)
    expect(applied.code, applied.stderr).toBe(0)
    expect(applied.stderr).toContain('hold the fault "netlab break" injected (drop): it takes the fault out')
    expect(probe(lab).code).toBe(0) // gone from the kernel
    const fixed = netlab(['fix', lab], env)
    expect(fixed.code).toBe(0)
    expect(fixed.stdout).toContain('is no longer in its kernel')
    expect(fixed.stdout).toContain('nothing to fix')
    expect(fixed.stdout).not.toContain('Fixed')

    // a fault in a table the apply does not replace stays, and fix still takes it out
    expect(netlab(['break', lab, 'masquerade', '--seed', '3'], env).code).toBe(0)
    const kept = netlab(['policy', 'apply', lab, same], env)
    expect(kept.stderr).toContain('(masquerade, in')
    expect(kept.stderr).toContain('that this apply does not touch')
    const fixedNat = netlab(['fix', lab], env)
    expect(fixedNat.stdout).toContain('Fixed')
    expect(probe(lab).code).toBe(0)
  }, 120_000)
})
