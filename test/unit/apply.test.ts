// netlab apply's pure core: what stays is pinned, what cannot change in place is refused, and the
// change plan is the difference of the two compiled plans, each step with an undo that puts the
// lab back as it was.
import {describe, expect, it} from 'vitest'
import {buildModel} from '../../src/compile/model.js'
import {compileApply} from '../../src/compile/apply.js'
import {pinTopology} from '../../src/compile/apply-pin.js'
import type {LabModel} from '../../src/model/types.js'
import {parseTopology} from '../../src/topology/parse.js'
import {model, topologyError} from '../helpers/model.js'

function topo(routing: string, nodes: Record<string, string[]>, extra = ''): string {
  const list = Object.entries(nodes)
    .map(([n, pods]) => `  - name: ${n}\n    pods: [${pods.join(', ')}]`)
    .join('\n')
  const ranges = ['aws-vpc'].includes(routing) ? '' : '  podCIDR: 10.244.0.0/16\n'
  return `name: lab\ncluster:\n${ranges}  underlay: 192.168.50.0/24\n  routing: ${routing}\nnodes:\n${list}\n${extra}`
}

/** The new topology's model, pinned to `before` as apply pins it. */
const next = (before: LabModel, text: string) => buildModel(pinTopology(before, parseTopology(text, 'new.yaml')))
const lines = (p: ReturnType<typeof compileApply>['plan'], phase?: string) =>
  p.actions.filter((a) => phase === undefined || a.phase === phase).map((a) => `${a.netns ?? '-'}: ${a.tool} ${a.args.join(' ')}`)

describe('netlab apply: pinning', () => {
  it('keeps the addresses of what stays, and gives a new pod a free address of its node', () => {
    const before = model(topo('host-gw', {'node-0': ['a', 'b', 'c'], 'node-1': ['d']}))
    // b goes, e comes first in the list: a and c keep theirs, e gets the address b freed
    const after = next(before, topo('host-gw', {'node-0': ['e', 'a', 'c'], 'node-1': ['d']}))
    const ip = (m: LabModel, p: string) => m.nodes.flatMap((n) => n.pods).find((x) => x.name === p)?.ip
    for (const p of ['a', 'c', 'd']) expect(ip(after, p)).toBe(ip(before, p))
    expect(ip(after, 'e')).toBe(ip(before, 'b'))
  })

  it('keeps a node subnet when a node before it in the list leaves', () => {
    const before = model(topo('host-gw', {'node-0': ['a'], 'node-1': ['b'], 'node-2': ['c']}))
    const after = next(before, topo('host-gw', {'node-0': ['a'], 'node-2': ['c']}))
    expect(after.nodes.map((n) => [n.name, n.ip, n.podCIDR])).toEqual(
      before.nodes.filter((n) => n.name !== 'node-1').map((n) => [n.name, n.ip, n.podCIDR]),
    )
  })

  it.each([
    ['routing', (t: string) => t.replace('routing: host-gw', 'routing: vxlan'), 'cluster.routing'],
    ['podCIDR', (t: string) => t.replace('10.244.0.0/16', '10.245.0.0/16'), 'cluster.podCIDR'],
    ['underlay', (t: string) => t.replace('192.168.50.0/24', '192.168.60.0/24'), 'cluster.underlay'],
    [
      'a node subnet',
      (t: string) => t.replace('  - name: node-1\n', '  - name: node-1\n    podCIDR: 10.244.7.0/24\n'),
      "node node-1's pod subnet",
    ],
  ])('refuses to change %s in place, naming the field at file:line:col', (_what, edit, field) => {
    const before = model(topo('host-gw', {'node-0': ['a'], 'node-1': ['b']}))
    const e = topologyError(() => next(before, edit(topo('host-gw', {'node-0': ['a'], 'node-1': ['b']}))))
    expect(e.message).toMatch(/^new\.yaml:\d+:\d+: /)
    expect(e.message).toContain(field)
    expect(e.message).toContain('netlab down')
  })
})

