// netlab-cni against the reference: the same sequence of calls (VERSION, ADD, CHECK, ADD again,
// DEL, DEL again, CHECK after DEL, bad environments, an unknown cniVersion, bad JSON, an
// exhausted range) goes to /usr/lib/cni/bridge (with host-local) and to bin/netlab-cni, each in
// a scratch node namespace of its own with a pod namespace beside it, and the answers must agree:
// the same error code wherever the reference uses one of the spec's (1-99; its catch-all 999
// only asks for an error), results of the same shape, the same host-local store byte for byte,
// the same addresses and routes in the pod. Then what only netlab-cni has (STATUS, GC, parallel
// ADDs on one store, the resident worker) and the bash plugin's ADD/CHECK/DEL/VERSION. About 10 s.
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {Result} from '../../src/cni/plugin/result.js'
import {isRoot, removeDir, ROOT, waitFor} from '../helpers/lab.js'

const REFERENCE = '/usr/lib/cni/bridge'
const NETLAB = join(ROOT, 'bin', 'netlab-cni')
const BASH = join(ROOT, 'examples', 'bash-cni', 'bash-cni')

interface Call {
  exit: number
  out: any
  stdout: string
}

/** Scratch namespaces: a node (where the plugin runs) and pods. Never the root namespace. */
function scratch(tag: string, pods: number) {
  const base = `netlab-cnitest-${process.pid}-${tag}`
  const node = `${base}-node`
  const pod = Array.from({length: pods}, (_, i) => `${base}-pod${i}`)
  const dataDir = mkdtempSync(join(tmpdir(), `netlab-cnitest-${tag}-`))
  return {
    node,
    pod,
    dataDir,
    create: () => [node, ...pod].forEach((ns) => expect(spawnSync('ip', ['netns', 'add', ns]).status).toBe(0)),
    destroy: () => {
      for (const ns of [node, ...pod]) if (existsSync(`/run/netns/${ns}`)) spawnSync('ip', ['netns', 'del', ns])
      removeDir(dataDir)
    },
  }
}

/** Run a plugin in the node namespace with exactly the CNI variables given (and PATH). */
function call(plugin: string, node: string, env: Record<string, string | undefined>, stdin: unknown): Call {
  const input = typeof stdin === 'string' ? stdin : JSON.stringify(stdin)
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>
  const r = spawnSync('ip', ['netns', 'exec', node, plugin], {env: {PATH: process.env.PATH, ...clean}, input, encoding: 'utf8'})
  let out: any
  try {
    out = r.stdout.trim() ? JSON.parse(r.stdout) : undefined
  } catch {
    out = r.stdout
  }
  return {exit: r.status ?? -1, out, stdout: r.stdout}
}

/** A store directory as name -> content (netlab-cni's mutex file exists only during a call). */
function store(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {}
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]))
}

/** A result without what is random by design: MACs (checked for form) and the host veth's name. */
function shape(result: Result): Result {
  return {
    ...result,
    interfaces: result.interfaces.map((i) => {
      expect(i.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/)
      const sandbox = i.sandbox?.replace(/-(ref|nlb)-/, '-*-')
      return {...i, mac: 'MAC', name: i.name.replace(/^veth[0-9a-f]+$/, 'veth*'), ...(sandbox ? {sandbox} : {})}
    }),
  }
}

/** What the pod's kernel says: IPv4 addresses of the interface and the routes. */
function podView(pod: string, ifname: string): {addrs: string[]; routes: string[]} {
  const addrs = JSON.parse(spawnSync('ip', ['-n', pod, '-j', '-4', 'addr', 'show', 'dev', ifname], {encoding: 'utf8'}).stdout || '[]')
  const routes = JSON.parse(spawnSync('ip', ['-n', pod, '-j', 'route'], {encoding: 'utf8'}).stdout || '[]')
  return {
    addrs: addrs.flatMap((l: any) => l.addr_info.map((a: any) => `${a.local}/${a.prefixlen}`)),
    routes: routes.map((r: any) => `${r.dst} ${r.gateway ?? ''} ${r.dev}`),
  }
}

