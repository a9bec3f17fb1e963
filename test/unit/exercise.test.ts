// netlab break's faults, pure: which kinds each routing mode can take, each fault a one-action
// plan whose undo restores exactly what the lab's own plan set, and --seed picks the same one.
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {applicableKinds, candidates, FAULT_KINDS, pickFault, seeded} from '../../src/exercise/faults.js'
import {FAULTS} from '../../src/exercise/faults/index.js'
import {buildModel} from '../../src/compile/model.js'
import {compilePlan} from '../../src/compile/plan.js'
import {loadTopologyFile} from '../../src/topology/parse.js'

const lab = (name: string) => {
  const model = buildModel(loadTopologyFile(fileURLToPath(new URL(`../../topologies/${name}.yaml`, import.meta.url))))
  return {model, plan: compilePlan(model)}
}
const LABS = ['three-node', 'three-node-routes', 'three-node-vxlan', 'aws-vpc', 'gke-vpc-native'].map((n) => [n, lab(n)] as const)

describe('netlab break: the faults', () => {
  it('every mode takes route, forwarding, masquerade and drop; only vxlan labs take mtu and fdb', () => {
    for (const [name, {model, plan}] of LABS) {
      const kinds = applicableKinds(model, plan)
      expect(kinds, name).toEqual(name.includes('vxlan') ? [...FAULT_KINDS] : ['route', 'forwarding', 'masquerade', 'drop'])
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

describe('the fault registry', () => {
  it('has one module per kind, each under its own kind, with a line of text', () => {
    expect(Object.keys(FAULTS)).toEqual([...FAULT_KINDS])
    for (const k of FAULT_KINDS) {
      expect(FAULTS[k].kind).toBe(k)
      expect(FAULTS[k].text).toMatch(/^\S.*\S$/)
    }
  })
})
