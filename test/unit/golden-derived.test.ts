// Golden derivations: what netlab derives from each topology besides the plan (the model it saves,
// the probes it plans, the graph it draws, the report it prints when every probe sees what the
// model expects) must not change when the code is restructured. Regenerate after an intended change
// with NETLAB_UPDATE_GOLDEN=1 npx vitest run test/unit/golden-derived.test.ts and review the diff.
// A missing golden file fails.
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {loadTopologyFile} from '../../src/topology/parse.js'
import {buildModel} from '../../src/compile/model.js'
import {buildGraph} from '../../src/graph/build.js'
import {toDot} from '../../src/graph/dot.js'
import {coverageFor, sectionsFor, selectProbes} from '../../src/probe/select.js'
import {renderReport} from '../../src/probe/render.js'
import {Tally} from '../../src/probe/tally.js'
import type {Observation, Probe, SelfObservation} from '../../src/probe/types.js'

const path = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url))
const CASES = [
  'three-node',
  'three-node-vxlan',
  'three-node-routes',
  'two-segment-routes',
  'two-segment-vxlan',
  'aws-vpc',
  'gke-vpc-native',
  'cni-reference',
  'cni-bash',
  'cni-netlab',
  'policy-three-tier',
]

/** What a probe sees when the lab is exactly as the model says. */
function asExpected(p: Probe): Observation {
  return p.expect.reply ? {reply: true, ...(p.expect.seen ? {seen: p.expect.seen} : {}), ms: 1} : {reply: false, ms: 1}
}

function derive(file: string): string {
  const model = buildModel(loadTopologyFile(path(file)))
  const out: Record<string, unknown> = {model}
  for (const full of [false, true]) {
    const coverage = coverageFor(model, full)
    const sections = sectionsFor()
    const probes = selectProbes(model, {full})
    const tally = new Tally(probes)
    for (const p of probes) tally.add(p.id, asExpected(p))
    const self = new Map<string, SelfObservation>(model.nodes.flatMap((n) => n.pods.map((p) => [p.name, {eth0: [p.ip]}])))
    const report = tally.report(model, coverage, sections, self, 0)
    out[full ? 'full' : 'default'] = {probes, report: renderReport(report).split('\n')}
  }
  out.graph = toDot(buildGraph(model)).split('\n')
  return JSON.stringify(out, null, 1) + '\n'
}

describe('golden derivations', () => {
  for (const name of CASES) {
    it(`${name}: model, probes, report and graph are unchanged`, () => {
      const text = derive(`topologies/${name}.yaml`)
      const golden = path(`test/fixtures/golden/derived/${name}.json`)
      if (process.env.NETLAB_UPDATE_GOLDEN) writeFileSync(golden, text)
      expect(existsSync(golden), `${golden} is missing: NETLAB_UPDATE_GOLDEN=1 writes it`).toBe(true)
      expect(text).toBe(readFileSync(golden, 'utf8'))
    })
  }
})
