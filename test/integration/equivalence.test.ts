// The executor's batching and its rtnetlink fast path must build exactly the network that the
// plain, one-command-at-a-time script from `netlab plan --format sh` builds.
import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {DEFAULT_ROUTING_MODE, ROUTING_MODES, routingMode} from '../../src/modes/index.js'
import {snapshot} from '../helpers/kernel-state.js'
import {isRoot, labNetns, labSandbox, netlab, smallTopology, uniqueLab, writeTopology} from '../helpers/lab.js'

/** Labels (every other pod a db) and two policies: db takes 5432 from web, web reaches db only. */
function withPolicies(topo: Record<string, unknown>): void {
  const nodes = topo.nodes as {name: string; pods: number}[]
  topo.nodes = nodes.map((n) => ({
    name: n.name,
    pods: Array.from({length: n.pods}, (_, k) => ({name: `${n.name}-p${k}`, labels: {app: k % 2 ? 'db' : 'web'}})),
  }))
  topo.policies = [
    {name: 'db-in', podSelector: {app: 'db'}, ingress: [{from: [{podSelector: {app: 'web'}}], ports: [{protocol: 'TCP', port: 5432}]}]},
    {
      name: 'web-out',
      podSelector: {app: 'web'},
      policyTypes: ['Egress'],
      egress: [{to: [{podSelector: {app: 'db'}}, {ipBlock: '203.0.113.0/24'}]}],
    },
  ]
}

describe.skipIf(!isRoot)('netlab builds what the hard-way script builds', () => {
  const {stateDir, env, track} = labSandbox()

  // every routing mode on a small lab; on a large one too the default mode and every mode that shapes its neighbours or configures its pods itself (routed pods); the default mode with policies, small and large
  const large = ROUTING_MODES.filter((m) => m === DEFAULT_ROUTING_MODE || routingMode(m).neighbourShape || routingMode(m).configurePod)
  const cases = [
    ...ROUTING_MODES.map(
      (routing) => [`${routing}: a small lab (neighbours learned by ARP)`, {nodes: 3, pods: 2}, routing, false] as const,
    ),
    ...large.map(
      (routing) =>
        [
          `${routing}: a large lab (permanent neighbour entries)`,
          // pods cabled point to point, in no VPC (bgp), need fewer entries: 8 × 6 still learns them by ARP
          routingMode(routing).neighbourShape?.ptp && !routingMode(routing).neighbourShape?.vpcPods
            ? {nodes: 10, pods: 6}
            : {nodes: 8, pods: 6},
          routing,
          false,
        ] as const,
    ),
    [`${DEFAULT_ROUTING_MODE}: a small lab with policies`, {nodes: 3, pods: 2}, DEFAULT_ROUTING_MODE, true] as const,
    // netlab the CNI runtime: the plugins' calls, as the executor's chains run them and as the
    // script's commands do (netlab-cni: the reference bridge names its veths at random)
    [
      `${DEFAULT_ROUTING_MODE}: a small lab wired by CNI (preset netlab)`,
      {nodes: 3, pods: 2},
      DEFAULT_ROUTING_MODE,
      false,
      'netlab',
    ] as const,
    [
      `${DEFAULT_ROUTING_MODE}: a large lab with policies (neighbours through the gateway)`,
      {nodes: 8, pods: 6},
      DEFAULT_ROUTING_MODE,
      true,
    ] as const,
  ]
  for (const [what, size, routing, policies, cniPreset] of cases) {
    it(
      what,
      () => {
        const lab = track(uniqueLab('same'))
        // a VPC host in the small labs: its routes, and the VPC router it brings, are built both ways too
        const topo = smallTopology(lab, {...size, routing, vpcHost: size.nodes === 3})
        if (policies) withPolicies(topo)
        if (cniPreset) (topo.cluster as Record<string, unknown>).cni = {preset: cniPreset}
        const file = writeTopology(stateDir, topo)
        const plan = JSON.parse(netlab(['plan', file, '--format', 'json']).stdout)
        if (size.nodes >= 8) expect(plan.phases.map((p: {id: string}) => p.id)).toContain('neighbours')
        else expect(plan.phases.map((p: {id: string}) => p.id)).not.toContain('neighbours')

        expect(netlab(['up', file, '-q'], env).code).toBe(0)
        const built = snapshot(lab)
        expect(netlab(['down', lab], env).code).toBe(0)

        const script = join(stateDir, `${lab}.sh`)
        writeFileSync(script, netlab(['plan', file, '--format', 'sh'], env).stdout) // same state dir: same ownership mark
        const r = spawnSync('bash', [script], {encoding: 'utf8'})
        expect(r.status, r.stderr).toBe(0)
        const byHand = snapshot(lab)
        expect(netlab(['down', lab], env).code).toBe(0) // the script's namespaces carry the lab's mark
        expect(labNetns(lab)).toEqual([])

        expect(built.length).toBe(byHand.length)
        expect(built).toEqual(byHand)
      },
      120_000,
    )
  }
})
