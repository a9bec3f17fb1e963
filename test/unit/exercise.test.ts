// netlab break's faults, pure: which kinds each routing mode can take, each fault a one-action
// plan whose undo restores exactly what the lab's own plan set, and --seed picks the same one.
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {applicableKinds, candidates, FAULT_KINDS, faultRecordProblem, pickFault, seeded} from '../../src/exercise/faults.js'
import {FAULTS} from '../../src/exercise/faults/index.js'
import {buildModel} from '../../src/compile/model.js'
import {compilePlan} from '../../src/compile/plan.js'
import {loadTopologyFile, parseTopology} from '../../src/topology/parse.js'

const lab = (name: string) => {
  const model = buildModel(loadTopologyFile(fileURLToPath(new URL(`../../topologies/${name}.yaml`, import.meta.url))))
  return {model, plan: compilePlan(model)}
}
const SERVICES = fileURLToPath(new URL('../../topologies/services.yaml', import.meta.url))
const LABS = ['three-node', 'three-node-routes', 'three-node-vxlan', 'aws-vpc', 'gke-vpc-native'].map((n) => [n, lab(n)] as const)

describe('netlab break: the faults', () => {
  it('every mode takes route, forwarding, masquerade and drop; only vxlan labs take mtu and fdb', () => {
    for (const [name, {model, plan}] of LABS) {
      const kinds = applicableKinds(model, plan)
      expect(kinds, name).toEqual(['route', 'forwarding', 'masquerade', 'drop', ...(name.includes('vxlan') ? ['mtu', 'fdb'] : [])])
    }
  })

  it('each fault is one action whose undo puts back what the plan set', () => {
    for (const [name, {model, plan}] of LABS) {
      for (const kind of applicableKinds(model, plan)) {
        for (const f of candidates(model, plan, kind)) {
          expect(f.plan.actions, `${name} ${kind}`).toHaveLength(1)
          const [a] = f.plan.actions
          expect(a.undo.kind).toBe('commands')
          if (a.undo.kind !== 'commands') continue
          const [undo] = a.undo.commands
          expect(undo.netns).toBe(a.netns)
          expect(model.members.find((m) => m.netns === a.netns)?.name).toBe(f.where)
          // a deleted route, a forwarding switch or an fdb entry comes back as the plan wrote it
          if (kind === 'route' || kind === 'forwarding' || kind === 'fdb')
            expect(
              plan.actions.some((p) => p.netns === undo.netns && p.tool === undo.tool && p.args.join(' ') === undo.args.join(' ')),
              `${name} ${kind}`,
            ).toBe(true)
        }
      }
    }
  })

  it('the faults are what they say', () => {
    const {model, plan} = LABS[2][1]
    expect(candidates(model, plan, 'route')[0].plan.actions[0].args.slice(0, 3)).toEqual(['route', 'del', '10.244.9.0/24'])
    expect(candidates(model, plan, 'forwarding').map((f) => f.where)).toEqual(['node-0', 'node-1', 'node-2'])
    expect(candidates(model, plan, 'mtu')[0].plan.actions[0].args).toEqual(['link', 'set', 'dev', 'eth0', 'mtu', '1400'])
    expect(candidates(model, plan, 'fdb')[0].plan.actions[0].args).toEqual([
      'fdb',
      'del',
      '0a:58:0a:f4:09:00',
      'dev',
      'flannel.1',
      'dst',
      '192.168.50.21',
    ])
    const drop = candidates(model, plan, 'drop')[0].plan.actions[0]
    expect(drop.args).toEqual(['-I', 'FORWARD', '1', '-d', '10.244.0.2/32', '-j', 'DROP'])
    expect(drop.undo).toEqual({
      kind: 'commands',
      commands: [{tool: 'iptables', netns: drop.netns, args: ['-D', 'FORWARD', '-d', '10.244.0.2/32', '-j', 'DROP']}],
    })
    // routes mode: the VPC router routes the pods, so it is where a route goes missing
    const routes = LABS[1][1]
    expect(new Set(candidates(routes.model, routes.plan, 'route').map((f) => f.where))).toEqual(new Set(['vpc-router']))
  })

  it('the same seed picks the same fault; a kind the lab cannot take is none', () => {
    const {model, plan} = LABS[2][1]
    const picks = (seed: number) => pickFault(model, plan, undefined, seeded(seed))!.what
    expect(picks(7)).toBe(picks(7))
    expect(new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(picks)).size).toBeGreaterThan(2)
    // a random pick is one probe can see: never the MTU, which only trace finds
    const kinds = new Set(Array.from({length: 200}, (_, i) => pickFault(model, plan, undefined, seeded(i))!.kind))
    expect([...kinds].sort()).toEqual(['drop', 'fdb', 'forwarding', 'masquerade', 'route'])
    const hg = LABS[0][1]
    expect(pickFault(hg.model, hg.plan, 'fdb', seeded(1))).toBeUndefined()
  })
})

