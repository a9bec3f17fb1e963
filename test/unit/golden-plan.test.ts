// Golden plans: refactoring the compiler must not change a byte of what netlab runs or prints.
// Every routing mode, every CNI preset and a policy lab has one. Regenerate after an intended change
// with NETLAB_UPDATE_GOLDEN=1 npx vitest run test/unit/golden-plan.test.ts, and read the diff of
// test/fixtures/golden/ as part of the review. A missing golden file fails: it is never written silently.
import {createHash} from 'node:crypto'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {loadTopologyFile} from '../../src/topology/parse.js'
import {buildModel} from '../../src/compile/model.js'
import {compilePlan} from '../../src/compile/plan.js'
import {renderPlan} from '../../src/plan/render.js'

const path = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url))
const CASES = {
  'three-node': 'topologies/three-node.yaml',
  mixed: 'test/fixtures/golden/mixed.yaml',
  'three-node-vxlan': 'topologies/three-node-vxlan.yaml',
  'three-node-routes': 'topologies/three-node-routes.yaml',
  'two-segment-routes': 'topologies/two-segment-routes.yaml',
  'two-segment-vxlan': 'topologies/two-segment-vxlan.yaml',
  'aws-vpc': 'topologies/aws-vpc.yaml',
  'gke-vpc-native': 'topologies/gke-vpc-native.yaml',
  'cni-reference': 'topologies/cni-reference.yaml',
  'cni-bash': 'topologies/cni-bash.yaml',
  'cni-netlab': 'topologies/cni-netlab.yaml',
  'policy-three-tier': 'topologies/policy-three-tier.yaml',
  'three-node-bgp': 'topologies/three-node-bgp.yaml',
  'two-segment-bgp': 'topologies/two-segment-bgp.yaml',
  // 5,000+ actions: kept as a digest, not as 13 MB of text
  'fifty-node': 'topologies/fifty-node.yaml',
}
const DIGEST_ONLY = new Set(['fifty-node'])

describe('golden plans', () => {
  for (const [name, file] of Object.entries(CASES)) {
    it(`${name}: the plan (json, text and sh) is unchanged`, () => {
      const plan = compilePlan(buildModel(loadTopologyFile(path(file))))
      for (const format of ['json', 'text', 'sh'] as const) {
        const rendered = renderPlan(plan, format)
        const digest = DIGEST_ONLY.has(name)
        const golden = path(`test/fixtures/golden/${name}.${format}${digest ? '.sha256' : ''}`)
        const text = digest ? createHash('sha256').update(rendered).digest('hex') + '\n' : rendered
        if (process.env.NETLAB_UPDATE_GOLDEN) writeFileSync(golden, text)
        expect(existsSync(golden), `${golden} is missing: NETLAB_UPDATE_GOLDEN=1 writes it`).toBe(true)
        expect(text, `${name}.${format}`).toBe(readFileSync(golden, 'utf8'))
      }
    })
  }
})
