// The vxlan routing mode's plan (flannel's VXLAN backend): the flannel.1 device on every node,
// its permanent neighbour, fdb and onlink route per peer, the overlay MTU on everything pods
// use, a why on every command — and the firewall and everything else exactly as host-gw has it.
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {loadTopologyFile, parseTopology} from '../../src/topology/parse.js'
import {buildModel, modelWith} from '../../src/compile/model.js'
import {macFor} from '../../src/core/names.js'
import type {LabModel} from '../../src/model/types.js'
import {compilePlan} from '../../src/compile/plan.js'
import {commandLine} from '../../src/tools/command.js'
import {renderPlan} from '../../src/plan/render.js'
import type {Action, Plan} from '../../src/core/actions.js'
import {ROUTING_MODES} from '../../src/modes/index.js'
import {OVERLAY_MTU, vtepIp} from '../../src/modes/vxlan.js'
import {schedule} from '../../src/exec/schedule.js'
import {prepare} from '../../src/exec/batch.js'
import {expectHttp, externalEndpoint, nodeEndpoint, podEndpoint} from '../../src/probe/expect.js'

const file = (p: string) => fileURLToPath(new URL(`../../topologies/${p}`, import.meta.url))
const model = buildModel(loadTopologyFile(file('three-node-vxlan.yaml')))
const plan = compilePlan(model)
const hostGw: LabModel = modelWith(model, {routing: 'host-gw'})
const hostGwPlan = compilePlan(hostGw)

const inNode = (p: Plan, netns: string, phase?: string) => p.actions.filter((a) => a.netns === netns && (!phase || a.phase === phase))
const argsOf = (acts: Action[]) => acts.map((a) => a.args)

describe('vxlan: the mode', () => {
  it('is in the registry, and three-node-vxlan.yaml is the default lab with routing: vxlan', () => {
    expect(ROUTING_MODES).toContain('vxlan')
    expect(model.routing).toBe('vxlan')
    const base = buildModel(loadTopologyFile(file('three-node.yaml')))
    expect({...model, lab: base.lab, routing: base.routing, fabric: base.fabric, members: []}).toEqual({
      ...base,
      nodes: model.nodes,
      external: model.external,
      members: [],
    })
    expect(model.nodes.map((n) => [n.name, n.ip, n.podCIDR, n.pods.map((p) => p.ip)])).toEqual(
      base.nodes.map((n) => [n.name, n.ip, n.podCIDR, n.pods.map((p) => p.ip)]),
    )
  })

  it('has the same phases as host-gw, and a routes phase that explains the overlay', () => {
    expect(plan.phases.map((p) => p.id)).toEqual(hostGwPlan.phases.map((p) => p.id))
    const routes = plan.phases.find((p) => p.id === 'routes')!
    expect(routes.title).toMatch(/VXLAN/)
    for (const word of ['flannel.1', 'VNI 1', 'UDP port 8472', 'fdb', 'neighbour', 'underlay', `MTU ${OVERLAY_MTU}`])
      expect(routes.why).toContain(word)
  })

  it('gives every command a why of its own', () => {
    for (const a of plan.actions) expect(a.why.trim(), commandLine(a)).not.toBe('')
    // what differs from host-gw is explained at length: the overlay, and every MTU
    const differs = plan.actions.filter((a) => a.args.includes('flannel.1') || a.args.includes('mtu'))
    expect(differs.length).toBeGreaterThan(0)
    for (const a of differs) expect(a.why.length, commandLine(a)).toBeGreaterThan(40)
    const overlay = plan.actions.filter((a) => a.phase === 'routes' && a.args.includes('flannel.1'))
    // a why names what is particular to its command, so no two overlay commands of a node share one
    for (const n of model.nodes) {
      const whys = overlay.filter((a) => a.netns === n.netns).map((a) => a.why)
      expect(new Set(whys).size, n.name).toBe(whys.length)
    }
  })
})

