// The upstream NetworkPolicy e2e suite without root: the e2e topologies are upstream's model (x, y,
// z × a, b, c; labels; upstream's port names; every pod in one /4), and netlab's verdict
// (src/model/verdict.ts, the policies resolved as policy apply resolves them, labels changed as
// netlab label changes them) gives upstream's table on every off-diagonal cell of every case
// that needs no SCTP. The kernel's side is test/integration/netpol-e2e.test.ts.
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {labelCommand, relabel} from '../../src/compile/labels.js'
import {buildModel, modelWith} from '../../src/compile/model.js'
import {resolvePolicies} from '../../src/compile/policies.js'
import {allPods, type LabModel} from '../../src/model/types.js'
import {decide, type FlowEnd} from '../../src/model/verdict.js'
import {loadTopologyFile, parsePolicyFile} from '../../src/topology/parse.js'
import {TOPOLOGIES} from '../helpers/constants.js'
import {CASES, labelWords, policyFile, templates} from '../helpers/netpol-e2e.js'

const PODS = ['x/a', 'x/b', 'x/c', 'y/a', 'y/b', 'y/c', 'z/a', 'z/b', 'z/c']
const variants = ['netpol-e2e', 'netpol-e2e-3node'].map((name) => ({
  name,
  model: buildModel(loadTopologyFile(join(TOPOLOGIES, `${name}.yaml`))),
}))

describe.each(variants)('$name is upstream’s model', ({model}) => {
  it('namespaces x, y, z with their own name label only; pods a, b, c in each, labelled pod: NAME', () => {
    expect(model.namespaces?.filter((n) => n.name !== 'default')).toEqual(
      ['x', 'y', 'z'].map((name) => ({name, labels: {'kubernetes.io/metadata.name': name}})),
    )
    expect(
      allPods(model)
        .map((p) => p.name)
        .sort(),
    ).toEqual(PODS)
    for (const p of allPods(model)) expect(p.labels).toEqual({pod: p.name.split('/')[1]})
  })

  it("every pod serves 80 and 81 over TCP and UDP under upstream's names; all in one /4; policies wired, none in force", () => {
    for (const p of allPods(model))
      expect(p.ports).toEqual([
        {name: 'serve-80-tcp', port: 80, protocol: 'TCP'},
        {name: 'serve-81-tcp', port: 81, protocol: 'TCP'},
        {name: 'serve-80-udp', port: 80, protocol: 'UDP'},
        {name: 'serve-81-udp', port: 81, protocol: 'UDP'},
      ])
    expect(new Set(allPods(model).map((p) => Number(p.ip.split('.')[0]) & 0xf0)).size).toBe(1)
    expect(model.policies).toEqual([])
    expect(model.ipMasq).toBe(false)
  })
})

it('the 3-node variant: each node holds one pod of each namespace', () => {
  const m = variants[1].model
  expect(m.nodes.map((n) => n.pods.map((p) => p.name.split('/')[0]).sort())).toEqual([
    ['x', 'y', 'z'],
    ['x', 'y', 'z'],
    ['x', 'y', 'z'],
  ])
})

/** The model after a step: its label changes (kept from earlier steps in `labelled`), then its policies. */
function stepModel(labelled: LabModel, policies: string): LabModel {
  return modelWith(labelled, {policies: resolvePolicies(parsePolicyFile(policies, 'step.yaml'), labelled)})
}

describe("netlab's verdict gives upstream's tables", () => {
  const base = variants[0].model
  const fill = templates(new Map(allPods(base).map((p) => [p.name, p.ip])))
  const end = (m: LabModel, name: string): FlowEnd => {
    const p = allPods(m).find((x) => x.name === name)!
    return {kind: 'pod', name, ip: p.ip, node: p.node}
  }
  for (const c of CASES.filter((x) => !x.sctp))
    it(`${c.id} ${c.name}`, () => {
      let labelled = base
      const wrong: string[] = []
      c.steps.forEach((step, k) => {
        for (const l of step.labelChanges) {
          const w = labelWords(l, false)
          if (!w) continue
          const {target, edits} = labelCommand(w.words, w.namespace)
          labelled = relabel(labelled, target, edits)
        }
        const m = stepModel(labelled, policyFile(step.policies, fill))
        for (const p of step.probes)
          for (const from of PODS)
            for (const to of PODS) {
              if (from === to) continue
              const v = decide(m, {src: end(m, from), dst: end(m, to), protocol: p.protocol as 'TCP' | 'UDP', port: p.port})
              if (v.allowed !== p.expected[from][to]) wrong.push(`step ${k + 1} ${p.port}/${p.protocol} ${from} → ${to}: ${v.allowed}`)
            }
      })
      expect(wrong).toEqual([])
    })
})
