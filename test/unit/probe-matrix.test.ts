// The policy section's reachability matrix, in the upstream NetworkPolicy e2e suite's form: one
// per port and protocol, rows from, columns to, "." reachable, "X" not, "-" not probed, and the
// cells where the kernel did not do what the policies say marked. Pure: observations at hand.
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {buildModel} from '../../src/compile/model.js'
import {matrixOrder, renderMatrix} from '../../src/probe/matrix.js'
import {renderReport} from '../../src/probe/render.js'
import {sectionsFor, selectProbes} from '../../src/probe/select.js'
import type {Observation, Probe} from '../../src/probe/types.js'
import {loadTopologyFile, parseTopology} from '../../src/topology/parse.js'
import {THREE_NODE, TOPOLOGIES} from '../helpers/constants.js'
import {reportOf} from '../helpers/probe.js'

const tier = buildModel(loadTopologyFile(join(TOPOLOGIES, 'policy-three-tier.yaml')))

/** What the kernel answered: as each probe expects, except the probes `wrong` picks, which do the opposite. */
function observe(probes: Probe[], wrong: (p: Probe) => boolean = () => false): Map<number, Observation> {
  return new Map(
    probes.map((p): [number, Observation] => {
      const reply = p.expect.reply !== wrong(p)
      return [p.id, reply ? {reply: true, seen: p.src.ip, servedBy: p.dst.netns, ms: 1} : {reply: false, detail: 'refused', ms: 1}]
    }),
  )
}

function report(wrong?: (p: Probe) => boolean) {
  const probes = selectProbes(tier, {only: ['policy']})
  return reportOf(tier, 'all-pairs', sectionsFor(['policy']), {probes, observations: observe(probes, wrong), self: new Map()}, 1, {
    picked: true,
  })
}

describe('the reachability matrix of the policy section', () => {
  it("one matrix per port and protocol the policy section probes, pod → pod, each cell the kernel's answer", () => {
    const m = report().policy!.matrices!
    expect(m.map((x) => `${x.port}/${x.protocol}`)).toEqual(['443/TCP', '5432/TCP', '8080/TCP', '53/UDP'])
    const db = m.find((x) => x.port === 5432)!
    expect(db.observed[0].split('\t')).toEqual(['-', ...db.pods])
    const cell = (from: string, to: string) => db.observed[1 + db.pods.indexOf(from)].split('\t')[1 + db.pods.indexOf(to)]
    expect(cell('api-0', 'db')).toBe('.') // db-from-api
    expect(cell('frontend-0', 'db')).toBe('X') // db takes api only; the frontend may reach api only
    expect(cell('batch', 'dns')).toBe('.') // neither end isolated
    expect(cell('db', 'db')).toBe('-') // a pod and itself: not probed (upstream never judges it)
    expect(db.differences).toEqual([])
    expect(db.observed).toEqual(db.expected)
  })

  it('a cell where the kernel differs from the policies is marked, both ways, and listed', () => {
    const flip = (p: Probe) =>
      p.check === 'policy-ports' && p.port === 5432 && p.dst.name === 'db' && ['frontend-0', 'api-0'].includes(p.src.name)
    const db = report(flip).policy!.matrices!.find((x) => x.port === 5432)!
    expect(db.differences).toEqual([
      {from: 'api-0', to: 'db', kernel: 'blocked'},
      {from: 'frontend-0', to: 'db', kernel: 'reached'},
    ])
    const text = renderMatrix(db)
    expect(text[0]).toBe('5432/TCP: 2 cells differ from what the policies say (!)')
    const row = (pod: string) => text.find((l) => l.startsWith(pod))!.split(/ +/)
    expect(row('frontend-0')[1 + db.pods.indexOf('db')]).toBe('.!')
    expect(row('api-0')[1 + db.pods.indexOf('db')]).toBe('X!')
    expect(renderReport(report(flip))).toContain('    5432/TCP: 2 cells differ from what the policies say (!)')
  })

  it("the pods' declared ports are probed too (upstream probes its servers' ports whatever the policies name)", () => {
    const topo = `name: m
nodes:
  - name: node-0
    pods:
      - {name: a, labels: {pod: a}, ports: [{name: serve-80-tcp, port: 80}, {name: serve-81-udp, port: 81, protocol: UDP}]}
      - {name: b, labels: {pod: b}}
policies:
  - name: deny
    podSelector: {pod: b}
    ingress: []
`
    const model = buildModel(parseTopology(topo, 'm.yaml'))
    const probes = selectProbes(model, {only: ['policy']})
    const r = reportOf(model, 'all-pairs', sectionsFor(['policy']), {probes, observations: observe(probes), self: new Map()}, 1)
    const m = r.policy!.matrices!
    expect(m.map((x) => `${x.port}/${x.protocol}`)).toEqual(['80/TCP', '81/UDP'])
    expect(m[0].observed).toEqual(['-\ta\tb', 'a\t-\tX', 'b\t.\t-'])
  })

  it('no matrix in a lab without policies; rows in upstream order, namespace by namespace', () => {
    const model = buildModel(loadTopologyFile(THREE_NODE))
    const probes = selectProbes(model)
    const r = reportOf(model, 'all-pairs', sectionsFor(undefined), {probes, observations: observe(probes), self: new Map()}, 1)
    expect(r.policy?.matrices).toBeUndefined()
    expect(['y/a', 'x/b', 'web', 'x/a', 'z/c'].sort(matrixOrder)).toEqual(['web', 'x/a', 'x/b', 'y/a', 'z/c'])
  })
})
