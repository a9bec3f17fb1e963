// netlab-cni's pure parts: the environment and config checks (with the spec's error codes), the
// host-local allocator over an in-memory store, the result shapes, and the ip batches it runs.
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {parseIPv4} from '../../src/core/ipv4.js'
import {parseConfig, parseMac, type NetConf} from '../../src/cni/plugin/config.js'
import {parseEnv} from '../../src/cni/plugin/env.js'
import {CniError, errorResult} from '../../src/cni/plugin/errors.js'
import {allocate, collect, exhausted, held, release, type IpStore, type Owner} from '../../src/cni/plugin/ipam.js'
import {batchError, hostVethName, netnsName, nodeAddBatch, parseBatchJson, podAddBatch, randomMac} from '../../src/cni/plugin/links.js'
import {versionResult} from '../../src/cni/plugin/plugin.js'
import {buildResult, prevAddresses} from '../../src/cni/plugin/result.js'
import {parseRequest} from '../../src/cni/plugin/worker.js'
import {run} from '../../src/cni/plugin/call.js'

const ENV = {CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/var/run/netns/pod', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni'}

function code(fn: () => unknown): number | undefined {
  try {
    fn()
  } catch (e) {
    if (e instanceof CniError) return e.code
    throw e
  }
  return undefined
}

function conf(extra: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'pods',
    type: 'netlab-cni',
    bridge: 'cni0',
    isDefaultGateway: true,
    ...extra,
    ipam: {type: 'host-local', ranges: [[{subnet: '10.244.1.0/24'}]], dataDir: '/tmp/x', ...ipam},
  })
}

/** host-local's store in memory */
class MemStore implements IpStore {
  files = new Map<number, Owner>()
  last = new Map<number, number>()
  reserve(ip: number, owner: Owner, set: number): boolean {
    if (this.files.has(ip)) return false
    this.files.set(ip, owner)
    this.last.set(set, ip)
    return true
  }
  lastReserved(set: number) {
    return this.last.get(set)
  }
  entries() {
    return [...this.files].map(([ip, owner]) => ({ip, owner}))
  }
  release(ip: number) {
    this.files.delete(ip)
  }
}

const ip = (s: string) => parseIPv4(s)!
const own = (id: string, ifname = 'eth0') => ({id, ifname})

describe('netlab-cni environment', () => {
  it('accepts a full ADD environment and parses CNI_ARGS', () => {
    const env = parseEnv({...ENV, CNI_ARGS: 'K8S_POD_NAME=web;K8S_POD_NAMESPACE=default'})
    expect(env).toMatchObject({command: 'ADD', containerId: 'c1', ifname: 'eth0', path: ['/usr/lib/cni']})
    expect(env.args).toEqual({K8S_POD_NAME: 'web', K8S_POD_NAMESPACE: 'default'})
  })

  it('names each missing variable, code 4; DEL may come without a namespace, VERSION with nothing', () => {
    for (const key of ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH']) {
      const env: Record<string, string> = {...ENV}
      delete env[key]
      expect(() => parseEnv(env)).toThrow(key)
      expect(code(() => parseEnv(env))).toBe(4)
    }
    expect(code(() => parseEnv({...ENV, CNI_COMMAND: 'DEL', CNI_NETNS: ''}))).toBeUndefined()
    expect(code(() => parseEnv({CNI_COMMAND: 'VERSION'}))).toBeUndefined()
    expect(code(() => parseEnv({CNI_COMMAND: 'STATUS', CNI_PATH: '/opt/cni/bin'}))).toBeUndefined()
    expect(code(() => parseEnv({}))).toBe(4)
    expect(code(() => parseEnv({...ENV, CNI_COMMAND: 'GET'}))).toBe(4)
  })

  it('checks the values strictly: container ID, interface name (15 bytes, no /), absolute paths', () => {
    for (const bad of [
      {CNI_CONTAINERID: 'a/b'},
      {CNI_CONTAINERID: '-x'},
      {CNI_IFNAME: 'a'.repeat(16)},
      {CNI_IFNAME: 'é'.repeat(8)}, // 16 bytes in 8 characters
      {CNI_IFNAME: 'a/b'},
      {CNI_IFNAME: 'a b'},
      {CNI_IFNAME: '..'},
      {CNI_NETNS: 'run/netns/pod'},
      {CNI_PATH: '/usr/lib/cni:opt/cni/bin'},
      {CNI_ARGS: 'novalue'},
    ]) {
      expect(
        code(() => parseEnv({...ENV, ...bad})),
        JSON.stringify(bad),
      ).toBe(4)
    }
    expect(parseEnv({...ENV, CNI_IFNAME: 'a'.repeat(15)}).ifname).toHaveLength(15)
  })
})