describe('netlab apply: the change plan', () => {
  it('is empty when nothing changes', () => {
    const text = topo('vxlan', {'node-0': ['a'], 'node-1': ['b']})
    const before = model(text)
    const r = compileApply(before, next(before, text))
    expect(r.plan.actions).toEqual([])
    expect(r.changes).toEqual([])
  })

  it('adds a pod by its own namespace and one line on its node, undone with the pod', () => {
    const before = model(topo('host-gw', {'node-0': ['a'], 'node-1': ['b']}))
    const r = compileApply(before, next(before, topo('host-gw', {'node-0': ['a', 'c'], 'node-1': ['b']})))
    expect(r.changes).toEqual(['+ pod c on node-0 (10.244.0.3)'])
    const outside = r.plan.actions.filter((a) => a.netns !== 'netlab-lab.c' && a.undo.kind === 'commands' && !a.creates)
    expect(outside.map((a) => a.args.slice(0, 3).join(' '))).toEqual(['link add name', 'link set veth-c'])
    // its cable is undone by deleting the node's end at once (the kernel would clean the pod's namespace up in the background)
    expect(outside[0].undo).toEqual({
      kind: 'commands',
      commands: [{tool: 'ip', netns: 'netlab-lab.node-0', args: ['link', 'del', 'veth-c']}],
    })
    // the node's line goes with the pod's cable: nothing more to undo on the node itself
    expect(outside[1].undo).toEqual({kind: 'commands', commands: []})
    expect(r.plan.actions.every((a) => a.netns === null || a.netns === 'netlab-lab.c' || a.netns === 'netlab-lab.node-0')).toBe(true)
  })

  it('removes a node: its routes taken back on every other node, its pods deleted before it, each rebuilt on undo', () => {
    const before = model(topo('host-gw', {'node-0': ['a'], 'node-1': ['b'], 'node-2': ['c']}))
    const r = compileApply(before, next(before, topo('host-gw', {'node-0': ['a'], 'node-1': ['b']})))
    expect(lines(r.plan, 'apply-unroute').sort()).toEqual([
      'netlab-lab.node-0: ip route del 10.244.2.0/24 via 192.168.50.12 dev eth0',
      'netlab-lab.node-1: ip route del 10.244.2.0/24 via 192.168.50.12 dev eth0',
    ])
    expect(lines(r.plan, 'apply-delete')).toEqual(['-: ip netns del netlab-lab.c', '-: ip netns del netlab-lab.node-2'])
    // first unplugged: the fabric's end of its cable, whose undo builds node-2 again as the old plan did
    // (pod c's cable is not unplugged: both its ends go, with node-2 and with c)
    expect(lines(r.plan, 'apply-unplug')).toEqual(['netlab-lab.fabric: ip link del node-2'])
    const unplug = r.plan.actions.find((a) => a.args.join(' ') === 'link del node-2')!
    const rebuild = unplug.undo.kind === 'commands' ? unplug.undo.commands.map((c) => `${c.netns ?? '-'}: ${c.args.join(' ')}`) : []
    expect(rebuild.slice(0, 3)).toEqual([
      'netlab-lab.fabric: link del node-2',
      '-: netns del netlab-lab.node-2',
      '-: netns add netlab-lab.node-2',
    ])
    // its pod after it: the pod's cable plugs into the node
    expect(rebuild.indexOf('-: netns add netlab-lab.c')).toBeGreaterThan(rebuild.indexOf('-: netns add netlab-lab.node-2'))
    expect(rebuild.indexOf('netlab-lab.node-2: link set veth-c master cni0 up')).toBeGreaterThan(
      rebuild.indexOf('-: netns add netlab-lab.c'),
    )
    expect(rebuild).toContain('netlab-lab.fabric: link set node-2 master br0 up')
    const undoRoute = r.plan.actions.find((a) => a.phase === 'apply-unroute')!.undo
    expect(undoRoute.kind === 'commands' && undoRoute.commands[0].args.slice(0, 2)).toEqual(['route', 'add'])
  })

  it('adds a vxlan node: every other node learns its VTEP (neighbour, fdb, route), each undone by its inverse', () => {
    const before = model(topo('vxlan', {'node-0': ['a'], 'node-1': ['b']}))
    const r = compileApply(before, next(before, topo('vxlan', {'node-0': ['a'], 'node-1': ['b'], 'node-2': ['c']})))
    const onNode0 = r.plan.actions.filter((a) => a.netns === 'netlab-lab.node-0')
    expect(onNode0.map((a) => `${a.tool} ${a.args.slice(0, 2).join(' ')}`)).toEqual(['ip neigh add', 'bridge fdb append', 'ip route add'])
    const undo = onNode0.map((a) =>
      a.undo.kind === 'commands' ? a.undo.commands.map((c) => `${c.tool} ${c.args.slice(0, 2).join(' ')}`) : [],
    )
    expect(undo).toEqual([['ip neigh del'], ['bridge fdb del'], ['ip route del']])
  })

  it("rewrites a node's tables whole when a Service's endpoints change, and the old tables are its undo", () => {
    const svc = (pods: string[]) =>
      topo(
        'host-gw',
        {'node-0': pods, 'node-1': ['b']},
        'services:\n  - name: web\n    selector: {app: web}\n    ports: [{port: 80}]\n',
      ).replace(
        /pods: \[(.*)\]/,
        (_m, list: string) =>
          `pods:\n${list
            .split(', ')
            .map((p) => `      - {name: ${p}, labels: {app: web}, ports: [{port: 80}]}`)
            .join('\n')}`,
      )
    const before = model(svc(['a']))
    const r = compileApply(before, next(before, svc(['a', 'c'])))
    const tables = r.plan.actions.filter((a) => a.phase === 'apply-tables')
    expect(tables.map((a) => a.netns).sort()).toEqual(['netlab-lab.node-0', 'netlab-lab.node-1'])
    for (const t of tables) {
      expect(t.tool).toBe('iptables-restore')
      expect(t.args).toEqual([]) // without --noflush: the tables are replaced whole
      expect(t.stdin).toMatch(/^\*filter\n[\s\S]*COMMIT\n\*nat\n[\s\S]*COMMIT\n$/)
      expect(t.stdin).toContain(before.services!.list[0].clusterIP)
      const old = t.undo.kind === 'commands' ? t.undo.commands[0].stdin! : ''
      expect(t.stdin!.match(/KUBE-SEP-/g)!.length).toBeGreaterThan(old.match(/KUBE-SEP-/g)!.length)
    }
    expect(r.changes).toContain('~ Services (or their endpoints)')
  })

  it("takes back an aws-vpc node's proxy ARP entry for a pod that leaves", () => {
    const before = model(topo('aws-vpc', {'node-0': ['a', 'b'], 'node-1': ['c']}))
    const r = compileApply(before, next(before, topo('aws-vpc', {'node-0': ['a'], 'node-1': ['c']})))
    const b = before.nodes[0].pods[1]
    expect(lines(r.plan, 'apply-unroute')).toEqual([`netlab-lab.node-0: ip neigh del proxy ${b.ip} dev eth0`])
    expect(lines(r.plan, 'apply-delete')).toEqual(['-: ip netns del netlab-lab.b'])
  })
})

