// netlab graph's pure core: the graph built from each topology's model (every member drawn, every
// route edge a route the plan really installs), its dot and mermaid text, the SVG drawn
// in-process, and the committed pictures in docs/ kept current.
import {readdirSync, readFileSync, existsSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {buildGraph, FULL} from '../../src/graph/build.js'
import {toDot} from '../../src/graph/dot.js'
import {graphIds, POD_CABLES} from '../../src/model/graph-ids.js'
import {toMermaid} from '../../src/graph/mermaid.js'
import {drawnEdges} from '../../src/graph/style.js'
import {renderSvg} from '../../src/graph/svg.js'
import type {Graph} from '../../src/model/graph.js'
import {graphFormat} from '../../src/lab/graph.js'
import {buildModel} from '../../src/compile/model.js'
import {allPods, type LabModel} from '../../src/model/types.js'
import {compilePlan} from '../../src/compile/plan.js'
import {hostGw} from '../../src/modes/host-gw.js'
import {routingMode} from '../../src/modes/index.js'
import {loadTopologyFile, parseTopology} from '../../src/topology/parse.js'
import {ROOT} from '../helpers/lab.js'
import {checkTopologies, propertySeed, toYaml, validTopology} from '../helpers/topologies.js'

const TOPOLOGIES = readdirSync(join(ROOT, 'topologies'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.slice(0, -5))
const modelOf = (name: string) => buildModel(loadTopologyFile(join(ROOT, 'topologies', `${name}.yaml`)))

/** The member a box belongs to: a pod, router or host box, or a device of a node. */
function memberOf(id: string): string | undefined {
  return /^member:(.+)$/.exec(id)?.[1] ?? /^device:([^:]+):/.exec(id)?.[1]
}

function checkShape(g: Graph): void {
  const ids = g.nodes.map((n) => n.id)
  expect(new Set(ids).size, 'box ids are unique').toBe(ids.length)
  const clusters = new Set(g.clusters.map((c) => c.id))
  for (const n of g.nodes) if (n.cluster) expect(clusters.has(n.cluster), n.id).toBe(true)
  for (const e of g.edges) {
    expect(ids, `edge from ${e.from}`).toContain(e.from)
    expect(ids, `edge to ${e.to}`).toContain(e.to)
  }
}

/** Every namespace of the model is drawn where it belongs, with its addresses. */
function checkMembersDrawn(model: LabModel, full: Graph): void {
  checkShape(full)
  const text = full.nodes.map((n) => n.label.join(' ')).join('\n')
  for (const s of model.segments) expect(text).toContain(s.cidr)
  for (const n of model.nodes) {
    expect(full.clusters.find((c) => c.id === graphIds.cluster(n.name))?.label.join(' ')).toContain(n.podCIDR)
    expect(full.nodes.find((x) => x.id === graphIds.device(n.name, 'eth0'))?.label).toEqual(['eth0', n.ip])
    // cni0 only where the model has one: a node without pods has none yet, a mode that cables pods to the node itself none at all
    const ptp = routingMode(model.routing).podGateway !== undefined
    expect(full.nodes.some((x) => x.id === graphIds.device(n.name, n.bridge))).toBe(n.pods.length > 0 && !ptp)
    expect(full.nodes.some((x) => x.id === graphIds.device(n.name, POD_CABLES))).toBe(n.pods.length > 0 && ptp)
  }
  for (const p of allPods(model)) {
    const box = full.nodes.find((x) => x.id === graphIds.member(p.name))
    expect(box?.label).toEqual([p.name, `eth0 ${p.ip}`])
    expect(box?.cluster).toBe(graphIds.cluster(p.node))
  }
  for (const e of model.external) expect(full.nodes.find((x) => x.id === graphIds.member(e.name))?.label.join(' ')).toContain(e.ip)
  for (const m of model.members.filter((x) => x.kind === 'router')) {
    expect(full.nodes.some((x) => x.id === graphIds.member(m.name) && x.kind === 'router')).toBe(true)
    // a leg on every segment: a cable to each
    for (const s of model.segments)
      expect(full.edges.some((e) => e.from === graphIds.segment(s.index) && e.to === graphIds.member(m.name))).toBe(true)
  }
}

/** Each route edge is a route the plan installs, on the member it starts from; every route to a pod subnet is drawn. */
function checkRoutesMatchPlan(model: LabModel, full: Graph): void {
  const plan = compilePlan(model)
  const netnsOf = new Map(model.members.map((m) => [m.name, m.netns]))
  const planned = new Set(
    plan.actions.filter((a) => a.args[0] === 'route' && a.args[1] === 'add').map((a) => `${a.netns} ${a.args[2]} via ${a.args[4]}`),
  )
  const drawn = new Set<string>()
  for (const e of full.edges.filter((x) => x.kind === 'route')) {
    expect(e.directed).toBe(true)
    // the label starts with the route as ip shows it; more may follow (", fdb: …")
    const route = /^(\S+ via [^\s,]+)/.exec(e.label ?? '')?.[1]
    expect(route, e.label).toBeDefined()
    // held by the member the edge starts from; an edge from a box that is no member (an
    // overlay drawn as one box) is a route every node but the one it leads to holds
    const holder = memberOf(e.from)
    const holders = holder ? [holder] : model.nodes.map((n) => n.name).filter((n) => n !== memberOf(e.to))
    expect(holders.length, `${e.from} -> ${e.to}: a route nobody holds`).toBeGreaterThan(0)
    for (const h of holders) {
      expect(planned, `${h}: ${e.label}`).toContain(`${netnsOf.get(h)} ${route}`)
      drawn.add(`${netnsOf.get(h)} ${route}`)
    }
  }
  // the other way round
  for (const r of planned) if (model.nodes.some((n) => r.includes(` ${n.podCIDR} via `))) expect(drawn, r).toContain(r)
}

/** dot and mermaid text hold every box and label, one (closed) subgraph per cluster. */
function checkText(g: Graph): void {
  checkShape(g)
  const dot = toDot(g)
  const mermaid = toMermaid(g)
  expect(dot).toMatch(/^digraph "netlab [a-z0-9-]+" \{\n[\s\S]*\n\}\n$/)
  expect(mermaid.split('\n')).toContain('flowchart TB')
  for (const n of g.nodes) {
    for (const line of n.label) {
      expect(dot).toContain(line)
      expect(mermaid).toContain(line)
    }
  }
  for (const e of g.edges) if (e.label) expect(dot).toContain(e.label)
  expect((dot.match(/subgraph "cluster_/g) ?? []).length).toBe(g.clusters.length)
  expect((mermaid.match(/^ {2}subgraph /gm) ?? []).length).toBe(g.clusters.length)
  expect((mermaid.match(/^ {2}end$/gm) ?? []).length).toBe(g.clusters.length)
  // mermaid ids are plain words: the graph's own ids (with colons) never leak into it
  expect(mermaid).not.toMatch(/(member|device|segment|cluster|virtual|more):/)
  // one mermaid line per drawn line
  expect((mermaid.match(/^ {2}\S+ (<?-\.->?|-\.-|<?-->|---)/gm) ?? []).length).toBe(drawnEdges(g.edges).length)
}

describe('graph model, for every topology in topologies/', () => {
  expect(TOPOLOGIES).toEqual(expect.arrayContaining(['three-node', 'three-node-routes', 'two-segment-routes', 'fifty-node']))

  for (const name of TOPOLOGIES) {
    const model = modelOf(name)
    const full = buildGraph(model, FULL)

    it(`${name}: every node, pod, external host, router and segment is drawn, with its addresses`, () => {
      checkMembersDrawn(model, full)
    })

    it(`${name}: each route edge is a route the plan installs, on the member it starts from, and every pod subnet route is drawn`, () => {
      // a lab of one node and no external host (netpol-e2e) has no route to draw
      if (model.nodes.length > 1 || model.external.length > 0)
        expect(full.edges.filter((e) => e.kind === 'route').length).toBeGreaterThan(0)
      checkRoutesMatchPlan(model, full)
    })

    it(`${name}: dot and mermaid text hold every box and label`, () => {
      checkText(buildGraph(model))
    })
  }
})

describe('graph of random valid topologies (every routing mode, segments, empty nodes, fixed addresses)', () => {
  it('draws every member, only routes the plan installs and all of them, and renders as text', async () => {
    await checkTopologies(
      validTopology('prop'),
      (t) => {
        const model = buildModel(parseTopology(toYaml(t), 'generated.yaml'))
        const full = buildGraph(model, FULL)
        checkMembersDrawn(model, full)
        checkRoutesMatchPlan(model, full)
        checkText(buildGraph(model))
      },
      {numRuns: 200, seed: propertySeed(1313)},
    )
  }, 120_000)
})

describe('graph: big labs, drawn in part', () => {
  const model = modelOf('fifty-node')

  it('draws the first two nodes and pods and one box for the rest, with the routes between the boxes drawn', () => {
    const g = buildGraph(model)
    checkShape(g)
    expect(g.clusters.filter((c) => c.kind === 'node').map((c) => c.label[0])).toEqual(['n0', 'n1'])
    expect(g.nodes.filter((n) => n.kind === 'pod').map((n) => n.label[0])).toEqual(['n0-p0', 'n0-p1', 'n1-p0', 'n1-p1'])
    const more = g.nodes.filter((n) => n.kind === 'more').map((n) => n.label[0])
    expect(more).toEqual(['… 8 more pods', '… 8 more pods', '… 48 more nodes'])
    expect(g.edges.filter((e) => e.kind === 'route').map((e) => e.label)).toEqual([
      '10.244.1.0/24 via 192.168.50.11',
      '10.244.0.0/24 via 192.168.50.10',
    ])
    expect(g.notes.join('\n')).toContain('of 2450 in the whole lab')
    expect(toDot(g).length).toBeLessThan(20_000)
  })

  it('--full draws everything', () => {
    const g = buildGraph(model, FULL)
    expect(g.nodes.filter((n) => n.kind === 'pod')).toHaveLength(500)
    expect(g.edges.filter((e) => e.kind === 'route')).toHaveLength(50 * 49)
  })

  it('too many route edges among the boxes drawn: described, not drawn', () => {
    const g = buildGraph(model, {maxNodes: 50, maxPods: 1, maxEdges: 100})
    expect(g.edges.filter((e) => e.kind === 'route')).toHaveLength(0)
    expect(g.notes.join('\n')).toContain('2450 host-gw edges are not drawn')
  })
})

describe('graph: what a routing mode adds', () => {
  const saved = hostGw.graph
  afterEach(() => {
    hostGw.graph = saved
  })

  it("boxes and edges from the mode's graph hook appear, with its notes, whatever their kind", () => {
    // an overlay the way a VXLAN mode would draw it: a device in each node and a tunnel between them
    hostGw.graph = (m: LabModel) => ({
      nodes: m.nodes.map((n) => ({
        id: graphIds.device(n.name, 'flannel.1'),
        kind: 'overlay',
        cluster: graphIds.cluster(n.name),
        label: ['flannel.1', 'VXLAN'],
      })),
      edges: [
        {from: graphIds.device('node-0', 'flannel.1'), to: graphIds.device('node-1', 'flannel.1'), kind: 'tunnel', label: 'VNI 1'},
        {from: graphIds.device('node-0', 'flannel.1'), to: graphIds.device('nowhere', 'flannel.1'), kind: 'tunnel'}, // ends not drawn: dropped
      ],
      notes: ['an overlay'],
    })
    const g = buildGraph(modelOf('three-node'))
    checkShape(g)
    expect(g.nodes.filter((n) => n.kind === 'overlay')).toHaveLength(3)
    expect(g.edges.filter((e) => e.kind === 'tunnel')).toEqual([
      {from: 'device:node-0:flannel.1', to: 'device:node-1:flannel.1', kind: 'tunnel', label: 'VNI 1'},
    ])
    expect(g.notes).toContain('an overlay')
    expect(toDot(g)).toContain('"device:node-0:flannel.1" -> "device:node-1:flannel.1"')
    expect(toMermaid(g)).toContain('VNI 1')
  })

  it('a mode without a graph hook: members and cables only', () => {
    hostGw.graph = undefined
    const g = buildGraph(modelOf('three-node'))
    expect(g.edges.filter((e) => e.kind === 'route')).toEqual([])
    expect(g.nodes.filter((n) => n.kind === 'pod')).toHaveLength(5)
  })
})

describe('graph renderers', () => {
  const tiny: Graph = {
    lab: 'x',
    title: 'a "quoted" title \\N',
    clusters: [{id: 'cluster:a', kind: 'node', label: ['a']}],
    nodes: [
      {id: 'member:p', kind: 'pod', cluster: 'cluster:a', label: ['say "hi"', 'back\\slash <b>']},
      {id: 'member:q', kind: 'brand-new-kind', label: ['q']},
    ],
    edges: [
      {from: 'member:p', to: 'member:q', kind: 'route', label: 'there', directed: true},
      {from: 'member:q', to: 'member:p', kind: 'route', label: 'back', directed: true},
      {from: 'member:p', to: 'member:q', kind: 'link'},
    ],
    notes: [],
  }

  it('dot: quotes and backslashes escaped (a \\N in a name stays text), opposite routes drawn as one line', () => {
    const dot = toDot(tiny)
    expect(dot).toContain('label="say \\"hi\\"\\nback\\\\slash <b>"')
    expect(dot).toContain('a \\"quoted\\" title \\\\N')
    expect(dot).toContain(
      '"member:p" -> "member:q" [color="#1f5fbf", fontcolor="#1f5fbf", style="dashed", dir="both", constraint=false, label="there\\nback"]',
    )
    expect(dot).toContain('"member:p" -> "member:q" [color="#555555", fontcolor="#555555", style="solid", dir="none"]')
  })

  it('mermaid: labels quoted with entities, unknown kinds get a plain class', () => {
    const m = toMermaid(tiny)
    expect(m).toContain('n0["say #quot;hi#quot;<br/>back\\slash #lt;b#gt;"]:::k_pod')
    expect(m).toContain('n1["q"]:::k_brand_new_kind')
    expect(m).toContain('n0 <-.->|"there<br/>back"| n1')
    expect(m).toContain('n0 --- n1')
    expect(m).toContain('classDef k_brand_new_kind fill:#ffffff')
  })

  it("the format comes from --format, else the output file's extension, else svg", () => {
    expect(graphFormat('dot', 'x.svg')).toBe('dot')
    expect(graphFormat(undefined, 'lab.mmd')).toBe('mermaid')
    expect(graphFormat(undefined, 'lab.GV')).toBe('dot')
    expect(graphFormat(undefined, 'lab.json')).toBe('json')
    expect(graphFormat(undefined, 'lab.png')).toBe('svg')
    expect(graphFormat(undefined, undefined)).toBe('svg')
  })
})

describe('graph: SVG drawn in-process', () => {
  it('draws three-node with every pod and address, and font fallbacks', async () => {
    const model = modelOf('three-node')
    const raw = await renderSvg(toDot(buildGraph(model)))
    expect(raw).toMatch(/^<\?xml[\s\S]*<svg[\s\S]*<\/svg>\s*$/)
    const svg = raw.replaceAll('&#45;', '-') // Graphviz writes a dash as an entity
    for (const p of allPods(model)) {
      expect(svg).toContain(`>${p.name}</text>`)
      expect(svg).toContain(`eth0 ${p.ip}`)
    }
    expect(svg).toContain('10.244.9.0/24 via 192.168.50.21')
    expect(svg).not.toContain('font-family="Verdana"') // always with fallbacks
  })

  it('a graph Graphviz cannot read is an error, not an empty picture', async () => {
    await expect(renderSvg('digraph { a -> }')).rejects.toThrow(/graphviz/)
  })

  it('a topology written by hand draws too (a node without pods, a fixed address)', async () => {
    const model = buildModel(parseTopology('name: hand\nnodes:\n  - {name: a, pods: [p]}\n  - {name: b, ip: 192.168.50.99}\n'))
    const svg = await renderSvg(toDot(buildGraph(model)))
    expect(svg).toContain('no pods yet, so no cni0')
    expect(svg).toContain('192.168.50.99')
  })
})

describe('docs/: one picture per topology, current', () => {
  for (const name of TOPOLOGIES) {
    it(`docs/${name}.svg is what netlab graph draws today`, async () => {
      const file = join(ROOT, 'docs', `${name}.svg`)
      const hint = `regenerate with: npm run docs:graphs (topologies/${name}.yaml changed, or the graph did)`
      expect(existsSync(file), hint).toBe(true)
      expect(readFileSync(file, 'utf8'), hint).toBe(await renderSvg(toDot(buildGraph(modelOf(name)))))
    })
  }
})