describe('netlab-cni config', () => {
  it("fills in host-local's defaults: .1 is the gateway, the range .1 to the last before broadcast", () => {
    const c = parseConfig(conf())
    const [[r]] = c.ipam.rangeSets
    expect([r.start, r.end, r.gateway]).toEqual([ip('10.244.1.1'), ip('10.244.1.254'), ip('10.244.1.1')])
    expect(c).toMatchObject({bridge: 'cni0', isGateway: true, isDefaultGateway: true, ipMasq: false})
    // the legacy single-range form
    expect(parseConfig(conf({}, {ranges: undefined, subnet: '10.0.0.0/30'})).ipam.rangeSets[0][0].end).toBe(ip('10.0.0.2'))
  })

  it('answers bad input with the spec codes: 6 decode, 1 version, 2 unsupported, 7 invalid', () => {
    expect(code(() => parseConfig('{"cniVersion":'))).toBe(6)
    expect(code(() => parseConfig('[]'))).toBe(6)
    expect(code(() => parseConfig(conf({cniVersion: '9.9.9'})))).toBe(1)
    expect(code(() => parseConfig(conf({cniVersion: undefined})))).toBe(7)
    expect(code(() => parseConfig('{"cniVersion":"1.0.0","name":"pods","type":"netlab-cni"}'))).toBe(7)
    expect(code(() => parseConfig(conf({vlan: 100})))).toBe(2)
    expect(code(() => parseConfig(conf({}, {type: 'dhcp'})))).toBe(2)
    expect(code(() => parseConfig(conf({}, {ranges: [[{subnet: 'fd00::/64'}]]})))).toBe(2)
    for (const [extra, ipam] of [
      [{name: 'a b'}, {}],
      [{mtu: 10}, {}],
      [{isGateway: 'yes'}, {}],
      [{bridge: 'b'.repeat(16)}, {}],
      [{}, {ranges: [[{subnet: '10.244.1.1/24'}]]}],
      [{}, {ranges: [[{subnet: '10.244.1.0/31'}]]}],
      [{}, {ranges: [[{subnet: '10.244.1.0/24', rangeStart: '10.244.2.1'}]]}],
      [{}, {ranges: [[{subnet: '10.244.1.0/24'}, {subnet: '10.244.1.0/25'}]]}],
      [{}, {dataDir: 'relative'}],
      [{}, {routes: [{dst: 'nowhere'}]}],
    ] as const) {
      expect(
        code(() => parseConfig(conf(extra, ipam))),
        JSON.stringify([extra, ipam]),
      ).toBe(7)
    }
  })

  it('error results carry code, msg and details; anything else is 999', () => {
    expect(errorResult(new CniError(1, 'incompatible', 'why'), '1.0.0')).toEqual({
      cniVersion: '1.0.0',
      code: 1,
      msg: 'incompatible',
      details: 'why',
    })
    expect(errorResult(new Error('boom'), '0.4.0')).toEqual({cniVersion: '0.4.0', code: 999, msg: 'boom'})
  })

  it('VERSION answers with the config version when it speaks it, else its latest', () => {
    expect(versionResult('{"cniVersion":"0.4.0"}')).toMatchObject({
      cniVersion: '0.4.0',
      supportedVersions: expect.arrayContaining(['0.4.0', '1.0.0', '1.1.0']),
    })
    expect(versionResult('not json').cniVersion).toBe('1.1.0')
  })
})

