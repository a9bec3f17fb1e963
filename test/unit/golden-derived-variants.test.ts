// Golden derivations beyond the shipped labs as they are: a big lab's representative probes
// (fifty-node), ipMasq off, some probes failing (the report's ✗ lines, the failures listed and cut,
// the node they share), and --only subsets. Taken from the code before the restructuring, like
// golden-derived.test.ts. Regenerate after an intended change with NETLAB_UPDATE_GOLDEN=1 and
// review the diff; a missing golden file fails.
import {createHash} from 'node:crypto'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {buildModel, modelWith} from '../../src/compile/model.js'
import type {LabModel} from '../../src/model/types.js'
import {addressOwners, renderReport} from '../../src/probe/render.js'
import {coverageFor, sectionsFor, selectProbes} from '../../src/probe/select.js'
import {Tally} from '../../src/probe/tally.js'
import type {Observation, Only, Probe, SelfObservation} from '../../src/probe/types.js'
import {loadTopologyFile} from '../../src/topology/parse.js'

const path = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url))
const load = (name: string) => buildModel(loadTopologyFile(path(`topologies/${name}.yaml`)))

/** What a probe sees: what the model expects, except every `every`-th probe, which sees the opposite. */
function observe(p: Probe, every: number): Observation {
  const wrong = every > 0 && p.id % every === every - 1
  const reply = wrong ? !p.expect.reply : p.expect.reply
  if (!reply) return {reply: false, ms: 1}
  const seen = p.expect.reply && p.expect.seen ? (wrong ? '10.99.99.99' : p.expect.seen) : undefined
  return {reply: true, ...(seen ? {seen} : {}), ms: 1}
}

function derive(model: LabModel, opts: {full?: boolean; only?: Only[]; every?: number}): string {
  const probes = selectProbes(model, {full: opts.full, only: opts.only})
  const tally = new Tally(probes)
  for (const p of probes) tally.add(p.id, observe(p, opts.every ?? 0))
  const self = new Map<string, SelfObservation>(model.nodes.flatMap((n) => n.pods.map((p) => [p.name, {eth0: [p.ip]}])))
  const report = tally.report(model, coverageFor(model, opts.full), sectionsFor(opts.only), self, 0)
  const big = probes.length > 2000
  const probesText = JSON.stringify(probes)
  return (
    JSON.stringify(
      {
        probes: big ? {count: probes.length, sha256: createHash('sha256').update(probesText).digest('hex')} : probes,
        report: renderReport(report, {owners: addressOwners(model)}).split('\n'),
        json: createHash('sha256').update(JSON.stringify(report)).digest('hex'),
      },
      null,
      1,
    ) + '\n'
  )
}

const CASES: Record<string, () => string> = {
  'fifty-node-representative': () => derive(load('fifty-node'), {}),
  'fifty-node-representative-failures': () => derive(load('fifty-node'), {every: 97}),
  'three-node-ipmasq-off': () => derive(modelWith(load('three-node'), {ipMasq: false}), {}),
  'three-node-routes-ipmasq-off': () => derive(modelWith(load('three-node-routes'), {ipMasq: false}), {every: 5}),
  'aws-vpc-ipmasq-off': () => derive(modelWith(load('aws-vpc'), {ipMasq: false}), {}),
  'three-node-failures': () => derive(load('three-node'), {every: 7}),
  'policy-three-tier-failures': () => derive(load('policy-three-tier'), {every: 7}),
  'gke-vpc-native-only-vpc-egress': () => derive(load('gke-vpc-native'), {only: ['vpc', 'egress'], every: 3}),
  'policy-three-tier-only-policy': () => derive(load('policy-three-tier'), {only: ['policy']}),
}

describe('golden derivations: variants', () => {
  for (const [name, make] of Object.entries(CASES)) {
    it(`${name}: probes and report are unchanged`, () => {
      const text = make()
      const golden = path(`test/fixtures/golden/derived/variants/${name}.json`)
      if (process.env.NETLAB_UPDATE_GOLDEN) writeFileSync(golden, text)
      expect(existsSync(golden), `${golden} is missing: NETLAB_UPDATE_GOLDEN=1 writes it`).toBe(true)
      expect(text).toBe(readFileSync(golden, 'utf8'))
    })
  }
})
