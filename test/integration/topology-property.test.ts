// Every topology `netlab validate` accepts comes up, passes `netlab probe` and goes down cleanly:
// random valid topologies (test/helpers/topologies.ts: 1-6 nodes, 0-5 pods each, /22-/29 node
// subnets, fixed and automatic addresses, 0-2 external hosts, ipMasq on and off, every routing
// mode whose pods take their node's subnet, one or two underlay segments; about half of them
// with Services: labels and ports on pods, ClusterIP and NodePort Services, externalTrafficPolicy
// Local, ClientIP affinity, named target ports, UDP ports, Services without endpoints) on real
// namespaces: the probe's services section must pass on them too. Also, from the kernel: no veth
// pair in the lab has the same interface index at both ends (the kernel handles such a pair's
// link events late).
//
// Sampling: RUNS topologies drawn by fast-check from one fixed seed, so every run of the suite
// builds the same ones (NETLAB_PROPERTY_SEED=<seed> draws others, or replays a failure). RUNS is
// what fits in about 60-90 s on the 2-core CI machine: each topology costs 2-5 s (up, probe,
// down, and a snapshot of the root namespace), more with ipMasq off, whose egress checks wait
// for replies that must not come, and a lab with Services about 1 s more (kube-proxy's rules
// and the workload in up, and the services section, whose NodePorts that must stay silent get
// half a second). With Services in half the labs, the 24 took 83 s on the loaded 2-core machine.
// The pure property (test/unit/topology-property.test.ts) covers hundreds more. A failure is shrunk (within a time limit) and printed as YAML.
import {execFileSync} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {destroyLab, isRoot, labNetns, makeStateDir, netlab, removeDir, rootSnapshot, uniqueLab, writeTopology} from '../helpers/lab.js'
import {checkTopologies, propertySeed, validTopology, type TopologyDoc} from '../helpers/topologies.js'

const RUNS = 24
const CNI_RUNS = 1

interface Link {
  ifname: string
  ifindex: number
  link_index?: number
  link_netnsid?: number
}

/** veth ends, in any of the lab's namespaces, whose peer has the same interface index. */
function sameIndexPairs(lab: string): string[] {
  const bad: string[] = []
  for (const ns of labNetns(lab)) {
    const links = JSON.parse(execFileSync('ip', ['-n', ns, '-j', 'link'], {encoding: 'utf8'}) || '[]') as Link[]
    for (const l of links) if (l.link_index !== undefined && l.link_index === l.ifindex) bad.push(`${ns}/${l.ifname} (${l.ifindex})`)
  }
  return bad
}

describe.skipIf(!isRoot)('random valid topologies on real namespaces', () => {
  let stateDir = ''
  beforeAll(() => void (stateDir = makeStateDir()))
  afterAll(() => removeDir(stateDir))

  /** validate, up, probe, down one topology; `cni`: its pods wired by CNI plugins instead */
  function check(t: TopologyDoc, env: Record<string, string>, before: string, labs: string[], cni?: Record<string, string>): void {
    const lab = uniqueLab('prop')
    labs.push(lab)
    const file = writeTopology(stateDir, {...t, name: lab, ...(cni ? {cluster: {...t.cluster, cni}} : {})})
    let clean = false
    try {
      const v = netlab(['validate', file], env)
      expect(v.code, `validate: ${v.stderr}`).toBe(0)
      const up = netlab(['up', file, '-q'], env)
      expect(up.code, `up: ${up.stderr}`).toBe(0)
      expect(sameIndexPairs(lab), 'veth pairs whose two ends have the same ifindex').toEqual([])
      const probe = netlab(['probe', lab], env)
      expect(probe.code, `probe:\n${probe.stdout}${probe.stderr}`).toBe(0)
      expect(probe.stdout.trimEnd().split('\n').at(-1)).toMatch(/^\d+ passed, 0 failed($| — no check of this run applies)/)
      // a lab with Services: their section ran, and proved something (not only "not applicable")
      if (t.services) expect(probe.stdout, probe.stdout).toMatch(/\n {2}✓ pod → ClusterIP|\n {2}✓ a Service without endpoints/)
      const down = netlab(['down', lab], env)
      expect(down.code, `down: ${down.stderr}`).toBe(0)
      expect(labNetns(lab), 'namespaces left after down').toEqual([])
      expect(rootSnapshot(), 'the root namespace changed').toBe(before)
      clean = true
    } finally {
      // a failed run leaves nothing for the next one (or a shrink of it) to trip on
      if (!clean) destroyLab(lab, stateDir)
    }
  }

  it(`${RUNS} of them: validate, up, probe, down; no namespace left, the root namespace unchanged`, async () => {
    const env = {NETLAB_STATE_DIR: stateDir}
    const before = rootSnapshot()
    const labs: string[] = []
    let withServices = 0
    await checkTopologies(
      validTopology('prop', {services: true}),
      (t) => {
        if (t.services) withServices++
        check(t, env, before, labs)
      },
      // shrinking re-runs whole labs: bounded, so a failure is reported within minutes
      {seed: propertySeed(8), numRuns: RUNS, interruptAfterTimeLimit: 300_000},
    )
    expect(labs.length).toBeGreaterThanOrEqual(RUNS)
    expect(withServices, 'labs with Services among them').toBeGreaterThanOrEqual(RUNS / 4)
    for (const lab of labs) expect(labNetns(lab), lab).toEqual([])
  }, 600_000)

  // The same property with pods wired by CNI plugins (cluster.cni), for each preset (the
  // reference plugins, netlab-cni, bash-cni): CNI_RUNS topologies each, from a fixed seed of the
  // preset's own, since each costs as much as above.
  for (const [i, preset] of (['reference', 'netlab', 'bash'] as const).entries()) {
    it(`${CNI_RUNS} of them with cluster.cni preset ${preset}: the same`, async () => {
      const env = {NETLAB_STATE_DIR: stateDir}
      const before = rootSnapshot()
      const labs: string[] = []
      await checkTopologies(validTopology('prop'), (t) => check(t, env, before, labs, {preset}), {
        seed: propertySeed(11 + i),
        numRuns: CNI_RUNS,
        interruptAfterTimeLimit: 120_000,
      })
      expect(labs.length).toBeGreaterThanOrEqual(CNI_RUNS)
      for (const lab of labs) expect(labNetns(lab), lab).toEqual([])
    }, 300_000)
  }
})