describe('netlab-cni ipam (host-local semantics)', () => {
  const sets = (subnet = '10.0.0.0/29', extra: Record<string, unknown> = {}) =>
    parseConfig(conf({}, {ranges: [[{subnet, ...extra}]]})).ipam.rangeSets

  it('hands out round-robin from the last reserved address, skipping the gateway, wrapping around', () => {
    const s = new MemStore()
    const r = sets()
    expect(allocate(s, r, own('a'))).toEqual([{ip: ip('10.0.0.2'), prefix: 29, gateway: ip('10.0.0.1')}])
    expect(allocate(s, r, own('b'))[0].ip).toBe(ip('10.0.0.3'))
    release(s, own('a'))
    // .2 is free again, but round-robin goes on from .3
    expect(allocate(s, r, own('c'))[0].ip).toBe(ip('10.0.0.4'))
    expect(allocate(s, r, own('d'))[0].ip).toBe(ip('10.0.0.5'))
    expect(allocate(s, r, own('e'))[0].ip).toBe(ip('10.0.0.6'))
    expect(allocate(s, r, own('f'))[0].ip).toBe(ip('10.0.0.2'))
    expect(s.lastReserved(0)).toBe(ip('10.0.0.2'))
  })

  it('refuses a second allocation for the same container and interface, not for another interface', () => {
    const s = new MemStore()
    allocate(s, sets(), own('a'))
    expect(() => allocate(s, sets(), own('a'))).toThrow(/duplicate allocation/)
    expect(allocate(s, sets(), own('a', 'eth1'))).toHaveLength(1)
  })

  it('an exhausted range is an error that reserves nothing; release is idempotent', () => {
    const s = new MemStore()
    const r = sets('10.0.0.0/30')
    allocate(s, r, own('a'))
    expect(exhausted(s, r)).toBe(0)
    expect(() => allocate(s, r, own('b'))).toThrow('no IP addresses available in range set: 10.0.0.1-10.0.0.2')
    expect(s.files.size).toBe(1)
    expect(release(s, own('a'))).toEqual([ip('10.0.0.2')])
    expect(release(s, own('a'))).toEqual([])
    expect(exhausted(s, r)).toBeUndefined()
  })

  it('one address per range set; a set that fails gives back what the others took', () => {
    const two = parseConfig(conf({}, {ranges: [[{subnet: '10.0.0.0/24'}], [{subnet: '10.1.0.0/30'}]]})).ipam.rangeSets
    const s = new MemStore()
    expect(allocate(s, two, own('a')).map((a) => a.ip)).toEqual([ip('10.0.0.2'), ip('10.1.0.2')])
    expect(held(s, two, own('a'))).toHaveLength(2)
    expect(() => allocate(s, two, own('b'))).toThrow(/range 1/)
    expect(s.files.size).toBe(2)
  })

  it('honours rangeStart/rangeEnd and a gateway inside the range', () => {
    const s = new MemStore()
    const r = sets('10.0.0.0/24', {rangeStart: '10.0.0.10', rangeEnd: '10.0.0.11', gateway: '10.0.0.10'})
    expect(allocate(s, r, own('a'))[0]).toEqual({ip: ip('10.0.0.11'), prefix: 24, gateway: ip('10.0.0.10')})
    expect(() => allocate(s, r, own('b'))).toThrow(/no IP addresses/)
  })

  it('GC frees what the runtime no longer lists', () => {
    const s = new MemStore()
    ;['a', 'b', 'c'].forEach((id) => allocate(s, sets(), own(id)))
    expect(collect(s, [own('b')]).map((e) => e.owner.id)).toEqual(['a', 'c'])
    expect(s.entries().map((e) => e.owner.id)).toEqual(['b'])
  })

  it('any interleaving of ADD and DEL: addresses unique, in range, never the gateway (sampled: 100 runs)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({min: 0, max: 7})), {maxLength: 40}), (ops) => {
        const s = new MemStore()
        const r = sets('10.0.0.0/29')
        for (const [isAdd, who] of ops) {
          if (!isAdd) release(s, own(`p${who}`))
          else if (held(s, r, own(`p${who}`)).length === 0 && exhausted(s, r) === undefined) allocate(s, r, own(`p${who}`))
        }
        const ips = s.entries().map((e) => e.ip)
        expect(new Set(ips).size).toBe(ips.length)
        ips.forEach((x) => expect(x >= ip('10.0.0.2') && x <= ip('10.0.0.6')).toBe(true))
      }),
      {numRuns: 100},
    )
  })
})