describe('vxlan: flannel.1 on every node', () => {
  it("is created inside the node (its UDP socket lives where it is created), bound to eth0, with flannel's numbers", () => {
    for (const n of model.nodes) {
      const made = plan.actions.filter(
        (a) => a.args[0] === 'link' && a.args[1] === 'add' && a.args.includes('vxlan') && a.args.includes(n.ip),
      )
      expect(made, n.name).toHaveLength(1)
      expect(made[0]).toMatchObject({netns: n.netns, tool: 'ip', phase: 'routes'})
      expect(made[0].args).toEqual([
        'link',
        'add',
        'flannel.1',
        'address',
        macFor(vtepIp(n)),
        'mtu',
        '1450',
        'type',
        'vxlan',
        'id',
        '1',
        'local',
        n.ip,
        'dev',
        'eth0',
        'dstport',
        '8472',
        'nolearning',
      ])
      // eth0 exists, is addressed and up before the tunnel is bound to it
      const eth0Up = plan.actions.find((a) => a.netns === n.netns && a.args.join(' ') === 'link set eth0 up')!
      expect(eth0Up.id).toBeLessThan(made[0].id)
    }
    expect(plan.actions.filter((a) => a.netns === null && a.args.includes('vxlan'))).toEqual([])
  })

  it("holds the network address of the node's pod subnet as a /32, and its MAC is derived from it", () => {
    expect(model.nodes.map(vtepIp)).toEqual(['10.244.0.0', '10.244.9.0', '10.244.2.0'])
    for (const n of model.nodes) {
      const mine = argsOf(inNode(plan, n.netns, 'routes'))
      expect(mine.slice(1, 3)).toEqual([
        ['addr', 'add', `${vtepIp(n)}/32`, 'dev', 'flannel.1'],
        ['link', 'set', 'flannel.1', 'up'],
      ])
    }
    const macs = model.nodes.map((n) => macFor(vtepIp(n)))
    expect(macs).toEqual(['0a:58:0a:f4:00:00', '0a:58:0a:f4:09:00', '0a:58:0a:f4:02:00'])
    // no other interface of the lab has one of these MACs
    const others = plan.actions
      .filter((a) => !a.args.includes('vxlan'))
      .flatMap((a) => a.args.filter((x, i) => a.args[i - 1] === 'address'))
    for (const m of macs) expect(others).not.toContain(m)
  })

  it('for each other node: a permanent neighbour, an fdb entry to its underlay address, an onlink route via its VTEP', () => {
    for (const n of model.nodes) {
      const mine = inNode(plan, n.netns, 'routes')
      const peers = model.nodes.filter((p) => p !== n)
      expect(argsOf(mine.filter((a) => a.args[0] === 'neigh'))).toEqual(
        peers.map((p) => ['neigh', 'add', vtepIp(p), 'lladdr', macFor(vtepIp(p)), 'dev', 'flannel.1', 'nud', 'permanent']),
      )
      const fdb = mine.filter((a) => a.tool === 'bridge')
      expect(argsOf(fdb)).toEqual(peers.map((p) => ['fdb', 'append', macFor(vtepIp(p)), 'dev', 'flannel.1', 'dst', p.ip]))
      expect(fdb.map(commandLine)[0]).toBe(`bridge -n ${n.netns} fdb append ${macFor(vtepIp(peers[0]))} dev flannel.1 dst ${peers[0].ip}`)
      const podRoutes = mine.filter((a) => a.args[0] === 'route' && a.args[2].startsWith('10.244.'))
      expect(argsOf(podRoutes)).toEqual(peers.map((p) => ['route', 'add', p.podCIDR, 'via', vtepIp(p), 'dev', 'flannel.1', 'onlink']))
      // the tunnel is up before the routes through it (the kernel refuses an onlink route on a device that is down)
      const up = mine.find((a) => a.args.join(' ') === 'link set flannel.1 up')!
      for (const r of podRoutes) expect(r.id).toBeGreaterThan(up.id)
    }
  })

  it('sends nothing for pods over eth0: no host-gw route, while external hosts stay on the wire', () => {
    const viaEth0 = plan.actions.filter((a) => a.args[0] === 'route' && a.args.includes('eth0') && a.args[2]?.startsWith('10.244.'))
    expect(viaEth0).toEqual([])
    for (const n of model.nodes)
      expect(argsOf(inNode(plan, n.netns, 'routes'))).toContainEqual(['route', 'add', '203.0.113.10/32', 'dev', 'eth0'])
  })
})