const conf = (type: string, dataDir: string, version = '1.0.0') => ({
  cniVersion: version,
  name: 'conformance',
  type,
  bridge: 'cni0',
  isGateway: true,
  isDefaultGateway: true,
  ipMasq: false,
  ipam: {type: 'host-local', ranges: [[{subnet: '10.99.0.0/28', gateway: '10.99.0.1'}]], dataDir},
})

/** a /30: one address to give (.2), the gateway is .1 */
const tiny = (type: string, dataDir: string) => ({
  cniVersion: '1.0.0',
  name: 'tiny',
  type,
  bridge: 'cni1',
  isGateway: true,
  ipam: {type: 'host-local', subnet: '10.98.0.0/30', dataDir},
})

interface Run {
  steps: Record<string, Call>
  stores: Record<string, Record<string, string>>
  pod: {addrs: string[]; routes: string[]}
  ping: number
  /** the node's ip_forward after ADD (a gateway bridge routes) */
  forwarding: string
  /** the pod's eth0 MAC, as the kernel has it, after the ADD with runtimeConfig.mac */
  podMac: string
}

const ASKED_MAC = '0a:58:0a:63:00:09'

/** The whole sequence against one plugin; every answer and store is kept for comparison. */
function sequence(plugin: string, type: string, ns: ReturnType<typeof scratch>): Run {
  const netns = `/var/run/netns/${ns.pod[0]}`
  const env = {CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'ctr1', CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni'}
  const c = conf(type, ns.dataDir)
  const dir = join(ns.dataDir, 'conformance')
  const steps: Record<string, Call> = {}
  const stores: Record<string, Record<string, string>> = {}
  const run = (name: string, e: Record<string, string | undefined>, stdin: unknown = c) => (steps[name] = call(plugin, ns.node, e, stdin))

  run('VERSION', {CNI_COMMAND: 'VERSION'})
  const added = run('ADD', env)
  stores.afterAdd = store(dir)
  const pod = podView(ns.pod[0], 'eth0')
  const ping = spawnSync('ip', ['netns', 'exec', ns.pod[0], 'ping', '-c1', '-W5', '10.99.0.1']).status ?? -1
  const forwarding = spawnSync('ip', ['netns', 'exec', ns.node, 'cat', '/proc/sys/net/ipv4/ip_forward'], {encoding: 'utf8'}).stdout.trim()
  run('CHECK', {...env, CNI_COMMAND: 'CHECK'}, {...c, prevResult: added.out})
  run('ADD again', env)
  stores.afterAddAgain = store(dir)
  run('DEL', {...env, CNI_COMMAND: 'DEL'}, {...c, prevResult: added.out})
  stores.afterDel = store(dir)
  run('DEL again', {...env, CNI_COMMAND: 'DEL'}, {...c, prevResult: added.out})
  run('CHECK after DEL', {...env, CNI_COMMAND: 'CHECK'}, {...c, prevResult: added.out})
  for (const key of ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH']) run(`ADD without ${key}`, {...env, [key]: undefined})
  run('ADD with a 16-byte CNI_IFNAME', {...env, CNI_IFNAME: 'eth0123456789abc'})
  run('ADD with a / in CNI_IFNAME', {...env, CNI_IFNAME: 'eth/0'})
  run('ADD with a / in CNI_CONTAINERID', {...env, CNI_CONTAINERID: 'ctr/1'})
  run('ADD with an unknown command', {...env, CNI_COMMAND: 'ATTACH'})
  run('ADD with cniVersion 9.9.9', env, {...c, cniVersion: '9.9.9'})
  run('ADD with bad JSON', env, '{"cniVersion": "1.0.0", "name": ')
  stores.afterBadCalls = store(dir)
  const t = tiny(type, ns.dataDir)
  run('ADD to a /30', {...env, CNI_CONTAINERID: 'ctr-a', CNI_IFNAME: 'net1'}, t)
  run('ADD to a full /30', {...env, CNI_CONTAINERID: 'ctr-b', CNI_IFNAME: 'net2'}, t)
  stores.exhausted = store(join(ns.dataDir, 'tiny'))
  run('DEL from the /30', {...env, CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'ctr-a', CNI_IFNAME: 'net1'}, t)
  stores.tinyAfterDel = store(join(ns.dataDir, 'tiny'))
  run('ADD 0.4.0', {...env, CNI_CONTAINERID: 'ctr2'}, conf(type, ns.dataDir, '0.4.0'))
  run('DEL 0.4.0', {...env, CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'ctr2'}, conf(type, ns.dataDir, '0.4.0'))
  // the capabilities a runtime fills in (kubelet/containerd: mac; ips): that MAC, exactly that address
  const rc = {...c, capabilities: {mac: true, ips: true}, runtimeConfig: {mac: ASKED_MAC, ips: ['10.99.0.9/28']}}
  run('ADD with runtimeConfig mac and ips', {...env, CNI_CONTAINERID: 'ctr3'}, rc)
  stores.afterRuntimeConfig = store(dir)
  const podMac = JSON.parse(spawnSync('ip', ['-n', ns.pod[0], '-j', 'link', 'show', 'dev', 'eth0'], {encoding: 'utf8'}).stdout || '[{}]')[0]
    .address
  run(
    'ADD with an invalid runtimeConfig mac',
    {...env, CNI_CONTAINERID: 'ctr4', CNI_IFNAME: 'eth4'},
    {...rc, runtimeConfig: {mac: 'zz:58:0a:63:00:09'}},
  )
  stores.afterInvalidMac = store(dir)
  run('DEL with runtimeConfig', {...env, CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'ctr3'}, rc)
  return {steps, stores, pod, ping, forwarding, podMac}
}

describe.skipIf(!isRoot || !existsSync(REFERENCE))('CNI conformance: netlab-cni against the reference bridge + host-local', () => {
  const refNs = scratch('ref', 1)
  const ourNs = scratch('nlb', 1)
  let ref: Run
  let ours: Run
  beforeAll(() => {
    refNs.create()
    ourNs.create()
    ref = sequence(REFERENCE, 'bridge', refNs)
    ours = sequence(NETLAB, 'netlab-cni', ourNs)
  })
  afterAll(() => {
    refNs.destroy()
    ourNs.destroy()
  })

  it('succeeds and fails on the same calls, with the same code wherever the reference uses a spec code', () => {
    expect(Object.keys(ours.steps)).toEqual(Object.keys(ref.steps))
    const table = Object.keys(ref.steps).map((step) => {
      const [r, o] = [ref.steps[step], ours.steps[step]]
      return {step, ref: r.exit === 0 ? 'ok' : r.out?.code, ours: o.exit === 0 ? 'ok' : o.out?.code}
    })
    for (const {step, ref: r, ours: o} of table) {
      if (r === 'ok' || o === 'ok') expect(o, step).toBe(r)
      else if (r < 100) expect(o, step).toBe(r)
      else expect(o, `${step}: an error result`).toEqual(expect.any(Number))
    }
    // the sequence exercises both sides of the rule
    expect(table.filter((t) => t.ref === 'ok').length).toBeGreaterThanOrEqual(8)
    expect(new Set(table.map((t) => t.ref))).toEqual(new Set(['ok', 1, 4, 6, 999]))
    // an error result is JSON with a message, and the exit status is not 0
    for (const s of Object.values(ours.steps).filter((s) => s.exit !== 0)) expect(s.out.msg).toEqual(expect.any(String))
  })

  it('returns results of the same shape, in each version (MACs and the host veth name aside)', () => {
    for (const step of ['ADD', 'ADD to a /30', 'ADD 0.4.0']) expect(shape(ours.steps[step].out), step).toEqual(shape(ref.steps[step].out))
    expect(ours.steps['ADD 0.4.0'].out.ips[0].version).toBe('4')
    expect(ours.steps.ADD.out.ips[0]).toEqual({interface: 2, address: '10.99.0.2/28', gateway: '10.99.0.1'})
    // the mac capability: the result and the kernel have the MAC asked for; ips: the address asked for
    for (const r of [ref, ours]) {
      const added = r.steps['ADD with runtimeConfig mac and ips'].out
      expect(added.interfaces[2]).toMatchObject({name: 'eth0', mac: ASKED_MAC})
      expect(added.ips).toEqual([{interface: 2, address: '10.99.0.9/28', gateway: '10.99.0.1'}])
      expect(r.podMac).toBe(ASKED_MAC)
    }
    expect(shape(ours.steps['ADD with runtimeConfig mac and ips'].out)).toEqual(shape(ref.steps['ADD with runtimeConfig mac and ips'].out))
    expect(ours.steps.VERSION.out.supportedVersions).toEqual(expect.arrayContaining(['0.4.0', '1.0.0', '1.1.0']))
  })

  it('leaves the host-local store byte for byte as host-local does, and the pod as the bridge plugin does', () => {
    expect(ours.stores).toEqual(ref.stores)
    expect(ref.stores.afterAdd).toEqual({'10.99.0.2': 'ctr1\r\neth0', 'last_reserved_ip.0': '10.99.0.2', lock: ''})
    expect(ref.stores.afterRuntimeConfig).toMatchObject({'10.99.0.9': 'ctr3\r\neth0', 'last_reserved_ip.0': '10.99.0.9'})
    expect(ref.stores.afterInvalidMac).toEqual(ref.stores.afterRuntimeConfig)
    expect(ref.stores.exhausted).toEqual({'10.98.0.2': 'ctr-a\r\nnet1', 'last_reserved_ip.0': '10.98.0.2', lock: ''})
    expect(ours.pod).toEqual(ref.pod)
    expect(ours.pod.addrs).toEqual(['10.99.0.2/28'])
    expect([ours.ping, ref.ping]).toEqual([0, 0])
    expect([ours.forwarding, ref.forwarding]).toEqual(['1', '1'])
  })
})

describe.skipIf(!isRoot)('netlab-cni beyond the reference: STATUS, GC, parallel ADDs on one store, CHECK that notices', () => {
  const ns = scratch('more', 2)
  beforeAll(() => ns.create())
  afterAll(() => ns.destroy())

  it('ADDs in parallel on one store get distinct addresses; GC frees the ones not listed; STATUS says 50 when full', async () => {
    const base = {...conf('netlab-cni', ns.dataDir, '1.1.0'), isDefaultGateway: false}
    const n = 8 // sampled: enough processes to overlap on 2 cores
    const outs = await Promise.all(
      Array.from(
        {length: n},
        (_, i) =>
          new Promise<string>((resolve) => {
            const env = {
              PATH: process.env.PATH,
              CNI_COMMAND: 'ADD',
              CNI_CONTAINERID: `p${i}`,
              CNI_NETNS: `/var/run/netns/${ns.pod[0]}`,
              CNI_IFNAME: `e${i}`,
              CNI_PATH: '/usr/lib/cni',
            }
            const child = spawn('ip', ['netns', 'exec', ns.node, NETLAB], {env})
            let out = ''
            child.stdout.on('data', (d) => (out += d))
            child.on('close', () => resolve(out))
            child.stdin.end(JSON.stringify(base))
          }),
      ),
    )
    const ips = outs.map((o) => JSON.parse(o).ips?.[0]?.address ?? o)
    ips.forEach((ip) => expect(ip).toMatch(/^10\.99\.0\.\d+\/28$/))
    expect(new Set(ips).size).toBe(n)
    const dir = join(ns.dataDir, 'conformance')
    expect(Object.keys(store(dir)).filter((f) => f.startsWith('10.'))).toHaveLength(n)

    const env = {CNI_COMMAND: 'STATUS', CNI_PATH: '/usr/lib/cni'}
    expect(call(NETLAB, ns.node, env, base)).toMatchObject({exit: 0, stdout: ''})
    expect(call(NETLAB, ns.node, env, {...base, cniVersion: '1.0.0'}).out.code).toBe(1)
    const gc = call(
      NETLAB,
      ns.node,
      {CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni'},
      {...base, 'cni.dev/valid-attachments': [{containerID: 'p3', ifname: 'e3'}]},
    )
    expect(gc).toMatchObject({exit: 0, stdout: ''})
    expect(Object.entries(store(dir)).filter(([f]) => f.startsWith('10.'))).toEqual([[ips[3].split('/')[0], 'p3\r\ne3']])

    const t = {...tiny('netlab-cni', ns.dataDir), cniVersion: '1.1.0'}
    const add = {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'x',
      CNI_NETNS: `/var/run/netns/${ns.pod[1]}`,
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/usr/lib/cni',
    }
    expect(call(NETLAB, ns.node, add, t).exit).toBe(0)
    expect(call(NETLAB, ns.node, env, t).out.code).toBe(50)
  })

  it('ipMasq: ADD adds one MASQUERADE rule for the pod address in the node, DEL removes it (with or without the worker)', async () => {
    const c = {
      ...conf('netlab-cni', ns.dataDir),
      name: 'masq',
      ipMasq: true,
      ipam: {type: 'host-local', subnet: '10.96.0.0/24', dataDir: ns.dataDir},
    }
    const env = {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'm1',
      CNI_NETNS: `/var/run/netns/${ns.pod[1]}`,
      CNI_IFNAME: 'eth5',
      CNI_PATH: '/usr/lib/cni',
    }
    const nat = () => spawnSync('ip', ['netns', 'exec', ns.node, 'iptables-save', '-t', 'nat'], {encoding: 'utf8'}).stdout
    expect(call(NETLAB, ns.node, env, c).exit).toBe(0)
    expect(nat()).toMatch(/-A POSTROUTING -s 10\.96\.0\.2\/32 ! -d 10\.96\.0\.0\/24 .*-j MASQUERADE/)
    // the calls went to the node's resident worker; the same DEL without one works the same
    const inode = spawnSync('ip', ['netns', 'exec', ns.node, 'stat', '-L', '-c', '%i', '/proc/self/ns/net'], {
      encoding: 'utf8',
    }).stdout.trim()
    // (started by the first call that found none: it may still be starting)
    await waitFor(() => existsSync('/run/netlab-cni') && readdirSync('/run/netlab-cni').some((f) => f.startsWith(`${inode}-`)))
    expect(call(NETLAB, ns.node, {...env, CNI_COMMAND: 'DEL', NETLAB_CNI_NO_WORKER: '1'}, c).exit).toBe(0)
    expect(nat()).not.toContain('MASQUERADE')
  })

  it('CHECK fails once the pod has lost its default route, and DEL without a namespace still frees the address', () => {
    const c = conf('netlab-cni', ns.dataDir)
    const env = {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'chk',
      CNI_NETNS: `/var/run/netns/${ns.pod[1]}`,
      CNI_IFNAME: 'eth9',
      CNI_PATH: '/usr/lib/cni',
    }
    const added = call(NETLAB, ns.node, env, c)
    expect(added.exit, added.stdout).toBe(0)
    const check = () => call(NETLAB, ns.node, {...env, CNI_COMMAND: 'CHECK'}, {...c, prevResult: added.out})
    expect(check().exit).toBe(0)
    spawnSync('ip', ['-n', ns.pod[1], 'route', 'del', 'default'])
    expect(check().out.msg).toMatch(/no route to 0.0.0.0\/0/)
    const freed = call(NETLAB, ns.node, {...env, CNI_COMMAND: 'DEL', CNI_NETNS: undefined}, c)
    expect(freed.exit).toBe(0)
    expect(Object.values(store(join(ns.dataDir, 'conformance')))).not.toContain('chk\r\neth9')
  })
})

describe.skipIf(!isRoot)('bash-cni, the one-screen plugin', () => {
  const ns = scratch('bash', 1)
  beforeAll(() => ns.create())
  afterAll(() => ns.destroy())

  it('VERSION, ADD (a working pod), CHECK, ADD again refused, DEL twice, CHECK after DEL', () => {
    const c = {
      cniVersion: '1.0.0',
      name: 'pods',
      type: 'bash-cni',
      bridge: 'cni0',
      ipam: {subnet: '10.97.0.0/24', gateway: '10.97.0.1', dataDir: ns.dataDir},
    }
    const env = {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'b1',
      CNI_NETNS: `/var/run/netns/${ns.pod[0]}`,
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/usr/lib/cni',
    }
    expect(call(BASH, ns.node, {CNI_COMMAND: 'VERSION'}, c).out.supportedVersions).toContain('1.0.0')
    // the mac capability: runtimeConfig.mac on the pod's eth0 (the prevResult's loopback MAC is not it)
    const mac = '0a:58:0a:61:00:02'
    const prevResult = {cniVersion: '1.0.0', interfaces: [{name: 'lo', mac: '00:00:00:00:00:00', sandbox: env.CNI_NETNS}]}
    const added = call(BASH, ns.node, env, {...c, prevResult, runtimeConfig: {mac}})
    expect(added.exit, added.stdout).toBe(0)
    // the host end of the cable (on the node), then the pod's eth0, as the bridge plugin lists them
    expect(added.out.interfaces[0].sandbox).toBeUndefined()
    expect(spawnSync('ip', ['-n', ns.node, 'link', 'show', 'dev', added.out.interfaces[0].name]).status).toBe(0)
    expect(added.out.interfaces[1]).toMatchObject({name: 'eth0', mac, sandbox: env.CNI_NETNS})
    expect(JSON.parse(spawnSync('ip', ['-n', ns.pod[0], '-j', 'link', 'show', 'dev', 'eth0'], {encoding: 'utf8'}).stdout)[0].address).toBe(
      mac,
    )
    expect(added.out.ips).toEqual([{interface: 1, address: '10.97.0.2/24', gateway: '10.97.0.1'}])
    expect(podView(ns.pod[0], 'eth0')).toEqual({addrs: ['10.97.0.2/24'], routes: ['default 10.97.0.1 eth0', '10.97.0.0/24  eth0']})
    expect(spawnSync('ip', ['netns', 'exec', ns.pod[0], 'ping', '-c1', '-W5', '10.97.0.1']).status).toBe(0)
    expect(call(BASH, ns.node, {...env, CNI_COMMAND: 'CHECK'}, {...c, prevResult: added.out}).exit).toBe(0)
    expect(call(BASH, ns.node, env, c).out.code).toBe(999)
    expect(store(ns.dataDir)).toEqual({'10.97.0.2': 'b1\r\neth0'})
    for (let i = 0; i < 2; i++) expect(call(BASH, ns.node, {...env, CNI_COMMAND: 'DEL'}, c).exit).toBe(0)
    expect(store(ns.dataDir)).toEqual({})
    expect(call(BASH, ns.node, {...env, CNI_COMMAND: 'CHECK'}, c).out.code).toBe(3)
    expect(call(BASH, ns.node, {...env, CNI_CONTAINERID: undefined}, c).out.code).toBe(4)
  })
})