describe('netlab-cni results and ip batches', () => {
  const c: NetConf = parseConfig(conf({mtu: 1400, hairpinMode: true}, {routes: [{dst: '10.96.0.0/12'}]}))
  const ips = [{ip: ip('10.244.1.5'), prefix: 24, gateway: ip('10.244.1.1')}]
  const ifaces = [
    {name: 'cni0', mac: 'aa'},
    {name: 'veth1', mac: 'bb'},
    {name: 'eth0', mac: 'cc', sandbox: '/var/run/netns/p'},
  ] as [any, any, any]

  it('has the shape of each version: 0.4.0 tags IPs with their version, 1.0.0 does not', () => {
    const v1 = buildResult(c, ifaces, ips)
    expect(v1).toEqual({
      cniVersion: '1.0.0',
      interfaces: ifaces,
      ips: [{interface: 2, address: '10.244.1.5/24', gateway: '10.244.1.1'}],
      routes: [
        {dst: '10.96.0.0/12', gw: '10.244.1.1'},
        {dst: '0.0.0.0/0', gw: '10.244.1.1'},
      ],
      dns: {},
    })
    expect(buildResult({...c, cniVersion: '0.4.0'}, ifaces, ips).ips[0]).toEqual({
      version: '4',
      interface: 2,
      address: '10.244.1.5/24',
      gateway: '10.244.1.1',
    })
    expect(prevAddresses(v1 as unknown as Record<string, unknown>, 'eth0')).toEqual(['10.244.1.5/24'])
    expect(prevAddresses(v1 as unknown as Record<string, unknown>, 'eth1')).toEqual([])
  })

  it('one batch per namespace: the pod end is born in the pod with its peer sent to the node', () => {
    expect(podAddBatch(c, 'eth0', 'veth1', ips, 4242)).toEqual([
      'link add eth0 mtu 1400 type veth peer name veth1 mtu 1400 netns 4242',
      'addr add 10.244.1.5/24 dev eth0',
      'link set dev eth0 up',
      'route add 10.96.0.0/12 via 10.244.1.1 dev eth0',
      'route add 0.0.0.0/0 via 10.244.1.1 dev eth0',
      'link show dev eth0',
    ])
    const node = nodeAddBatch(c, 'veth1', ips, false)
    expect(node[0]).toMatch(/^link add name cni0 mtu 1400 address [0-9a-f:]{17} type bridge$/)
    expect(node.slice(1)).toEqual([
      'link set dev cni0 up',
      'addr replace 10.244.1.1/24 dev cni0',
      'link set dev veth1 master cni0',
      'link set dev veth1 type bridge_slave hairpin on',
      'link set dev veth1 up',
      'link show dev cni0',
      'link show dev veth1',
    ])
    expect(nodeAddBatch(c, 'veth1', ips, true)[0]).toBe('link set dev cni0 up')
  })

  it('names, MACs and errors', () => {
    const v = hostVethName('c1', 'eth0')
    expect(v).toMatch(/^veth[0-9a-f]{8}$/)
    expect(hostVethName('c1', 'eth0')).toBe(v)
    expect(hostVethName('c1', 'eth1')).not.toBe(v)
    expect(netnsName('/var/run/netns/pod-1')).toBe('pod-1')
    expect(netnsName('/run/netns/pod-1')).toBe('pod-1')
    expect(netnsName('/proc/42/ns/net')).toBeUndefined()
    expect(randomMac(Buffer.from([0xff, 1, 2, 3, 4, 5]))).toBe('fe:01:02:03:04:05')
    expect(batchError('RTNETLINK answers: File exists\nCommand failed -:2\n', ['a', 'link add x'])).toBe(
      '"ip link add x" failed: RTNETLINK answers: File exists',
    )
    expect(parseBatchJson('[{"ifname":"a"}]\n\n[{"ifname":"b"}]\n')).toEqual([[{ifname: 'a'}], [{ifname: 'b'}]])
  })
})