describe('the drivers’ inverses', () => {
  it('are plain commands of the same tool in the same namespace', async () => {
    const {driver} = await import('../../src/tools/index.js')
    const cases: [string, string[], string[]][] = [
      [
        'ip',
        ['route', 'add', '10.244.2.0/24', 'via', '192.168.50.12', 'dev', 'eth0'],
        ['route', 'del', '10.244.2.0/24', 'via', '192.168.50.12', 'dev', 'eth0'],
      ],
      [
        'ip',
        ['neigh', 'add', '10.244.2.0', 'lladdr', '0a:58:0a:f4:02:00', 'dev', 'flannel.1', 'nud', 'permanent'],
        ['neigh', 'del', '10.244.2.0', 'dev', 'flannel.1'],
      ],
      ['ip', ['neigh', 'add', 'proxy', '192.168.50.24', 'dev', 'eth0'], ['neigh', 'del', 'proxy', '192.168.50.24', 'dev', 'eth0']],
      [
        'bridge',
        ['fdb', 'append', '0a:58:0a:f4:02:00', 'dev', 'flannel.1', 'dst', '192.168.50.12'],
        ['fdb', 'del', '0a:58:0a:f4:02:00', 'dev', 'flannel.1', 'dst', '192.168.50.12'],
      ],
      ['bridge', ['link', 'set', 'dev', 'veth-a', 'hairpin', 'on'], ['link', 'set', 'dev', 'veth-a', 'hairpin', 'off']],
      ['sysctl', ['net.ipv4.neigh.eth0.proxy_delay=0'], ['net.ipv4.neigh.eth0.proxy_delay=80']],
      ['sysctl', ['net.ipv4.conf.eth0.proxy_arp=1'], ['net.ipv4.conf.eth0.proxy_arp=0']],
    ]
    for (const [tool, args, back] of cases) {
      const action = {
        id: 7,
        phase: 'routes',
        why: 'w',
        tool,
        netns: 'netlab-lab.node-0',
        args,
        undo: {kind: 'netns' as const, netns: 'netlab-lab.node-0'},
      }
      expect(driver(tool).inverse!(action)).toEqual([{tool, netns: 'netlab-lab.node-0', args: back}])
    }
    // what has no inverse cannot be changed in place
    expect(driver('ip').inverse!({tool: 'ip', netns: 'netlab-lab.node-0', args: ['link', 'set', 'eth0', 'up']})).toBeUndefined()
    expect(
      driver('sysctl').inverse!({tool: 'sysctl', netns: 'netlab-lab.node-0', args: ['net.ipv6.conf.default.disable_ipv6=1']}),
    ).toBeUndefined()
  })
})

describe('netlab apply: pods in the underlay (aws-vpc)', () => {
  it("gives a new node a free address, never a staying pod's", () => {
    const before = model(topo('aws-vpc', {'node-0': ['a', 'b'], 'node-1': ['c']}))
    const after = next(before, topo('aws-vpc', {'node-0': ['a', 'b'], 'node-1': ['c'], 'node-2': ['d']}))
    const pods = new Set(before.nodes.flatMap((n) => n.pods.map((p) => p.ip)))
    const added = after.nodes.find((n) => n.name === 'node-2')!
    expect(pods.has(added.ip)).toBe(false)
    expect(
      after.nodes
        .flatMap((n) => n.pods)
        .filter((p) => p.name !== 'd')
        .map((p) => p.ip),
    ).toEqual([...pods])
  })
})
