// The runner's rtnetlink encoder, without root: assets/netlab-nsexec.pl runs inside a fresh
// user + network namespace (`unshare -rn`), applies the op records the ip driver makes for the
// plan's kinds of ip commands, and the kernel's own view (ip -j, run by the same runner as exec
// steps) must show exactly what those commands ask for.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {NSEXEC} from '../../src/exec/fanout.js'
import {outcome, prepare} from '../../src/exec/batch.js'
import type {Step} from '../../src/tools/types.js'
import type {Action} from '../../src/core/actions.js'

const canUnshare = spawnSync('unshare', ['-rn', 'true']).status === 0

const act = (id: number, args: string[]): Action => ({
  id,
  phase: 't',
  netns: '.',
  tool: 'ip',
  args,
  why: 't',
  undo: {kind: 'netns', netns: '.'},
})

describe.skipIf(!canUnshare)('nsexec speaks rtnetlink as ip would (in an unprivileged namespace)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netlab-nsexec-test-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  function runJob(steps: string[]): {stdout: string; out: (step: number) => string; err: (step: number) => string} {
    const r = spawnSync('unshare', ['-rn', 'perl', NSEXEC, '1', dir], {input: ['0', '.', ...steps].join('\t') + '\n', encoding: 'utf8'})
    expect(r.status, r.stderr).toBe(0)
    const read = (f: string) => {
      try {
        return readFileSync(join(dir, f), 'utf8')
      } catch {
        return ''
      }
    }
    return {stdout: r.stdout, out: (k) => read(`0.${k}.out`), err: (k) => read(`0.${k}.err`)}
  }

  const exec = (name: string, argv: string[]) => {
    writeFileSync(join(dir, name), `argv\t${argv.join('\t')}\n`)
    return `exec:${join(dir, name)}`
  }

  it('ops given inline (netlink-ops:): a routed pod, its address without the subnet route and its default route onlink', () => {
    const actions = [
      act(0, ['link', 'set', 'd0', 'up']),
      act(1, ['addr', 'add', '10.1.2.3/24', 'dev', 'd0', 'noprefixroute']),
      act(2, ['route', 'add', 'default', 'via', '10.1.2.1', 'dev', 'd0', 'onlink']),
    ]
    const p = prepare({netns: '.', tool: 'ip', actions}, {netlink: true})
    expect(p.steps[0].kind).toBe('netlink')
    const ops = (p.steps[0] as {ops: string[]}).ops
    const job = runJob([
      exec('mk', ['ip', 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1']),
      `netlink-ops:${ops.map((o) => o.replaceAll('\t', String.fromCharCode(0x1f))).join(String.fromCharCode(0x1e))}`,
      exec('a', ['ip', '-j', 'addr', 'show', 'd0']),
      exec('r', ['ip', '-j', 'route']),
    ])
    expect(job.stdout).toContain('ok 0')
    const addr = (JSON.parse(job.out(2)) as {addr_info: {local: string; prefixlen: number; noprefixroute?: boolean}[]}[])[0].addr_info[0]
    expect([addr.local, addr.prefixlen, addr.noprefixroute]).toEqual(['10.1.2.3', 24, true])
    const routes = (JSON.parse(job.out(3)) as {dst: string; gateway?: string; flags: string[]}[]).map(
      (r) => `${r.dst} ${r.gateway ?? '-'} ${r.flags.filter((f) => f !== 'linkdown').join(',')}`, // d1 is down: no carrier
    )
    expect(routes).toEqual(['default 10.1.2.1 onlink']) // no 10.1.2.0/24: the pod reaches its neighbours through the gateway
  })

  it('link set, addr add, route add and neigh add land in the kernel as asked', () => {
    const actions = [
      act(0, ['link', 'set', 'lo', 'up', 'alias', 'netlab:test lab']),
      act(1, ['link', 'set', 'd0', 'up']),
      act(2, ['addr', 'add', '10.1.2.3/24', 'dev', 'd0']),
      act(3, ['route', 'add', '10.9.0.0/24', 'via', '10.1.2.1', 'dev', 'd0']),
      act(4, ['route', 'add', '10.8.0.0/16', 'dev', 'd0']),
      act(5, ['route', 'add', 'default', 'via', '10.1.2.254', 'dev', 'd0']),
      act(6, ['neigh', 'add', '10.1.2.7', 'lladdr', '0a:58:0a:01:02:07', 'dev', 'd0', 'nud', 'permanent']),
    ]
    const p = prepare({netns: '.', tool: 'ip', actions}, {netlink: true})
    expect(p.steps[0].kind).toBe('netlink')
    writeFileSync(join(dir, 'ops'), (p.steps[0] as {ops: string[]}).ops.join('\n') + '\n')
    const job = runJob([
      exec('mk', ['ip', 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1']),
      `netlink:${join(dir, 'ops')}`,
      exec('a', ['ip', '-j', 'addr']),
      exec('r', ['ip', '-j', 'route']),
      exec('n', ['ip', '-j', 'neigh']),
      exec('l', ['ip', '-j', 'link']),
    ])
    expect(job.stdout).toContain('ok 0')
    const links = JSON.parse(job.out(5)) as {ifname: string; ifalias?: string; flags: string[]}[]
    expect(links.find((l) => l.ifname === 'lo')?.ifalias).toBe('netlab:test lab')
    expect(links.find((l) => l.ifname === 'd0')?.flags).toContain('UP')
    const addrs = (JSON.parse(job.out(2)) as {ifname: string; addr_info: {local: string; prefixlen: number}[]}[]).find(
      (l) => l.ifname === 'd0',
    )!.addr_info
    expect(addrs.map((a) => `${a.local}/${a.prefixlen}`)).toEqual(['10.1.2.3/24'])
    const routes = (JSON.parse(job.out(3)) as {dst: string; gateway?: string; dev: string; scope?: string}[]).map(
      (r) => `${r.dst} ${r.gateway ?? '-'} ${r.dev} ${r.scope ?? 'global'}`,
    )
    expect(routes).toEqual(
      expect.arrayContaining(['default 10.1.2.254 d0 global', '10.9.0.0/24 10.1.2.1 d0 global', '10.8.0.0/16 - d0 link']),
    )
    const neigh = JSON.parse(job.out(4)) as {dst: string; lladdr: string; state: string[]}[]
    expect(neigh).toEqual([expect.objectContaining({dst: '10.1.2.7', lladdr: '0a:58:0a:01:02:07', state: ['PERMANENT']})])
  })

  it('a VXLAN device, an MTU and an onlink route land in the kernel exactly as ip makes them', () => {
    const vxlan = (name: string, id: string) => [
      'link',
      'add',
      name,
      'address',
      '0a:58:0a:f4:00:00',
      'mtu',
      '1450',
      'type',
      'vxlan',
      'id',
      id,
      'local',
      '10.1.2.3',
      'dev',
      'd0',
      'dstport',
      '8472',
      'nolearning',
    ]
    const actions = [
      act(0, ['addr', 'add', '10.1.2.3/24', 'dev', 'd0']),
      act(1, ['link', 'set', 'd0', 'mtu', '9000', 'up']), // a VXLAN device's MTU is capped at its underlay's − 50
      act(2, vxlan('flannel.1', '1')),
      act(3, ['addr', 'add', '10.244.0.0/32', 'dev', 'flannel.1']),
      act(4, ['link', 'set', 'flannel.1', 'up']),
      act(5, ['route', 'add', '10.244.9.0/24', 'via', '10.244.9.0', 'dev', 'flannel.1', 'onlink']),
    ]
    const p = prepare({netns: '.', tool: 'ip', actions}, {netlink: true})
    expect([p.steps[0].kind, p.fallback]).toEqual(['netlink', false])
    writeFileSync(join(dir, 'ops3'), (p.steps[0] as {ops: string[]}).ops.join('\n') + '\n')
    // the same device made by ip itself (another VNI: two devices may not share one), to compare with
    const job = runJob([
      exec('mk3', ['ip', 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1']),
      `netlink:${join(dir, 'ops3')}`,
      exec('ip3', ['ip', ...vxlan('byip', '2')]),
      exec('l3', ['ip', '-d', '-j', 'link']),
      exec('r3', ['ip', '-j', 'route']),
    ])
    expect(job.stdout, job.err(0) + job.err(1) + job.err(2)).toContain('ok 0')
    type Link = {
      ifname: string
      mtu: number
      address: string
      flags: string[]
      linkinfo?: {info_kind: string; info_data: Record<string, unknown>}
    }
    const links = JSON.parse(job.out(3)) as Link[]
    const byName = (n: string) => links.find((l) => l.ifname === n)!
    expect(byName('d0').mtu).toBe(9000)
    const [mine, ips] = [byName('flannel.1'), byName('byip')]
    expect(mine).toMatchObject({mtu: 1450, address: '0a:58:0a:f4:00:00'})
    expect(mine.flags).toContain('UP')
    expect(mine.linkinfo?.info_kind).toBe('vxlan')
    expect(mine.linkinfo?.info_data).toMatchObject({id: 1, local: '10.1.2.3', link: 'd0', port: 8472, learning: false})
    expect({...mine.linkinfo!.info_data, id: 2}).toEqual(ips.linkinfo!.info_data)
    expect(mine.mtu).toBe(ips.mtu)
    const routes = JSON.parse(job.out(4)) as {dst: string; gateway?: string; dev: string; flags: string[]}[]
    expect(routes.find((r) => r.dst === '10.244.9.0/24')).toMatchObject({gateway: '10.244.9.0', dev: 'flannel.1', flags: ['onlink']})
  })

  it('fdb append, over rtnetlink as over bridge -batch: the same entries land on the VXLAN device; a failing one is the action blamed, the ones after it never run', () => {
    const ops = prepare(
      {
        netns: '.',
        tool: 'ip',
        actions: [
          act(0, ['link', 'add', 'vx0', 'type', 'vxlan', 'id', '7', 'local', '10.1.2.3', 'dev', 'lo', 'dstport', '8472', 'nolearning']),
        ],
      },
      {netlink: true},
    )
    writeFileSync(join(dir, 'ops4'), (ops.steps[0] as {ops: string[]}).ops.join('\n') + '\n')
    const fdb = (id: number, mac: string, dev: string, dst: string) => ({
      ...act(id, ['fdb', 'append', mac, 'dev', dev, 'dst', dst]),
      tool: 'bridge',
    })
    const actions = [
      fdb(0, '0a:58:0a:f4:09:00', 'vx0', '10.1.2.21'),
      fdb(1, '0a:58:0a:f4:02:00', 'nosuch', '10.1.2.12'),
      fdb(2, '0a:58:0a:f4:03:00', 'vx0', '10.1.2.13'),
    ]
    // a batch as the runner gets it: the bridge program, or the runner's own requests
    const batch = (name: string, list: Action[], netlink: boolean) => {
      const p = prepare({netns: '.', tool: 'bridge', actions: list}, {netlink})
      const step = p.steps[0]
      if (step.kind === 'netlink') {
        writeFileSync(join(dir, name), step.ops.join('\n') + '\n')
        return {p, step: `netlink:${join(dir, name)}`}
      }
      const e = step as Extract<Step, {kind: 'exec'}>
      writeFileSync(join(dir, `${name}.in`), e.stdin!)
      writeFileSync(join(dir, name), `argv\t${e.argv.join('\t')}\nstdin\t${join(dir, `${name}.in`)}\n`)
      return {p, step: `exec:${join(dir, name)}`}
    }
    for (const netlink of [false, true]) {
      const good = batch(`fdb-good-${netlink}`, [actions[0], actions[2]], netlink)
      expect(good.step.startsWith(netlink ? 'netlink:' : 'exec:')).toBe(true)
      const ok = runJob([`netlink:${join(dir, 'ops4')}`, good.step, exec(`fdb-show-${netlink}`, ['bridge', 'fdb', 'show', 'dev', 'vx0'])])
      expect(ok.stdout).toContain('ok 0')
      expect(ok.out(2).trim().split('\n').sort()).toEqual([
        '0a:58:0a:f4:03:00 dst 10.1.2.13 self permanent',
        '0a:58:0a:f4:09:00 dst 10.1.2.21 self permanent',
      ])
      const bad = batch(`fdb-bad-${netlink}`, actions, netlink)
      const job = runJob([`netlink:${join(dir, 'ops4')}`, bad.step])
      expect(job.stdout).toMatch(/fail 0 1 1( 2)?\n/)
      const at = /fail 0 1 1 (\d+)/.exec(job.stdout)
      const o = outcome(bad.p, {step: 0, exitCode: 1, stderr: job.err(1), at: at ? Number(at[1]) : undefined})
      expect([o.applied.map((a) => a.id), o.failed?.id, o.notRun.map((a) => a.id)]).toEqual([[0], 1, [2]])
      expect(o.error?.stderr).toBe('Cannot find device "nosuch"')
    }
  })

  it("aws-vpc's wiring: a /32 route of link scope, a gateway route with scope link, and proxy neighbour entries, as ip makes them", () => {
    const actions = [
      act(0, ['link', 'set', 'd0', 'up']),
      act(1, ['route', 'add', '192.168.50.22/32', 'dev', 'd0', 'scope', 'link']),
      act(2, ['route', 'add', '169.254.1.1', 'dev', 'd0', 'scope', 'link']),
      act(3, ['route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'd0']),
      act(4, ['neigh', 'add', 'proxy', '192.168.50.22', 'dev', 'd0']),
    ]
    const p = prepare({netns: '.', tool: 'ip', actions}, {netlink: true})
    expect([p.steps[0].kind, p.fallback]).toEqual(['netlink', false])
    writeFileSync(join(dir, 'ops5'), (p.steps[0] as {ops: string[]}).ops.join('\n') + '\n')
    // the same made by ip itself, on the other end of the pair, to compare with
    const byIp = (name: string, args: string[]) => exec(name, ['ip', ...args])
    const job = runJob([
      exec('mk5', ['ip', 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1']),
      `netlink:${join(dir, 'ops5')}`,
      byIp('i1', ['link', 'set', 'd1', 'up']),
      byIp('i2', ['route', 'add', '192.168.50.23/32', 'dev', 'd1', 'scope', 'link']),
      byIp('i3', ['neigh', 'add', 'proxy', '192.168.50.23', 'dev', 'd1']),
      exec('r5', ['ip', '-j', 'route', 'show', 'table', 'main']),
      exec('n5', ['ip', '-j', 'neigh', 'show', 'proxy']),
    ])
    expect(job.stdout, job.err(1)).toContain('ok 0')
    const routes = JSON.parse(job.out(5)) as {dst: string; gateway?: string; dev: string; scope?: string; protocol?: string}[]
    const route = (dst: string) => routes.find((r) => r.dst === dst)
    expect(route('192.168.50.22')).toMatchObject({dev: 'd0', scope: 'link'})
    expect({...route('192.168.50.22'), dst: '-', dev: '-', protocol: '-'}).toEqual({
      ...route('192.168.50.23'),
      dst: '-',
      dev: '-',
      protocol: '-',
    })
    expect(route('169.254.1.1')).toMatchObject({dev: 'd0', scope: 'link'})
    expect(route('default')).toMatchObject({gateway: '169.254.1.1', dev: 'd0'})
    const proxies = (JSON.parse(job.out(6)) as {dst: string; dev: string}[]).map((n) => `${n.dst} ${n.dev}`).sort()
    expect(proxies).toEqual(['192.168.50.22 d0', '192.168.50.23 d1'])
  })

  it('a request the kernel refuses names its op, and the ops after it are not sent', () => {
    const actions = [
      act(0, ['link', 'set', 'lo', 'up']),
      act(1, ['route', 'add', '10.9.0.0/24', 'via', '10.1.2.1', 'dev', 'nosuchdev']),
      act(2, ['addr', 'add', '10.7.0.1/24', 'dev', 'lo']),
    ]
    const p = prepare({netns: '.', tool: 'ip', actions}, {netlink: true})
    writeFileSync(join(dir, 'ops2'), (p.steps[0] as {ops: string[]}).ops.join('\n') + '\n')
    const job = runJob([`netlink:${join(dir, 'ops2')}`, exec('a2', ['ip', '-j', 'addr', 'show', 'dev', 'lo'])])
    expect(job.stdout).toContain('fail 0 0 1 2')
    expect(job.err(0)).toContain('Cannot find device "nosuchdev"')
  })
})

const RS = String.fromCharCode(0x1e)
const US = String.fromCharCode(0x1f)

// Requests go to the kernel in windows (many per send()), and the kernel does not stop at a
// failed one: the runner must name the op that failed first and every later op of its window
// that was made anyway, so that what the executor journals as applied is what exists.
describe.skipIf(!canUnshare)('nsexec pipelines its requests and still reports exactly what was made', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netlab-nsexec-pipe-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  function run(actions: Action[]): {stdout: string; routes: string[]; addrs: string[]; err: string} {
    const p = prepare({netns: '.', tool: 'ip', actions}, {netlink: true})
    writeFileSync(join(dir, 'ops'), (p.steps[0] as {ops: string[]}).ops.join('\n') + '\n')
    writeFileSync(join(dir, 'r'), 'argv\tip\t-j\troute\n')
    writeFileSync(join(dir, 'a'), 'argv\tip\t-j\taddr\tshow\tdev\tlo\n')
    // the reads are separate jobs: the first job stops at its failing step
    const input = [`0\t.\tnetlink:${join(dir, 'ops')}`, `1\t.\texec:${join(dir, 'r')}`, `2\t.\texec:${join(dir, 'a')}`].join('\n') + '\n'
    const r = spawnSync('unshare', ['-rn', 'perl', NSEXEC, '1', dir], {input, encoding: 'utf8'})
    expect(r.status, r.stderr).toBe(0)
    const read = (f: string) => readFileSync(join(dir, f), 'utf8')
    const routes = (JSON.parse(read('1.0.out')) as {dst: string}[]).map((x) => x.dst).filter((d) => d.startsWith('10.9.'))
    const addrs = (JSON.parse(read('2.0.out')) as {addr_info: {local: string}[]}[])[0].addr_info
      .map((a) => a.local)
      .filter((a) => a.startsWith('10.7.'))
    let err = ''
    try {
      err = read('0.0.err')
    } catch {
      // no failure
    }
    return {stdout: r.stdout, routes, addrs, err}
  }

  // one route per action; 300 of them span several windows
  const route = (id: number, k: number) => act(id, ['route', 'add', `10.9.${k >> 8}.${k & 255}/32`, 'via', '10.7.0.9', 'dev', 'lo'])

  it('a refused request inside a window: the op that failed, the later ops made anyway, nothing else', () => {
    const actions = [
      act(0, ['link', 'set', 'lo', 'up']),
      act(1, ['addr', 'add', '10.7.0.1/24', 'dev', 'lo']),
      act(2, ['addr', 'add', '10.7.0.1/24', 'dev', 'lo']), // exists: refused
      act(3, ['addr', 'add', '10.7.0.2/24', 'dev', 'lo']),
      act(4, ['addr', 'add', '10.7.0.1/24', 'dev', 'lo']), // refused again: not made
      route(5, 1),
    ]
    const job = run(actions)
    expect(job.stdout).toContain('fail 0 0 1 3 4,6')
    expect(job.err).toContain('File exists')
    const p = prepare({netns: '.', tool: 'ip', actions}, {netlink: true})
    const o = outcome(p, {step: 0, exitCode: 1, stderr: job.err, at: 3, also: [4, 6]})
    expect([o.applied.map((a) => a.id), o.failed?.id, o.notRun.map((a) => a.id)]).toEqual([[0, 1, 3, 5], 2, [4]])
    expect(job.addrs.sort()).toEqual(['10.7.0.1', '10.7.0.2'])
    expect(job.routes).toEqual(['10.9.0.1'])
  })

  it('300 requests over several windows, one refused: what the runner reports as made is what the kernel has', () => {
    const actions = [act(0, ['link', 'set', 'lo', 'up']), act(1, ['addr', 'add', '10.7.0.1/24', 'dev', 'lo'])]
    for (let k = 0; k < 300; k++) actions.push(route(actions.length, k === 200 ? 199 : k)) // the second 10.9.0.199 is refused
    const job = run(actions)
    const m = /^fail 0 0 1 (\d+)(?: (\S+))?$/m.exec(job.stdout)
    expect(m, job.stdout).not.toBeNull()
    expect(Number(m![1])).toBe(203) // op 203 (from 1): the route of k = 200
    const p = prepare({netns: '.', tool: 'ip', actions}, {netlink: true})
    const o = outcome(p, {step: 0, exitCode: 1, stderr: job.err, at: Number(m![1]), also: m![2]?.split(',').map(Number)})
    const dst = (a: Action) => a.args[2].replace('/32', '')
    const reported = o.applied.filter((a) => a.args[0] === 'route').map(dst)
    expect(job.routes.sort()).toEqual([...new Set(reported)].sort())
    expect(job.routes.length).toBeGreaterThan(199) // the ones before the failure, at least
  })

  it("a program given inline (exec-ops:), its input through a pipe: every byte arrives, and its exit code is the job's", () => {
    const input = 'line one\n\ttabbed = x\r\n\u00e9\u2713 \u001e\u001f end'
    const hex = Buffer.from(input).toString('hex')
    const spec = (argv: string[]) => `exec-ops:${['argv', ...argv].join(US)}${RS}input${US}${hex}`
    const input2 = ['0\t.\t' + spec(['cat']), '1\t.\t' + spec(['sh', '-c', 'cat >/dev/null; exit 3'])].join('\n') + '\n'
    const r = spawnSync('unshare', ['-rn', 'perl', NSEXEC, '2', dir], {input: input2, encoding: 'utf8'})
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toContain('ok 0')
    expect(r.stdout).toContain('fail 1 0 3')
    expect(readFileSync(join(dir, '0.0.out'), 'utf8')).toBe(input)
  })

  it('linksync asks for every link of the namespace, request window after window', () => {
    const mk = `exec-ops:${['argv', 'sh', '-c', 'for i in $(seq 1 40); do ip link add m$i type veth peer name p$i || exit 1; done'].join(US)}`
    const r = spawnSync('unshare', ['-rn', 'perl', NSEXEC, '1', dir], {input: `0\t.\t${mk}\tlinksync:\n`, encoding: 'utf8'})
    expect(r.stdout).toContain('ok 0')
  })

  it('settle (a dump of the links without their statistics) names a link that is up but not running, and passes once it runs', () => {
    const mk = (peerUp: boolean) =>
      `exec-ops:${['argv', 'sh', '-c', `ip link add d0 type veth peer name d1 && ip link set d0 up${peerUp ? ' && ip link set d1 up' : ''}`].join(US)}`
    const jobs = (peerUp: boolean, ms: number) => `0\t.\t${mk(peerUp)}\tsettle:${ms}\n`
    const down = spawnSync('unshare', ['-rn', 'perl', NSEXEC, '1', dir], {input: jobs(false, 60), encoding: 'utf8'})
    expect(down.stdout).toContain('fail 0 1 1')
    expect(readFileSync(join(dir, '0.1.err'), 'utf8')).toBe('not running after 60 ms: d0\n')
    const up = spawnSync('unshare', ['-rn', 'perl', NSEXEC, '1', dir], {input: jobs(true, 2000), encoding: 'utf8'})
    expect(up.stdout).toContain('ok 0')
  })
})
