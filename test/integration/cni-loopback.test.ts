// Finding 12 of issue 22: a user's conflist without the loopback plugin (bridge + host-local +
// tuning) left every pod's lo down, so no pod could reach its own address, and the probe never
// looked. The runtime now brings each pod's lo up itself, as containerd's CRI does with its own
// loopback network, and the probe's pod-own-address check pings each pod's own address from
// inside the pod. Cost: about 5 s (up, probe twice, down of two nodes with two pods each).
import {execFileSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {isRoot, labNetns, labSandbox, netlab, smallTopology, uniqueLab, writeTopology} from '../helpers/lab.js'

/** The reference bridge with host-local, then tuning (a per-namespace sysctl): no loopback plugin. */
const CONFLIST = JSON.stringify({
  cniVersion: '1.0.0',
  name: 'noloop',
  plugins: [
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
        dataDir: '{{.DataDir}}',
      },
    },
    {type: 'tuning', sysctl: {'net.core.somaxconn': '512'}},
  ],
})

interface CheckReport {
  id: string
  passed: number
  failed: number
  results: {ok: boolean; src: {name: string}; explanation?: string}[]
}

describe.skipIf(!isRoot)('a conflist without the loopback plugin', () => {
  const {stateDir, env, track} = labSandbox()

  it("every pod's lo is up, and each pod reaches its own address (pod-own-address); a pod whose lo goes down fails it", () => {
    const lab = track(uniqueLab('cni-noloop'))
    writeFileSync(join(stateDir, `${lab}.conflist`), CONFLIST)
    const topo = smallTopology(lab, {nodes: 2, pods: 2})
    ;(topo.cluster as Record<string, unknown>).cni = {conflist: `${lab}.conflist`}
    const up = netlab(['up', writeTopology(stateDir, topo), '-q'], env)
    expect(up.code, up.stderr).toBe(0)
    const own = (r: {stdout: string}) => (JSON.parse(r.stdout).checks as CheckReport[]).find((c) => c.id === 'pod-own-address')!.results
    const probe = netlab(['probe', lab, '--only', 'pod-pod', '--json'], env)
    expect(probe.code, probe.stdout + probe.stderr).toBe(0)
    expect(
      own(probe)
        .map((r) => [r.src.name, r.ok])
        .sort(),
    ).toEqual([
      ['n0-p0', true],
      ['n0-p1', true],
      ['n1-p0', true],
      ['n1-p1', true],
    ])
    const pods = labNetns(lab).filter((ns) => /\.n\d-p\d$/.test(ns))
    expect(pods).toHaveLength(4)
    for (const ns of pods) {
      const [lo] = JSON.parse(execFileSync('ip', ['-n', ns, '-j', 'link', 'show', 'dev', 'lo'], {encoding: 'utf8'}))
      expect(lo.flags, ns).toContain('UP')
    }
    // the check can fail: one pod's lo down, and only its own-address ping is lost
    execFileSync('ip', ['-n', `netlab-${lab}.n1-p0`, 'link', 'set', 'lo', 'down'])
    const broken = netlab(['probe', lab, '--only', 'pod-pod', '--json'], env)
    expect(broken.code).toBe(1)
    const failed = own(broken).filter((r) => !r.ok)
    expect(failed.map((r) => r.src.name)).toEqual(['n1-p0'])
    expect(netlab(['down', lab], env).code).toBe(0)
    expect(labNetns(lab)).toEqual([])
  })
})