describe('vxlan: the overlay MTU (1500 − 50)', () => {
  it('is 1450 on every pod eth0, on both ends of every pod cable and on cni0', () => {
    expect(OVERLAY_MTU).toBe('1450')
    for (const n of model.nodes) {
      const bridge = plan.actions.find((a) => a.netns === null && a.args.includes(n.bridge) && a.args.includes(n.netns))!
      expect(bridge.args).toEqual([
        'link',
        'add',
        'name',
        'cni0',
        'netns',
        n.netns,
        'address',
        n.gatewayMac,
        'mtu',
        '1450',
        'type',
        'bridge',
      ])
      for (const p of n.pods) {
        expect(argsOf(inNode(plan, n.netns))).toContainEqual(['link', 'set', p.hostVeth, 'mtu', '1450', 'master', 'cni0', 'up'])
        expect(argsOf(inNode(plan, p.netns))).toContainEqual(['link', 'set', 'eth0', 'mtu', '1450', 'up'])
      }
    }
  })

  it("changes nothing else a pod gets: its address and default route are host-gw's", () => {
    for (const p of model.nodes.flatMap((n) => n.pods)) {
      const mtuLess = (acts: Action[]) => argsOf(acts).map((a) => a.filter((x, i) => x !== 'mtu' && a[i - 1] !== 'mtu'))
      expect(mtuLess(inNode(plan, p.netns))).toEqual(mtuLess(inNode(hostGwPlan, p.netns)))
    }
  })

  it('leaves a node without pods without cni0, and still gives it flannel.1', () => {
    const m = buildModel(parseTopology('name: lab\ncluster: {routing: vxlan}\nnodes:\n  - {name: a, pods: 1}\n  - {name: b}\n', 't.yaml'))
    const p = compilePlan(m)
    const b = m.nodes[1]
    expect(p.actions.some((a) => a.args.includes('cni0') && (a.netns === b.netns || a.args.includes(b.netns)))).toBe(false)
    expect(argsOf(inNode(p, b.netns, 'routes'))).toContainEqual([
      'route',
      'add',
      m.nodes[0].podCIDR,
      'via',
      vtepIp(m.nodes[0]),
      'dev',
      'flannel.1',
      'onlink',
    ])
    expect(argsOf(inNode(p, m.nodes[0].netns, 'routes'))).toContainEqual([
      'route',
      'add',
      b.podCIDR,
      'via',
      vtepIp(b),
      'dev',
      'flannel.1',
      'onlink',
    ])
  })
})

describe('vxlan: what stays as in host-gw', () => {
  it('the firewall and masquerade: pod-to-pod never NATed, leaving the cluster masqueraded', () => {
    const rules = (p: Plan) => p.actions.filter((a) => a.tool === 'iptables').map(commandLine)
    expect(rules(plan)).toEqual(rules(hostGwPlan))
    expect(rules(plan)).toContain(
      `ip netns exec ${model.nodes[0].netns} iptables -t nat -A POSTROUTING -s 10.244.0.0/24 '!' -d 10.244.0.0/16 -j MASQUERADE`,
    )
  })

  it("every phase but links, nodes, pods and routes is host-gw's, command for command", () => {
    for (const phase of plan.phases.map((p) => p.id).filter((id) => !['links', 'nodes', 'pods', 'routes'].includes(id))) {
      expect(plan.actions.filter((a) => a.phase === phase).map(commandLine), phase).toEqual(
        hostGwPlan.actions.filter((a) => a.phase === phase).map(commandLine),
      )
    }
  })

  it('a large lab still gets its permanent neighbour entries', () => {
    const big = buildModel(
      parseTopology(
        `name: big\ncluster: {routing: vxlan}\nnodes:\n${Array.from({length: 20}, (_, i) => `  - {name: n${i}, pods: 10}`).join('\n')}\n`,
        'big.yaml',
      ),
    )
    const p = compilePlan(big)
    expect(p.phases.map((x) => x.id)).toContain('neighbours')
    expect(p.actions.filter((a) => a.tool === 'bridge')).toHaveLength(20 * 19)
  })
})

