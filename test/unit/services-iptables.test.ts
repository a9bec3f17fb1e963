// kube-proxy's iptables mode in a lab's plan (src/proxy/iptables.ts, src/compile/services-phase.ts):
// the actions it takes per node and per Service, how the iptables-restore driver runs them (one
// program per namespace, a failing line mapped back to its Service), and what the allowlists take.
import {describe, expect, it} from 'vitest'
import {compilePlan} from '../../src/compile/plan.js'
import {outcome, prepare} from '../../src/exec/batch.js'
import {schedule} from '../../src/exec/schedule.js'
import {driver} from '../../src/tools/index.js'
import {restoreConfined} from '../../src/tools/iptables.js'
import type {StepFailure} from '../../src/tools/types.js'
import {model} from '../helpers/model.js'

const LAB = (routing = 'host-gw', extra = '') => `
name: lab
cluster: {podCIDR: 10.244.0.0/16, underlay: 192.168.50.0/24, routing: ${routing}${extra}}
nodes:
  - name: node-0
    pods:
      - {name: web-0, labels: {app: web}, ports: [{name: http, port: 8080}]}
      - {name: client}
  - name: node-1
    pods:
      - {name: web-1, labels: {app: web}, ports: [{name: http, port: 8080}]}
services:
  - name: web
    selector: {app: web}
    ports: [{name: http, port: 80, targetPort: http}]
  - name: web-local
    type: NodePort
    externalTrafficPolicy: Local
    sessionAffinity: ClientIP
    selector: {app: web}
    ports: [{port: 8080, targetPort: 8080, nodePort: 30080}]
  - name: empty
    selector: {app: none}
    ports: [{port: 80}]
`

const plan = compilePlan(model(LAB()))
const phase = plan.actions.filter((a) => a.phase === 'services')
const inNode = (n: string) => phase.filter((a) => a.netns === `netlab-lab.${n}`)

describe('the iptables mode in the plan', () => {
  it('each node: the service range routed, hairpin on each pod port, the base chains, one action per Service, the last rule', () => {
    const node0 = inNode('node-0')
    expect(node0.map((a) => `${a.tool} ${a.args.join(' ')}`)).toEqual([
      'ip route add 10.96.0.0/12 dev eth0',
      'bridge link set dev veth-web-0 hairpin on',
      'bridge link set dev veth-client hairpin on',
      'sysctl net.ipv4.conf.all.send_redirects=0',
      'sysctl net.ipv4.conf.cni0.send_redirects=0',
      ...Array(5).fill('iptables-restore --noflush'),
    ])
    const restores = node0.filter((a) => a.tool === 'iptables-restore')
    expect(restores[0].stdin).toContain(':KUBE-MARK-MASQ - [0:0]\n')
    expect(restores[0].stdin).toContain('-I PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n')
    expect(restores[0].stdin).toContain('-j MASQUERADE --random-fully\n')
    expect(restores[1].why).toMatch(/^Service web \(8 rules\)/)
    expect(restores[1].stdin).toContain('--probability 0.5000000000')
    expect(restores[2].stdin).toContain('-m recent --name KUBE-SEP-')
    // node-0 has a local endpoint of web-local: its KUBE-SVL chain; the empty Service: a REJECT in filter
    expect(restores[2].stdin).toMatch(/^:KUBE-SVL-/m)
    expect(restores[3].stdin).toBe(
      '*filter\n-A KUBE-SERVICES -m comment --comment "default/empty has no endpoints" -m tcp -p tcp -d 10.96.0.12 --dport 80 -j REJECT\nCOMMIT\n',
    )
    expect(restores[4].stdin).toContain('-m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS')
  })

  it('pods of a services lab are routed by their node: no connected route on their subnet', () => {
    const pod = plan.actions.filter((a) => a.netns === 'netlab-lab.client' && a.tool === 'ip').map((a) => a.args.join(' '))
    expect(pod).toContain('addr add 10.244.0.3/24 dev eth0 noprefixroute')
    expect(pod).toContain('route add default via 10.244.0.1 dev eth0 onlink')
  })

  it('point-to-point pods (aws-vpc) get no hairpin mode; a lab without services has no services phase', () => {
    const vpc = compilePlan(model(LAB('aws-vpc').replace('podCIDR: 10.244.0.0/16, ', '')))
    const tools = vpc.actions.filter((a) => a.phase === 'services').map((a) => a.tool)
    expect(tools).not.toContain('bridge')
    expect(tools.filter((t) => t === 'iptables-restore')).toHaveLength(2 * 5)
    const plain = compilePlan(model(LAB().replace(/services:[\s\S]*$/, '')))
    expect(plain.phases.map((p) => p.id)).not.toContain('services')
  })

  it("with policies too: the pods' ports are not isolated (that would stop br_netfilter's DNAT to a same-bridge pod), and the policies phase says why", () => {
    const withPolicies = compilePlan(
      model(`${LAB()}policies:\n  - {name: web-in, podSelector: {app: web}, ingress: [{from: [{podSelector: {app: web}}]}]}\n`),
    )
    expect(withPolicies.actions.filter((a) => a.args.includes('isolated'))).toEqual([])
    expect(withPolicies.phases.find((p) => p.id === 'policies')!.why).toContain('routed by their node already')
    // a lab with policies and no Services still isolates them
    const policiesOnly = compilePlan(
      model(`${LAB().replace(/services:[\s\S]*$/, '')}policies:\n  - {name: web-in, podSelector: {app: web}, ingress: []}\n`),
    )
    expect(policiesOnly.actions.filter((a) => a.args.includes('isolated')).length).toBeGreaterThan(0)
  })

  it('every input is one the iptables-restore allowlist takes, as an undo read from disk would be checked', () => {
    for (const a of phase.filter((x) => x.tool === 'iptables-restore')) expect(driver('iptables-restore').confined!(a)).toBeUndefined()
  })
})