describe("fix's fault.json: checked against the lab's model, not trusted", () => {
  const {model, plan} = LABS[2][1] // three-node-vxlan: every kind
  const dir = `/run/netlab/${model.lab}`
  /** a record as break writes it (JSON, read back), then changed by `edit` */
  const record = (edit: (r: {lab: string; seed: number; fault: ReturnType<typeof candidates>[number]}) => void = () => {}) => {
    const r = JSON.parse(JSON.stringify({lab: model.lab, seed: 3, fault: pickFault(model, plan, 'drop', seeded(3))}))
    edit(r)
    return r as unknown
  }
  const problem = (r: unknown) => faultRecordProblem(r, model, plan, dir)

  it('a fault break makes, of every kind the lab takes, is accepted', () => {
    expect(problem(record())).toBeUndefined()
    for (const kind of applicableKinds(model, plan))
      for (const fault of candidates(model, plan, kind))
        expect(problem(JSON.parse(JSON.stringify({lab: model.lab, seed: 1, fault}))), kind).toBeUndefined()
  })

  it('a record of another shape is damaged, never a TypeError', () => {
    for (const r of [{}, null, [], 'x', {lab: model.lab}, {lab: model.lab, fault: {kind: 'drop'}}, {lab: model.lab, fault: {kind: 'nope'}}])
      expect(problem(r), JSON.stringify(r)).toMatch(/^damaged: /)
    expect(problem(record((r) => (r.lab = 'other')))).toBe(`damaged: it is for lab "other", not ${model.lab}`)
  })

  it("a fault netlab's model does not make is refused: another namespace, other arguments, an extra undo", () => {
    const otherNs = problem(record((r) => (r.fault.plan.actions[0].netns = 'netlab-other.node-0')))
    expect(otherNs).toMatch(/^it is not a drop fault netlab makes for lab three-node-vxlan/)
    // the rule that fix checks with iptables -C, changed: nothing else in the record is wrong
    expect(problem(record((r) => r.fault.plan.actions[0].args.push('-m', 'comment')))).toMatch(/^it is not a drop fault/)
    const extra = problem(
      record((r) => {
        const [a] = r.fault.plan.actions
        if (a.undo.kind === 'commands') a.undo.commands.push({tool: 'ip', netns: null, args: ['netns', 'del', 'victim']})
      }),
    )
    expect(extra).toContain('deletes namespace victim, which is not named for lab three-node-vxlan')
    // its words too: what fix prints comes from the model, not the file
    expect(problem(record((r) => (r.fault.where = 'node-9')))).toMatch(/^it is not a drop fault/)
  })
})

describe('the fault registry', () => {
  it('has one module per kind, each under its own kind, with a line of text', () => {
    expect(Object.keys(FAULTS)).toEqual([...FAULT_KINDS])
    for (const k of FAULT_KINDS) {
      expect(FAULTS[k].kind).toBe(k)
      expect(FAULTS[k].text).toMatch(/^\S.*\S$/)
    }
  })
})

