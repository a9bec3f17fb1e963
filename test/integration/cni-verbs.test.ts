// CNI 1.1's runtime verbs, as netlab the runtime uses them with netlab-cni (which speaks 1.1.0;
// Debian's reference plugins stop at 1.0.0): a conflist's cniVersions is honoured (the highest
// version both sides speak), STATUS runs before a node's first ADD and a 50 stops that node's
// chain with no ADD tried, GC frees what no pod holds — by `netlab cni gc`, and at `down`.
// The host-local stores sit in a directory of the test's own, so they outlive the lab's state.
// Cost: about 10 s.
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {isRoot, labNetns, labSandbox, netlab, ROOT, smallTopology, uniqueLab, writeTopology} from '../helpers/lab.js'

const NETWORK = 'verbs'

/** netlab-cni alone (the runtime brings lo up), its stores in `dir`, one per node. */
function conflist(dir: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    cniVersions: ['1.0.0', '1.1.0', '9.9.9'],
    name: NETWORK,
    ...extra,
    plugins: [
      {
        type: 'netlab-cni',
        bridge: 'cni0',
        isGateway: true,
        capabilities: {mac: true, ips: true},
        ipam: {type: 'host-local', ranges: [[{subnet: '{{.PodCIDR}}', gateway: '{{.Gateway}}'}]], dataDir: `${dir}/ipam-{{.Gateway}}`},
      },
    ],
  })
}

/** The store of the node whose gateway is `gw`, and the addresses it holds. */
const store = (dir: string, gw: string) => join(dir, `ipam-${gw}`, NETWORK)
const held = (dir: string, gw: string) =>
  existsSync(store(dir, gw))
    ? readdirSync(store(dir, gw))
        .filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f))
        .sort()
    : []

/** An address reserved by an ADD whose DEL never ran: a container the runtime does not know. */
const leak = (dir: string, gw: string, ip: string) => writeFileSync(join(store(dir, gw), ip), 'ghost\r\neth0')

describe.skipIf(!isRoot || !existsSync(join(ROOT, 'dist/netlab-cni.mjs')))('CNI 1.1 verbs: cniVersions, STATUS, GC', () => {
  const {stateDir, env, track} = labSandbox()

  function topology(lab: string, text: string): string {
    writeFileSync(join(stateDir, `${lab}.conflist`), text)
    const topo = smallTopology(lab, {nodes: 2, pods: 2})
    ;(topo.cluster as Record<string, unknown>).cni = {conflist: `${lab}.conflist`}
    return writeTopology(stateDir, topo)
  }

  it('speaks 1.1.0 (the highest of cniVersions it knows); cni gc frees a leaked address and keeps the pods; down GCs too', () => {
    const lab = track(uniqueLab('cni-verbs'))
    const dir = join(stateDir, `${lab}-stores`)
    mkdirSync(dir)
    const up = netlab(['up', topology(lab, conflist(dir)), '-q'], env)
    expect(up.code, up.stderr).toBe(0)
    const cache = join(stateDir, lab, 'cni', 'cache', 'results', `${NETWORK}-netlab-${lab}.n0-p0-eth0`)
    expect(JSON.parse(readFileSync(cache, 'utf8')).result.cniVersion).toBe('1.1.0')
    expect(held(dir, '10.244.0.1')).toEqual(['10.244.0.2', '10.244.0.3'])
    leak(dir, '10.244.0.1', '10.244.0.200')
    const gc = netlab(['cni', 'gc', lab, '--json'], env)
    expect(gc.code, gc.stdout + gc.stderr).toBe(0)
    expect(JSON.parse(gc.stdout)).toMatchObject({
      failed: 0,
      nodes: [
        {node: 'n0', ok: true},
        {node: 'n1', ok: true},
      ],
    })
    expect(JSON.parse(gc.stdout).valid).toHaveLength(4)
    expect(held(dir, '10.244.0.1')).toEqual(['10.244.0.2', '10.244.0.3'])
    expect(held(dir, '10.244.1.1')).toEqual(['10.244.1.2', '10.244.1.3'])
    // down: the DELs free the pods' addresses, the GC after them what no DEL knew of
    leak(dir, '10.244.1.1', '10.244.1.200')
    const down = netlab(['down', lab], env)
    expect(down.code, down.stderr).toBe(0)
    expect(labNetns(lab)).toEqual([])
    expect(held(dir, '10.244.0.1')).toEqual([])
    expect(held(dir, '10.244.1.1')).toEqual([])
  })

  it('STATUS 50 (no address left on n1) stops n1 before any ADD, with a clear message; up rolls back', () => {
    const lab = track(uniqueLab('cni-status'))
    const dir = join(stateDir, `${lab}-stores`)
    mkdirSync(store(dir, '10.244.1.1'), {recursive: true})
    writeFileSync(join(store(dir, '10.244.1.1'), 'lock'), '')
    for (let i = 2; i <= 254; i++) leak(dir, '10.244.1.1', `10.244.1.${i}`)
    const up = netlab(['up', topology(lab, conflist(dir)), '-q'], env)
    expect(up.code).toBe(1)
    expect(up.stderr).toContain('plugin netlab-cni (node n1, CNI_COMMAND=STATUS): the plugin is not available (STATUS error 50')
    expect(up.stderr).toContain('no pod of node n1 was added')
    expect(up.stderr).toMatch(/rolled back/)
    expect(labNetns(lab)).toEqual([])
    // n1's chain stopped at STATUS: no ADD, and no GC either (its STATUS was not applied)
    expect(held(dir, '10.244.1.1')).toHaveLength(253)
  })

  it('disableGC: no GC at down, and cni gc refuses (exit 2)', () => {
    const lab = track(uniqueLab('cni-nogc'))
    const dir = join(stateDir, `${lab}-stores`)
    mkdirSync(dir)
    const up = netlab(['up', topology(lab, conflist(dir, {disableGC: true})), '-q'], env)
    expect(up.code, up.stderr).toBe(0)
    leak(dir, '10.244.0.1', '10.244.0.200')
    const gc = netlab(['cni', 'gc', lab], env)
    expect(gc.code).toBe(2)
    expect(gc.stderr).toContain('disableGC')
    expect(netlab(['down', lab], env).code).toBe(0)
    expect(held(dir, '10.244.0.1')).toEqual(['10.244.0.200'])
  })
})
