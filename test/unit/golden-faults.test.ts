// Golden faults: every fault netlab break can inject into a shipped lab of each
// routing mode (and the policy and two-segment labs) (kind, where,
// what, and its plan as text) stays as it was. Regenerate after an intended change with
// NETLAB_UPDATE_GOLDEN=1 npx vitest run test/unit/golden-faults.test.ts and review the diff.
// A missing golden file fails.
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {buildModel} from '../../src/compile/model.js'
import {compilePlan} from '../../src/compile/plan.js'
import {candidates, FAULT_KINDS, FAULT_TEXT} from '../../src/exercise/faults.js'
import {renderPlan} from '../../src/plan/render.js'
import {loadTopologyFile} from '../../src/topology/parse.js'

const path = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url))
const CASES = [
  'three-node',
  'three-node-vxlan',
  'three-node-routes',
  'two-segment-vxlan',
  'aws-vpc',
  'gke-vpc-native',
  'policy-three-tier',
  'services',
  'three-node-bgp',
]

describe('golden faults', () => {
  for (const name of CASES) {
    it(`${name}: every fault break can inject is unchanged`, () => {
      const model = buildModel(loadTopologyFile(path(`topologies/${name}.yaml`)))
      const plan = compilePlan(model)
      const faults = FAULT_KINDS.map((kind) => ({
        kind,
        text: FAULT_TEXT[kind],
        faults: candidates(model, plan, kind).map((f) => ({where: f.where, what: f.what, plan: renderPlan(f.plan, 'text').split('\n')})),
      }))
      const text = JSON.stringify(faults, null, 1) + '\n'
      const golden = path(`test/fixtures/golden/faults/${name}.json`)
      if (process.env.NETLAB_UPDATE_GOLDEN) writeFileSync(golden, text)
      expect(existsSync(golden), `${golden} is missing: NETLAB_UPDATE_GOLDEN=1 writes it`).toBe(true)
      expect(text).toBe(readFileSync(golden, 'utf8'))
    })
  }
})