describe('the iptables-restore driver with --noflush inputs', () => {
  const restores = inNode('node-0').filter((a) => a.tool === 'iptables-restore')
  const batch = {netns: restores[0].netns, tool: 'iptables-restore', actions: restores}
  const fail = (stderr: string): StepFailure => ({step: 0, exitCode: 1, stderr})
  const stdin = (p: ReturnType<typeof prepare>) => (p.steps[0] as {stdin: string}).stdin
  const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1

  it("runs a namespace's consecutive inputs as one program, one section and one COMMIT per table, every chain declared before any rule", () => {
    const p = prepare(batch)
    expect(p.steps).toHaveLength(1)
    expect(p.steps[0]).toMatchObject({kind: 'exec', argv: ['iptables-restore', '--noflush']})
    const text = stdin(p)
    expect(text.match(/^\*\w+$/gm)).toEqual(['*filter', '*nat'])
    expect(text.match(/^COMMIT$/gm)).toHaveLength(2)
    // every line of every input is there once, in its table
    const lines = (t: string) => t.split('\n').filter((l) => l !== '' && l !== 'COMMIT' && !l.startsWith('*'))
    expect(lines(text).sort()).toEqual(restores.flatMap((a) => lines(a.stdin!)).sort())
    const nat = text.slice(text.indexOf('*nat'))
    expect(nat.search(/^-[AI] /m)).toBeGreaterThan(nat.lastIndexOf('\n:'))
    // the scheduler hands the driver the node's inputs as one batch
    const lane = schedule(plan)
      .flatMap((s) => s.lanes)
      .find((l) => l.netns === restores[0].netns && l.batches.some((b) => b.tool === 'iptables-restore'))!
    expect(lane.batches.find((b) => b.tool === 'iptables-restore')!.actions).toEqual(restores)
  })

  it('the line the program names is the input blamed; tables commit in order: inputs wholly in earlier ones are in, the rest never ran', () => {
    const p = prepare(batch)
    const text = stdin(p)
    // a nat rule of web-local (restores[2]): the filter table (the base chains, empty's REJECT) was committed
    const at = lineOf(text, '-A KUBE-NODEPORTS -m comment --comment default/web-local')
    const o = outcome(p, fail(`iptables-restore: line ${at} failed: No chain/target/match by that name.`))
    expect(o.failed).toBe(restores[2])
    expect(o.applied).toEqual([restores[3]]) // empty: filter only
    expect(o.unknown).toEqual([restores[0]]) // the base chains: filter committed, nat not
    expect(o.notRun).toEqual([restores[1], restores[4]])
    expect(o.error?.command).toContain('default/web-local')
  })

  it('a table refused at its COMMIT is blamed on the one input whose lines use the name the error quotes', () => {
    const p = prepare(batch)
    const text = stdin(p)
    const sep = /KUBE-SEP-\w+/.exec(restores[1].stdin!)![0]
    const commit = text.split('\n').lastIndexOf('COMMIT') + 1
    const o = outcome(p, fail(`iptables-restore v1.8.9 (nf_tables): Chain '${sep}' does not exist\nError occurred at line: ${commit}`))
    expect(o.failed).toBe(restores[1])
    // without a name to go by: no input is blamed, and none is said to be applied that was not
    const none = outcome(p, fail(`something else\nError occurred at line: ${commit}`))
    expect(none.failed).toBeUndefined()
    expect(none.applied).toEqual([restores[3]])
  })

  it('no line named: the inputs of that program are unknown (possibly applied), not guessed', () => {
    const o = outcome(prepare(batch), fail('iptables-restore: killed'))
    expect(o.unknown).toEqual(restores)
    expect(o.applied).toEqual([])
  })

  it('a test fault replaces one input by one that really fails, and is the one blamed', () => {
    const p = prepare(batch, {faultAt: restores[1].id})
    const text = stdin(p)
    const o = outcome(
      p,
      fail(`iptables-restore: line ${lineOf(text, 'NETLAB-INJECTED-FAULT')} failed: No chain/target/match by that name.`),
    )
    expect(o.failed).toBe(restores[1])
    expect(o.error?.command).toContain('fault injected')
    expect(o.applied).toEqual([])
  })

  it('whole-table inputs (policy apply, no options) still run one program each', () => {
    const whole = restores.slice(0, 2).map((a) => ({...a, args: []}))
    expect(prepare({...batch, actions: whole}).steps).toHaveLength(2)
  })
})

