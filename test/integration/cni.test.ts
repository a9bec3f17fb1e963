// netlab as the CNI runtime, proven from the machine: the reference plugins wire three nodes'
// pods, probe passes without NAT, CHECK passes, and every DEL really ran — on down (also for a
// pod whose namespace someone deleted) and on the rollback of an ADD chain that fails halfway.
// The host-local stores sit in a directory of the test's own (a conflist template, not the
// preset), so what the DELs freed can be read after the lab's state directory is gone.
// Cost: about 10 s for those two, and about 4 s for each other preset (up, CHECK, down on two
// nodes; probe.test.ts probes topologies/cni-*.yaml). Faults at CNI steps: reliability.test.ts.
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {isRoot, labNetns, labSandbox, netlab, ROOT, smallTopology, uniqueLab, writeTopology} from '../helpers/lab.js'

/** The reference bridge chain as a user's conflist: its stores in `dir`, one per node; `extra` plugins after the bridge. */
function conflist(dir: string, extra: Record<string, unknown>[] = []): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'testnet',
    plugins: [
      {type: 'loopback'},
      {
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        ipMasq: false,
        capabilities: {mac: true},
        ipam: {
          type: 'host-local',
          ranges: [[{subnet: '{{.PodCIDR}}', gateway: '{{.Gateway}}'}]],
          routes: [{dst: '0.0.0.0/0'}],
          dataDir: `${dir}/ipam-{{.Gateway}}`,
        },
      },
      ...extra,
    ],
  })
}

/** Addresses host-local holds, over every node's store (file names that are IPv4 addresses). */
function reserved(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((d) => d.startsWith('ipam-'))
    .flatMap((d) => (existsSync(join(dir, d, 'testnet')) ? readdirSync(join(dir, d, 'testnet')) : []))
    .filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f))
    .sort()
}

describe.skipIf(!isRoot)('netlab as the CNI runtime', () => {
  const {stateDir, env, track} = labSandbox()

  function topology(name: string, cni: Record<string, unknown>, nodes = 3, pods = 2): string {
    const topo = smallTopology(name, {nodes, pods})
    ;(topo.cluster as Record<string, unknown>).cni = cni
    return writeTopology(stateDir, topo)
  }

  it('reference plugins: up, probe without NAT, CHECK, then down runs every DEL (one pod namespace already gone)', () => {
    const lab = track(uniqueLab('cni-ref'))
    const stores = join(stateDir, `${lab}-stores`)
    mkdirSync(stores)
    writeFileSync(join(stateDir, `${lab}.conflist`), conflist(stores))
    const up = netlab(['up', topology(lab, {conflist: `${lab}.conflist`}), '-q'], env)
    expect(up.code, up.stderr).toBe(0)
    // host-local handed out the addresses the model predicted (first free from the range start, in pod order)
    expect(reserved(stores)).toEqual(['10.244.0.2', '10.244.0.3', '10.244.1.2', '10.244.1.3', '10.244.2.2', '10.244.2.3'])
    // the saved model names each pod's cable as the plugin did (bridge picks veth names at random):
    // the kernel has that link in the node, on cni0; status, graph and trace read these names
    const model = JSON.parse(readFileSync(join(stateDir, lab, 'state.json'), 'utf8')).model as {
      nodes: {netns: string; bridge: string; pods: {name: string; hostVeth: string}[]}[]
    }
    for (const n of model.nodes)
      for (const p of n.pods) {
        expect(p.hostVeth).not.toBe(`veth-${p.name}`)
        const [link] = JSON.parse(execFileSync('ip', ['-n', n.netns, '-j', 'link', 'show', 'dev', p.hostVeth], {encoding: 'utf8'}))
        expect(link.master).toBe(n.bridge)
      }
    const probe = netlab(['probe', lab], env)
    expect(probe.code, probe.stdout + probe.stderr).toBe(0)
    expect(probe.stdout).toMatch(/\n\d+ passed, 0 failed\s*$/)
    // policies need netlab's own wiring: refused on a lab its plugins wired, as up refuses them
    writeFileSync(join(stateDir, `${lab}-policies.yaml`), 'policies:\n  - name: deny\n    podSelector: {}\n    ingress: []\n')
    const policy = netlab(['policy', 'apply', lab, join(stateDir, `${lab}-policies.yaml`)], env)
    expect(policy.code).toBe(2)
    expect(policy.stderr).toContain(`lab ${lab} is wired by CNI plugins (cluster.cni): network policies need netlab's own pod wiring`)
    const check = netlab(['cni', 'check', lab, '--json'], env)
    expect(check.code, check.stdout + check.stderr).toBe(0)
    expect(JSON.parse(check.stdout)).toMatchObject({passed: 6, failed: 0})
    // someone deletes a pod's namespace: its DEL still runs (CNI_NETNS empty) and frees the address
    const gone = `netlab-${lab}.n1-p0`
    expect(labNetns(lab)).toContain(gone)
    execFileSync('ip', ['netns', 'del', gone])
    const broken = netlab(['cni', 'check', lab], env)
    expect(broken.code).toBe(1)
    expect(broken.stdout).toMatch(/FAIL n1-p0 \(on n1\): plugin (loopback|bridge) \(pod n1-p0, CNI_COMMAND=CHECK\)/)
    const down = netlab(['down', lab], env)
    expect(down.code, down.stderr).toBe(0)
    expect(labNetns(lab)).toEqual([])
    expect(reserved(stores)).toEqual([])
    expect(existsSync(join(stateDir, lab))).toBe(false) // conflists, result cache: the lab's state dir is gone
  })

  it('an ADD chain failing halfway (tuning after bridge) rolls back: DEL of every plugin, the failed one too', () => {
    const lab = track(uniqueLab('cni-fail'))
    const stores = join(stateDir, `${lab}-stores`)
    mkdirSync(stores)
    // tuning runs after the bridge has made the veth and reserved the address, and fails for real
    writeFileSync(join(stateDir, `${lab}.conflist`), conflist(stores, [{type: 'tuning', sysctl: {'net.netlab.no_such_setting': '1'}}]))
    const up = netlab(['up', topology(lab, {conflist: `${lab}.conflist`}, 2, 1), '-q'], env)
    expect(up.code).toBe(1)
    expect(up.stderr).toMatch(/plugin tuning \(pod n\d-p0, CNI_COMMAND=ADD\): \{/) // the plugin's error result, verbatim
    expect(up.stderr).toMatch(/"code": ?\d+/)
    expect(up.stderr).toMatch(/rolled back/)
    expect(labNetns(lab)).toEqual([])
    expect(reserved(stores)).toEqual([]) // the bridge's address was released by its DEL
  })

  for (const [preset, plugin] of [
    ['netlab', 'bin/netlab-cni'],
    ['bash', 'examples/bash-cni/bash-cni'],
  ]) {
    it.skipIf(!existsSync(join(ROOT, plugin)))(`preset ${preset}: up, CHECK, down`, () => {
      const lab = track(uniqueLab(`cni-${preset}`))
      const up = netlab(['up', topology(lab, {preset}, 2, 1), '-q'], env)
      expect(up.code, up.stderr).toBe(0)
      const check = netlab(['cni', 'check', lab], env)
      expect(check.code, check.stdout + check.stderr).toBe(0)
      expect(netlab(['down', lab], env).code).toBe(0)
      expect(labNetns(lab)).toEqual([])
    })
  }
})