describe('netlab-cni capabilities: mac and ips (runtimeConfig)', () => {
  it("takes runtimeConfig.mac (over args.cni.mac) in Go's forms, and refuses what no interface can have, code 7", () => {
    expect(parseMac('0A-58-0a-F4-00-02')).toBe('0a:58:0a:f4:00:02')
    expect(parseMac('0a58.0af4.0002')).toBe('0a:58:0a:f4:00:02')
    for (const bad of ['0a:58:0a:f4:00', '0a:58:0a:f4:00:02:03:04', '0a:58-0a:f4:00:02', 'zz:58:0a:f4:00:02', ''])
      expect(parseMac(bad), bad).toBeUndefined()
    expect(parseConfig(conf({runtimeConfig: {mac: '0A:58:0A:F4:00:02'}})).mac).toBe('0a:58:0a:f4:00:02')
    expect(parseConfig(conf({args: {cni: {mac: '0a:58:00:00:00:01'}}, runtimeConfig: {mac: '0a:58:00:00:00:02'}})).mac).toBe(
      '0a:58:00:00:00:02',
    )
    expect(parseConfig(conf({args: {cni: {mac: '0a:58:00:00:00:01'}}})).mac).toBe('0a:58:00:00:00:01')
    expect(parseConfig(conf({runtimeConfig: {mac: ''}})).mac).toBeUndefined()
    expect(parseConfig(conf()).mac).toBeUndefined()
    for (const mac of ['zz:58:0a:f4:00:02', '01:00:5e:00:00:01', '00:00:00:00:00:00', 12]) {
      expect(
        code(() => parseConfig(conf({runtimeConfig: {mac}}))),
        String(mac),
      ).toBe(7)
    }
  })

  it('puts the MAC on the pod end of the veth, and nowhere else', () => {
    const c = parseConfig(conf({runtimeConfig: {mac: '0a:58:0a:f4:01:05'}}))
    const lines = podAddBatch(c, 'eth0', 'veth1', [{ip: ip('10.244.1.5'), prefix: 24, gateway: ip('10.244.1.1')}], 42)
    expect(lines[0]).toBe('link add eth0 address 0a:58:0a:f4:01:05 type veth peer name veth1 netns 42')
    expect(nodeAddBatch(c, 'veth1', [], true).join('\n')).not.toContain('0a:58')
  })

  it('takes runtimeConfig.ips exactly, as host-local does: not the gateway, not a taken one, not one outside every range', () => {
    const c = parseConfig(conf({runtimeConfig: {ips: ['10.244.1.7/24']}}))
    expect(c.ipam.requested).toEqual([ip('10.244.1.7')])
    expect(parseConfig(conf({runtimeConfig: {ips: ['10.244.1.8']}})).ipam.requested).toEqual([ip('10.244.1.8')])
    expect(code(() => parseConfig(conf({runtimeConfig: {ips: ['nonsense']}})))).toBe(7)
    expect(code(() => parseConfig(conf({runtimeConfig: {ips: '10.244.1.7/24'}})))).toBe(7)
    expect(code(() => parseConfig(conf({runtimeConfig: {ips: ['fd00::7/64']}})))).toBe(2)
    const sets = c.ipam.rangeSets
    const store = new MemStore()
    expect(allocate(store, sets, own('a'), [ip('10.244.1.7')])).toEqual([{ip: ip('10.244.1.7'), prefix: 24, gateway: ip('10.244.1.1')}])
    // host-local remembers a requested address as the last reserved one: the next free one follows it
    expect(allocate(store, sets, own('b'))[0].ip).toBe(ip('10.244.1.8'))
    for (const [want, msg] of [
      ['10.244.1.7', /10\.244\.1\.7 is not available in range set 10\.244\.1\.1-10\.244\.1\.254/],
      ['10.244.1.1', /requested ip 10\.244\.1\.1 is subnet's gateway/],
      ['10.244.2.9', /failed to allocate all requested IPs: 10\.244\.2\.9/],
    ] as const) {
      expect(() => allocate(store, sets, own('c'), [ip(want)]), want).toThrow(msg)
      expect(code(() => allocate(store, sets, own('c'), [ip(want)]))).toBe(999)
    }
    // nothing of the failed calls stays reserved
    expect(
      store
        .entries()
        .map((e) => e.owner.id)
        .sort(),
    ).toEqual(['a', 'b'])
  })
})

describe('netlab-cni calls and the worker protocol', () => {
  it("a request is the client's CNI_ variables, an empty entry, then stdin (which may hold anything)", () => {
    const stdin = '{"cniVersion":"1.0.0","x":"a=b"}\n'
    const req = Buffer.from(`CNI_COMMAND=ADD\0CNI_ARGS=A=1;B=2\0\0${stdin}`)
    expect(parseRequest(req)).toEqual({env: {CNI_COMMAND: 'ADD', CNI_ARGS: 'A=1;B=2'}, stdin})
    expect(parseRequest(Buffer.from('\0{}'))).toEqual({env: {}, stdin: '{}'})
  })

  it('a call without side effects answers as the process would: VERSION, and errors as JSON with status 1', () => {
    expect(run({CNI_COMMAND: 'VERSION'}, '{"cniVersion":"0.4.0"}')).toMatchObject({code: 0, stdout: expect.stringContaining('"0.4.0"')})
    const bad = run(ENV, '{"cniVersion":"1.0.0",')
    expect(bad.code).toBe(1)
    expect(JSON.parse(bad.stdout)).toMatchObject({cniVersion: '1.0.0', code: 6})
    expect(JSON.parse(run({CNI_COMMAND: 'ADD'}, conf()).stdout).code).toBe(4)
  })
})