describe("the allowlist takes kube-proxy's rules and nothing more", () => {
  const rule = (line: string) => restoreConfined(`*nat\n${line}\nCOMMIT\n`)
  it.each([
    '-A KUBE-SEP-QA4PSDNF5R2OJOPA -m comment --comment default/web:http -m tcp -p tcp -j DNAT --to-destination 10.244.0.2:8080',
    '-A KUBE-SVC-CDGGSHYLG3RE2FKL -m comment --comment "default/web:http -> 10.244.1.2:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-UIQK3OSOSTRHRPBX',
    '-A KUBE-SVC-BJWR5DPVIKTHVKZU -m recent --name KUBE-SEP-RZAWPVP57M2FJHF3 --rcheck --seconds 10800 --reap -j KUBE-SEP-RZAWPVP57M2FJHF3',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN',
    '-A KUBE-SVC-CDGGSHYLG3RE2FKL -m tcp -p tcp -d 10.96.0.10 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ',
    '-I PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  ])('takes %s', (line) => expect(rule(line)).toBeUndefined())
  it.each([
    ['-A KUBE-SERVICES -j OTHER-CHAIN', /-j "OTHER-CHAIN"/],
    ['-A KUBE-SERVICES -j KUBE-SVC-short', /-j "KUBE-SVC-short"/],
    ['-A KUBE-SERVICES -m recent --name other --set', /--name "other"/],
    ['-A KUBE-SERVICES --modprobe /tmp/x -j DROP', /names a program/],
    ['-A KUBE-SERVICES --mod /tmp/x -j DROP', /names a program/],
    ['-A KUBE-SERVICES --modprobe=/tmp/x -j DROP', /names a program/],
    ['-A KUBE-SERVICES ! -p tcp -j DROP', /"!" is not an option/],
    ['-A KUBE-SERVICES -m nfacct --nfacct-name x -j DROP', /-m "nfacct"/],
  ])('refuses %s', (line, why) => expect(rule(line)).toMatch(why))
  it('iptables-restore takes --noflush and no other option', () => {
    const d = driver('iptables-restore')
    expect(d.confined!({tool: 'iptables-restore', netns: 'x', args: ['--noflush'], stdin: '*nat\nCOMMIT\n'})).toBeUndefined()
    expect(d.confined!({tool: 'iptables-restore', netns: 'x', args: ['-M', '/tmp/x'], stdin: ''})).toMatch(
      /takes no options here but --noflush/,
    )
  })
})