describe('vxlan: how it runs', () => {
  it('every ip batch inside a namespace is spoken over rtnetlink (no ip -batch fallback); fdb entries are one bridge -batch per node', () => {
    for (const m of [
      model,
      buildModel(
        parseTopology(
          `name: big\ncluster: {routing: vxlan}\nnodes:\n${Array.from({length: 20}, (_, i) => `  - {name: n${i}, pods: 10}`).join('\n')}\n`,
          'big.yaml',
        ),
      ),
    ]) {
      const lanes = schedule(compilePlan(m))
        .flatMap((s) => s.lanes)
        .filter((l) => l.netns !== null)
      for (const batch of lanes.flatMap((l) => l.batches).filter((b) => b.tool === 'ip')) {
        const p = prepare(batch, {netlink: true})
        expect(p.fallback, batch.actions.filter(() => p.steps[0].kind !== 'netlink').map(commandLine)[0]).toBe(false)
      }
      const bridges = lanes.flatMap((l) => l.batches.filter((b) => b.tool === 'bridge').map(() => l.netns))
      expect(bridges.sort()).toEqual(m.nodes.map((n) => n.netns).sort())
    }
  })

  it('the sh script runs the bridge commands as a person would type them', () => {
    const sh = renderPlan(plan, 'sh')
    expect(sh).toContain(`bridge -n ${model.nodes[0].netns} fdb append 0a:58:0a:f4:09:00 dev flannel.1 dst 192.168.50.21`)
    expect(sh).toContain(`ip -n ${model.nodes[0].netns} route add 10.244.9.0/24 via 10.244.9.0 dev flannel.1 onlink`)
  })
})

describe('vxlan: what the probe expects', () => {
  const node = (name: string) => model.nodes.find((n) => n.name === name)!
  const pod = (name: string) => model.nodes.flatMap((n) => n.pods).find((p) => p.name === name)!

  it('a node reaching a pod on another node is seen as its flannel.1 address; its own pods see cni0', () => {
    expect(expectHttp(model, nodeEndpoint(node('node-0')), podEndpoint(pod('db')))).toEqual({reply: true, seen: '10.244.0.0'})
    expect(expectHttp(model, nodeEndpoint(node('node-1')), podEndpoint(pod('web-0')))).toEqual({reply: true, seen: '10.244.9.0'})
    expect(expectHttp(model, nodeEndpoint(node('node-0')), podEndpoint(pod('web-1')))).toEqual({reply: true, seen: '10.244.0.1'})
  })

  it("pod to pod: the source pod's own address; pod to the outside: its node's underlay address (masqueraded)", () => {
    expect(expectHttp(model, podEndpoint(pod('web-0')), podEndpoint(pod('db')))).toEqual({reply: true, seen: '10.244.0.2'})
    expect(expectHttp(model, podEndpoint(pod('db')), externalEndpoint(model.external[0]))).toEqual({reply: true, seen: '192.168.50.21'})
    expect(expectHttp(hostGw, nodeEndpoint(node('node-0')), podEndpoint(pod('db')))).toEqual({reply: true, seen: '192.168.50.10'})
  })
})
