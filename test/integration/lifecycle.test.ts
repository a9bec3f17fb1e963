// netlab up / status / down on real namespaces: the lab is built as planned, traffic flows,
// `down` removes exactly what `up` made (and nothing holds its namespaces afterwards, so the
// kernel frees them), and the host's own network never changes.
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, readdirSync, readFileSync, readlinkSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {
  destroyLab,
  ipIn,
  isRoot,
  labNetns,
  labSandbox,
  makeStateDir,
  netlab,
  removeDir,
  ROOT,
  rootSnapshot,
  smallTopology,
  uniqueLab,
  writeTopology,
} from '../helpers/lab.js'
import {BIN, cliEnv, THREE_NODE} from '../helpers/constants.js'

const ping = (netns: string, ip: string) => spawnSync('ip', ['netns', 'exec', netns, 'ping', '-c1', '-W2', ip]).status === 0

describe.skipIf(!isRoot)('lab lifecycle (root, real namespaces)', () => {
  const stateDir = makeStateDir()
  const env = {NETLAB_STATE_DIR: stateDir}
  const lab = uniqueLab('three')
  let file: string
  let before: string

  beforeAll(() => {
    // the default topology under a unique name
    const topo = parse(readFileSync(THREE_NODE, 'utf8'))
    topo.name = lab
    file = writeTopology(stateDir, topo)
    before = rootSnapshot()
  })

  afterAll(() => {
    destroyLab(lab, stateDir)
    removeDir(stateDir)
  })

  it('up builds the lab and shows it', () => {
    const r = netlab(['up', file], env)
    // progress, and only progress, on stderr (plain lines without a terminal); the result on stdout
    expect(r.stderr).toContain('Create the network namespaces')
    expect(
      r.stderr
        .trimEnd()
        .split('\n')
        .filter((l) => !/^[❯✔] /.test(l)),
    ).toEqual([])
    expect(r.stdout).not.toContain('Create the network namespaces')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`lab ${lab} is up`)
    expect(r.stdout).toMatch(/web-0\s+10\.244\.0\.2/)
    expect(labNetns(lab).sort()).toEqual(
      ['db', 'fabric', 'internet', 'node-0', 'node-1', 'node-2', 'node-2-p0', 'node-2-p1', 'web-0', 'web-1']
        .map((n) => `netlab-${lab}.${n}`)
        .sort(),
    )
  })

  it('status --json has the documented shape and the allocated addresses', () => {
    const r = netlab(['status', lab, '--json'], env)
    expect(r.code).toBe(0)
    const s = JSON.parse(r.stdout)
    expect(s).toMatchObject({lab, routing: 'host-gw'})
    expect(s.nodes.map((n: {name: string}) => n.name)).toEqual(['node-0', 'node-1', 'node-2'])
    expect(s.nodes[0]).toMatchObject({
      name: 'node-0',
      netns: `netlab-${lab}.node-0`,
      ip: '192.168.50.10',
      podCIDR: '10.244.0.0/24',
      gateway: '10.244.0.1',
    })
    expect(s.nodes[0].pods[0]).toEqual({name: 'web-0', namespace: 'default', netns: `netlab-${lab}.web-0`, ip: '10.244.0.2'})
    expect(s.nodes[1]).toMatchObject({ip: '192.168.50.21', podCIDR: '10.244.9.0/24'})
    expect(s.nodes[1].pods[0].ip).toBe('10.244.9.10')
    expect(s.external).toEqual([{name: 'internet', netns: `netlab-${lab}.internet`, ip: '203.0.113.10', segment: 0, vpc: false}])
    expect(s.segments).toEqual([{index: 0, cidr: '192.168.50.0/24'}])
    expect(s.routers).toEqual([])
    expect(s.members.map((m: {kind: string}) => m.kind)).toEqual([
      'fabric',
      'node',
      'node',
      'node',
      'external',
      'pod',
      'pod',
      'pod',
      'pod',
      'pod',
    ])
    // with one lab up in this state dir, LAB may be left out
    expect(JSON.parse(netlab(['status', '--json'], env).stdout).lab).toBe(lab)
  })

  it('puts the planned addresses and routes inside the namespaces', () => {
    const addr = JSON.parse(ipIn(`netlab-${lab}.web-0`, ['-j', 'addr', 'show', 'dev', 'eth0']))[0]
    expect(
      addr.addr_info
        .filter((a: {family: string}) => a.family === 'inet')
        .map((a: {local: string; prefixlen: number}) => `${a.local}/${a.prefixlen}`),
    ).toEqual(['10.244.0.2/24'])
    expect(ipIn(`netlab-${lab}.web-0`, ['route', 'show', 'default'])).toContain('default via 10.244.0.1 dev eth0')
    const routes = ipIn(`netlab-${lab}.node-0`, ['route'])
    expect(routes).toContain('10.244.9.0/24 via 192.168.50.21 dev eth0')
    expect(routes).toContain('10.244.2.0/24 via 192.168.50.12 dev eth0')
    expect(ipIn(`netlab-${lab}.node-0`, ['addr', 'show', 'dev', 'cni0'])).toContain('inet 10.244.0.1/24')
    const fwd = spawnSync('ip', ['netns', 'exec', `netlab-${lab}.node-0`, 'sysctl', '-n', 'net.ipv4.ip_forward'], {
      encoding: 'utf8',
    }).stdout.trim()
    expect(fwd).toBe('1')
  })

  it('carries traffic across nodes: pod to pod, node to pod, pod to the external host', () => {
    expect(ping(`netlab-${lab}.web-0`, '10.244.0.3')).toBe(true) // same node
    expect(ping(`netlab-${lab}.web-0`, '10.244.9.10')).toBe(true) // node-1's pod
    expect(ping(`netlab-${lab}.node-2-p1`, '10.244.0.2')).toBe(true)
    expect(ping(`netlab-${lab}.node-0`, '10.244.2.2')).toBe(true) // node to another node's pod
    expect(ping(`netlab-${lab}.db`, '203.0.113.10')).toBe(true) // egress (masqueraded)
  })

  it('refuses a second up of the same lab, naming it, and changes nothing', () => {
    const netnsBefore = labNetns(lab).sort()
    const r = netlab(['up', file], env)
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`lab ${lab} is already up`)
    expect(labNetns(lab).sort()).toEqual(netnsBefore)
  })

  it('down removes everything it created and leaves the host as it was', () => {
    const r = netlab(['down', lab], env)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`lab ${lab} is down`)
    expect(labNetns(lab)).toEqual([])
    expect(existsSync(join(stateDir, lab))).toBe(false)
    expect(rootSnapshot()).toBe(before)
  })

  it('a second down succeeds and says there was nothing to do', () => {
    const r = netlab(['down', lab], env)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('nothing to do')
  })

  it('status of a lab that is not up is a usage error', () => {
    const r = netlab(['status', lab], env)
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`no lab named ${lab} is up`)
  })
})

