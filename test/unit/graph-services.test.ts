// netlab graph draws a lab's Services (src/graph/build.ts): a box per Service with its ClusterIP
// and ports, a dashed arrow to each endpoint pod, and what a big lab's picture leaves out.
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {buildModel} from '../../src/compile/model.js'
import {buildGraph, FULL} from '../../src/graph/build.js'
import {toDot} from '../../src/graph/dot.js'
import {toMermaid} from '../../src/graph/mermaid.js'
import {loadTopologyFile} from '../../src/topology/parse.js'
import {model as fromText} from '../helpers/model.js'

const model = buildModel(loadTopologyFile(fileURLToPath(new URL('../fixtures/trace/services.yaml', import.meta.url))))

describe('graph: Services', () => {
  const g = buildGraph(model)

  it('draws each Service as a box with its ClusterIP, ports and policies', () => {
    const boxes = g.nodes.filter((n) => n.kind === 'service')
    expect(boxes.map((b) => b.id)).toEqual(model.services!.list.map((s) => `service:${s.name}`))
    expect(boxes[0].label).toEqual(['service web', 'ClusterIP 10.96.0.10', '80/TCP → http'])
    expect(boxes[1].label).toEqual([
      'service api',
      'ClusterIP 10.96.0.11',
      '443/TCP → 8443 · node port 30443',
      'externalTrafficPolicy Local',
      'ClientIP affinity',
    ])
    expect(boxes[2].label).toContain('no endpoints: refused')
  })

  it('an arrow from each Service to each endpoint pod, with the port it serves', () => {
    const arrows = g.edges.filter((e) => e.kind === 'endpoint').map((e) => `${e.from} -> ${e.to} ${e.label}`)
    expect(arrows).toEqual([
      'service:web -> member:web-0 :8080',
      'service:web -> member:web-1 :8080',
      'service:api -> member:api-0 :8443',
      'service:webnp -> member:web-0 :8080',
      'service:webnp -> member:web-1 :8080',
    ])
    expect(g.notes.some((n) => n.startsWith("services: kube-proxy's iptables mode in every node"))).toBe(true)
    expect(toDot(g)).toContain('"service:web" -> "member:web-0"')
    expect(toMermaid(g)).toContain('classDef k_service')
  })

  it('a big picture: the first Services and one box for the rest; arrows to pods not drawn are counted', () => {
    const small = buildGraph(model, {maxNodes: 2})
    expect(small.nodes.filter((n) => n.kind === 'service').map((n) => n.id)).toEqual(['service:web', 'service:api'])
    expect(small.nodes.find((n) => n.id === 'more:services')!.label[0]).toBe('… 2 more Services')
    const four = fromText(`
name: four
nodes:
  - name: node-0
    pods: [{name: a, labels: {app: w}}, {name: b, labels: {app: w}}, {name: c, labels: {app: w}}, {name: d, labels: {app: w}}]
services:
  - {name: w, selector: {app: w}, ports: [{port: 80, targetPort: 8080}]}
`)
    const g4 = buildGraph(four, {maxPods: 3})
    expect(g4.edges.filter((e) => e.kind === 'endpoint').map((e) => e.to)).toEqual(['member:a', 'member:b'])
    expect(g4.notes).toContain('2 endpoint arrows to pods not drawn are left out; netlab graph --full draws them')
    expect(buildGraph(four, FULL).edges.filter((e) => e.kind === 'endpoint')).toHaveLength(4)
  })

  it('a lab without services: no Service box, no note', () => {
    const plain = buildGraph({...model, services: undefined, mode: model.mode})
    expect(plain.nodes.some((n) => n.kind === 'service')).toBe(false)
    expect(plain.notes.some((n) => n.startsWith('services:'))).toBe(false)
  })
})