describe('netlab break: the Service faults', () => {
  const {model, plan} = lab('services')
  const rulesOf = (netns: string) =>
    plan.actions.filter((a) => a.netns === netns && a.tool === 'iptables-restore').flatMap((a) => (a.stdin ?? '').split('\n'))

  it('a services lab (iptables mode) takes every Service fault; its nftables twin only hairpin', () => {
    expect(applicableKinds(model, plan)).toEqual(expect.arrayContaining(['kube-proxy', 'stale-endpoint', 'node-port', 'hairpin']))
    const nft = buildModel(parseTopology(readFileSync(SERVICES, 'utf8').replace('proxy: iptables', 'proxy: nftables'), SERVICES))
    const kinds = applicableKinds(nft, compilePlan(nft))
    expect(kinds).toContain('hairpin')
    expect(kinds).not.toContain('kube-proxy')
  })

  it('kube-proxy: the jump into KUBE-SERVICES, put back first in nat PREROUTING', () => {
    const [f] = candidates(model, plan, 'kube-proxy')
    const [a] = f.plan.actions
    expect(a.args).toEqual([
      '-t',
      'nat',
      '-D',
      'PREROUTING',
      '-m',
      'comment',
      '--comment',
      'kubernetes service portals',
      '-j',
      'KUBE-SERVICES',
    ])
    expect(a.undo).toMatchObject({commands: [{args: ['-t', 'nat', '-I', 'PREROUTING', '1', ...a.args.slice(4)]}]})
    // the jump is a line the plan wrote
    expect(rulesOf(a.netns!)).toContain('-I PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')
  })

  it('node-port: a KUBE-NODEPORTS rule the plan wrote, put back where it was', () => {
    const all = candidates(model, plan, 'node-port')
    // web-sticky and api's two ports, on nodes where the rule exists (api is Local: every node still has its rule)
    expect(all.length).toBeGreaterThan(0)
    for (const f of all) {
      const [a] = f.plan.actions
      const spec = a.args.slice(4)
      const line = rulesOf(a.netns!).find((l) => l.startsWith('-A KUBE-NODEPORTS') && spec.every((w) => l.includes(w)))
      expect(line, f.what).toBeDefined()
      expect(a.undo).toMatchObject({commands: [{args: ['-t', 'nat', '-I', 'KUBE-NODEPORTS', expect.stringMatching(/^\d+$/), ...spec]}]})
    }
  })

  it('stale-endpoint: a DNAT to an address no member holds, first in an endpoint chain, deleted by its undo', () => {
    const held = new Set(model.members.flatMap((m) => m.ips))
    const all = candidates(model, plan, 'stale-endpoint')
    expect(all.length).toBeGreaterThan(0)
    for (const f of all) {
      const [a] = f.plan.actions
      expect(a.args.slice(0, 5)).toEqual(['-t', 'nat', '-I', expect.stringMatching(/^KUBE-SEP-[A-Z2-7]{16}$/), '1'])
      const to = a.args.at(-1)!
      expect(held.has(to.split(':')[0]), to).toBe(false)
      expect(a.undo).toMatchObject({commands: [{args: ['-t', 'nat', '-D', a.args[3], ...a.args.slice(5)]}]})
    }
  })

  it('hairpin: only endpoint pods, switched back on by the action the plan wrote', () => {
    const where = candidates(model, plan, 'hairpin').map((f) => f.what)
    expect(where.some((w) => w.includes('web-0'))).toBe(true)
    expect(where.some((w) => w.includes('client'))).toBe(false)
    for (const f of candidates(model, plan, 'hairpin')) {
      const [a] = f.plan.actions
      expect(a.args.at(-1)).toBe('off')
      expect(a.undo).toMatchObject({commands: [{tool: 'bridge', args: [...a.args.slice(0, -1), 'on']}]})
    }
  })
})