describe.skipIf(!isRoot)('rollback when a step fails', () => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab('fail'))

  it('a failure midway shows the failing command and its error, and leaves nothing behind', () => {
    const file = writeTopology(stateDir, smallTopology(lab, {nodes: 2, pods: 2}))
    const before = rootSnapshot()
    const plan = JSON.parse(netlab(['plan', file, '--format', 'json']).stdout)
    const target = plan.actions.find((a: {phase: string; args: string[]}) => a.phase === 'pods' && a.args[0] === 'addr')
    const r = netlab(['up', file], {...env, NETLAB_TEST_FAULT_AT: String(target.id)})
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`step ${target.id + 1}/${plan.actions.length}`)
    expect(r.stderr).toContain(target.command)
    expect(r.stderr).toMatch(/error: +Cannot find device "netlab-fault"/)
    expect(r.stderr).toMatch(/rolled back: \d+ applied actions? undone, \d+ namespaces? deleted/)
    expect(labNetns(lab)).toEqual([])
    expect(existsSync(join(stateDir, lab))).toBe(false)
    expect(rootSnapshot()).toBe(before)
  })
})

/**
 * Which of these namespaces (by inode) something on the machine still holds: a process inside,
 * an open handle, a mount. A held namespace outlives its name with its devices and routes.
 */
function stillHeld(inodes: Set<number>): string[] {
  const held: string[] = []
  const check = (path: string) => {
    try {
      const m = /^net:\[(\d+)\]$/.exec(readlinkSync(path))
      if (m && inodes.has(Number(m[1]))) held.push(path)
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    check(`/proc/${pid}/ns/net`)
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) check(`/proc/${pid}/fd/${fd}`)
    } catch {
      // gone meanwhile
    }
  }
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const m = /\bnet:\[(\d+)\]/.exec(line)
    if (m && inodes.has(Number(m[1]))) held.push(`mount ${line.split(' ')[4]}`)
  }
  return held
}

describe.skipIf(!isRoot)('down lets the kernel free the lab, not only its names', () => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab('free'))

  it('after down nothing holds any namespace of the lab: no process in it, no open handle, no mount', () => {
    expect(netlab(['up', writeTopology(stateDir, smallTopology(lab, {nodes: 2, pods: 2})), '-q'], env).code).toBe(0)
    const inodes = new Set(labNetns(lab).map((ns) => statSync(`/run/netns/${ns}`).ino))
    expect(inodes.size).toBe(8) // the fabric, 2 nodes, 4 pods, the external host
    expect(stillHeld(inodes).length).toBeGreaterThan(0) // the /run/netns mounts, while up
    const d = netlab(['down', lab], env)
    expect(d.code, d.stderr).toBe(0)
    expect(stillHeld(inodes)).toEqual([])
  })
})

describe.skipIf(!isRoot)('two labs side by side', () => {
  const {stateDir, env, track} = labSandbox()
  const a = track(uniqueLab('side-a'))
  const b = track(uniqueLab('side-b'))

  it('run with the same CIDRs; status and down without LAB list them instead of guessing', () => {
    expect(netlab(['up', writeTopology(stateDir, smallTopology(a)), '-q'], env).code).toBe(0)
    const up = netlab(['up', writeTopology(stateDir, smallTopology(b))], env)
    expect(up.code, up.stderr).toBe(0)
    expect(ping(`netlab-${a}.n0-p0`, '10.244.1.2')).toBe(true)
    expect(ping(`netlab-${b}.n0-p0`, '10.244.1.2')).toBe(true)
    const s = netlab(['status'], env)
    expect(s.code).toBe(2)
    expect(s.stderr).toContain(a)
    expect(s.stderr).toContain(b)
    expect(JSON.parse(netlab(['status', a, '--json'], env).stdout).lab).toBe(a)
    // each command up suggests works as printed, with another lab up (issue 22, 15)
    const hints = /Try: (.*)$/m.exec(up.stdout)![1].split(', ')
    expect(hints).toHaveLength(3)
    for (const hint of hints) {
      const r = netlab(hint.replace(/^node bin\/run\.js /, '').split(' '), env)
      expect(r.code, `${hint}: ${r.stderr}`).toBe(0)
    }
    expect(labNetns(b)).toEqual([]) // the last hint took b down, and only b
    expect(labNetns(a)).not.toEqual([])
    const d = netlab(['down', '--all'], env)
    expect(d.code).toBe(0)
    expect(labNetns(a)).toEqual([])
    expect(labNetns(b)).toEqual([])
  })
})

describe('commands that need no root', () => {
  const asNobody = (args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      ...(isRoot ? {uid: 65534, gid: 65534} : {}),
      env: cliEnv({HOME: '/tmp', NETLAB_STATE_DIR: '/nonexistent'}),
    })
    return {code: r.status, stdout: r.stdout, stderr: r.stderr}
  }

  it('validate and plan run as an ordinary user', () => {
    const v = asNobody(['validate', 'topologies/three-node.yaml'])
    expect(v.stderr).toBe('')
    expect(v.code).toBe(0)
    expect(v.stdout).toContain('valid')
    const p = asNobody(['plan', 'topologies/three-node.yaml', '--format', 'sh'])
    expect(p.code).toBe(0)
    expect(p.stdout.startsWith('#!/usr/bin/env bash')).toBe(true)
  })

  it.skipIf(!isRoot)('up as an ordinary user says it needs root, and creates nothing', () => {
    // the default topology under a name of its own: a three-node lab the user has up is not ours to judge
    const dir = makeStateDir()
    try {
      const lab = uniqueLab('nobody')
      const topo = parse(readFileSync(join(ROOT, 'topologies', 'three-node.yaml'), 'utf8'))
      topo.name = lab
      const file = writeTopology(dir, topo)
      chmodSync(dir, 0o755) // readable by the ordinary user
      chmodSync(file, 0o644)
      const r = asNobody(['up', file])
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/needs root.*sudo/)
      expect(labNetns(lab)).toEqual([])
      expect(existsSync('/nonexistent')).toBe(false) // its state directory
    } finally {
      removeDir(dir)
    }
  })
})
