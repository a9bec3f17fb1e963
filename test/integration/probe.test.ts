// `netlab probe` against real labs: it passes on a healthy lab, and it fails — for the right
// reason, naming the right pairs — when a route is missing, when a node stops forwarding, and
// when a node masquerades pod-to-pod traffic (ping still passes there; only no-NAT sees it).
// Its engines never outlive it, nor `netlab down`; a second probe of a lab waits its turn (refused).
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {cpus} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {
  destroyLab,
  exited,
  isRoot,
  labNetns,
  labSandbox,
  makeStateDir,
  netlab,
  netlabSpawn,
  removeDir,
  rootSnapshot,
  smallTopology,
  uniqueLab,
  waitFor,
  writeTopology,
} from '../helpers/lab.js'
import {TOPOLOGIES} from '../helpers/constants.js'
import {plural} from '../../src/core/plural.js'

interface Endpoint {
  kind: string
  name: string
  ip: string
}
interface Result {
  src: Endpoint
  dst: Endpoint
  expected: string
  seen: string
  ok: boolean
  detail?: string
  ttl?: number
}
interface Check {
  id: string
  section: string
  title: string
  passed: number
  failed: number
  results: Result[]
}
interface Report {
  lab: string
  coverage: string
  sections: string[]
  checks: Check[]
  passed: number
  failed: number
}
interface Status {
  nodes: {name: string; netns: string; ip: string; podCIDR: string; gateway: string; pods: {name: string; ip: string}[]}[]
}

/** PIDs of live processes whose command line holds `marker`. */
function processesWith(marker: string): number[] {
  const pids: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ').includes(marker)) pids.push(Number(d))
    } catch {
      // gone meanwhile
    }
  }
  return pids
}
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  } catch {
    return undefined
  }
}
const probeProcesses = (lab: string) => processesWith(`netlab-probe-engine:${lab}:`)
/** one engine per core */
const ENGINES = cpus().length

function check(r: Report, id: string): Check {
  const c = r.checks.find((x) => x.id === id)
  if (!c) throw new Error(`no check ${id} in the report`)
  return c
}

const pair = (r: Result) => `${r.src.name}>${r.dst.name}`

/** Up a lab of `nodes` × `pods`, run `body`, always tear it down. */
async function withLab(
  prefix: string,
  opts: {nodes: number; pods: number},
  body: (lab: string, env: Record<string, string>, status: Status) => Promise<void> | void,
): Promise<void> {
  const stateDir = makeStateDir()
  const env = {NETLAB_STATE_DIR: stateDir}
  const lab = uniqueLab(prefix)
  try {
    const up = netlab(['up', writeTopology(stateDir, smallTopology(lab, opts)), '-q'], env)
    expect(up.code, up.stderr).toBe(0)
    const status = JSON.parse(netlab(['status', lab, '--json'], env).stdout) as Status
    await body(lab, env, status)
  } finally {
    destroyLab(lab, stateDir)
    removeDir(stateDir)
  }
  expect(labNetns(lab)).toEqual([])
  expect(probeProcesses(lab)).toEqual([])
}

function probeJson(lab: string, env: Record<string, string>, args: string[] = []): {code: number; report: Report; stderr: string} {
  const r = netlab(['probe', lab, '--json', '--no-explain', ...args], env) // why a check failed: trace.test.ts
  return {code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr}
}

describe('netlab probe: usage errors', () => {
  // made in beforeAll, not here: a run filtered with -t skips the hooks of skipped blocks
  let env: Record<string, string> = {}
  beforeAll(() => {
    env = {NETLAB_STATE_DIR: makeStateDir()}
  })
  afterAll(() => removeDir(env.NETLAB_STATE_DIR))

  it('no lab up: exit 2 and a hint', () => {
    const r = netlab(['probe'], env)
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('no lab is up')
  })

  it('unknown lab: exit 2', () => {
    const r = netlab(['probe', 'no-such-lab'], env)
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('no lab named no-such-lab')
  })

  it('unknown --only: exit 2', () => {
    expect(netlab(['probe', 'x', '--only', 'dns'], env).code).toBe(2)
  })
})

describe.skipIf(!isRoot)('netlab probe on a healthy lab', () => {
  let stateDir = ''
  let env: Record<string, string> = {}
  const lab = uniqueLab('probe-ok')
  let before = ''
  beforeAll(() => {
    stateDir = makeStateDir()
    env = {NETLAB_STATE_DIR: stateDir}
    before = rootSnapshot()
    const up = netlab(['up', writeTopology(stateDir, smallTopology(lab, {nodes: 3, pods: 2})), '-q'], env)
    expect(up.code, up.stderr).toBe(0)
  })
  afterAll(() => {
    destroyLab(lab, stateDir)
    removeDir(stateDir)
  })

  it('passes every check; the report ends with "N passed, 0 failed"', () => {
    const r = netlab(['probe', lab], env)
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines.at(-1)).toMatch(/^\d+ passed, 0 failed$/)
    expect(r.stdout).not.toContain('✗')
    for (const title of [
      'pod → pod on the same node',
      'pod → pod on other nodes',
      'node → its own pods',
      'node → pods on other nodes',
      'pod → nodes',
      "sees the source pod's own address",
      "the node's address on the path",
      'eth0 address',
      'pod → external hosts',
      'external hosts see',
    ]) {
      expect(r.stdout).toContain(title)
    }
  })

  it("--json: every check, every pair, all passed; the echo saw each pod's own address", () => {
    const {code, report} = probeJson(lab, env)
    expect(code).toBe(0)
    expect(report).toMatchObject({lab, coverage: 'all-pairs', failed: 0})
    expect(report.sections).toEqual(['pod-pod', 'node-pod', 'no-nat', 'self-address', 'vpc', 'egress'])
    expect(check(report, 'pod-pod-same-node').passed).toBe(3 * 2)
    expect(check(report, 'pod-pod-other-node').passed).toBe(6 * 4)
    expect(check(report, 'pod-own-address').passed).toBe(6)
    expect(check(report, 'node-own-pod').passed).toBe(6)
    expect(check(report, 'node-other-pod').passed).toBe(12)
    expect(check(report, 'pod-node').passed).toBe(18)
    expect(check(report, 'no-nat-pod-pod').passed).toBe(30)
    expect(check(report, 'no-nat-node-pod').passed).toBe(18)
    expect(check(report, 'self-address').passed).toBe(6)
    expect(check(report, 'egress-reach').passed).toBe(6)
    expect(check(report, 'egress-source').passed).toBe(6)
    for (const r of check(report, 'no-nat-pod-pod').results) expect(r.seen).toBe(r.src.ip)
    // the TTL each echo reply arrived with, from the kernel: 64 on one bridge; across nodes
    // (host-gw), the pod's node and the source's node each took one: 62
    expect(new Set(check(report, 'pod-pod-same-node').results.map((r) => r.ttl))).toEqual(new Set([64]))
    expect(new Set(check(report, 'pod-pod-other-node').results.map((r) => r.ttl))).toEqual(new Set([62]))
    expect(report.passed).toBe(report.checks.reduce((n, c) => n + c.results.length, 0))
  })

  it("--udp: the no-NAT checks go by one datagram each, and the receivers saw each source's own address", () => {
    const {code, report} = probeJson(lab, env, ['--only', 'no-nat', '--udp'])
    expect(code).toBe(0)
    expect(report).toMatchObject({udp: true, failed: 0})
    const noNat = check(report, 'no-nat-pod-pod')
    expect(noNat.title).toContain('UDP echo')
    expect(noNat.passed).toBe(30)
    expect(check(report, 'no-nat-node-pod').passed).toBe(18)
    for (const r of noNat.results) expect(r.seen).toBe(r.src.ip)
    const text = netlab(['probe', lab, '--only', 'no-nat', '--udp'], env)
    expect(text.stdout).toContain('no-NAT by UDP datagram (--udp: weaker, no TCP handshake)')
  })

  it('--only pod-pod pings and nothing else', () => {
    const {code, report} = probeJson(lab, env, ['--only', 'pod-pod'])
    expect(code).toBe(0)
    expect(report.sections).toEqual(['pod-pod'])
    expect(report.checks.map((c) => c.id)).toEqual(['pod-pod-same-node', 'pod-pod-other-node', 'pod-own-address'])
  })

  it('leaves no engine and no record of one; changes nothing on the host', () => {
    expect(probeProcesses(lab)).toEqual([])
    expect(readdirSync(join(stateDir, lab, 'pids'))).toEqual([])
    expect(rootSnapshot()).toBe(before)
  })

  it('a probe killed with SIGKILL: its engines stop by themselves', async () => {
    // make the probe slow (timeouts through a node that no longer forwards) so it can be caught
    execFileSync('ip', ['netns', 'exec', `netlab-${lab}.n1`, 'sysctl', '-qw', 'net.ipv4.ip_forward=0'])
    const child = netlabSpawn(['probe', lab], env)
    try {
      await waitFor(() => processesWith(`netlab-probe-engine:${lab}:${child.pid}`).length === ENGINES)
      expect(processesWith(`netlab-probe-engine:${lab}:${child.pid}`).filter((pid) => parentOf(pid) === child.pid)).toHaveLength(ENGINES)
      process.kill(child.pid!, 'SIGKILL')
      await waitFor(() => probeProcesses(lab).length === 0, 5_000).catch((e) => {
        for (const pid of probeProcesses(lab))
          console.log(pid, readFileSync(`/proc/${pid}/stat`, 'utf8'), readFileSync(`/proc/${pid}/cmdline`, 'utf8'))
        throw e
      })
    } finally {
      child.kill('SIGKILL') // no-op once it is gone; a failed check must not leave it running
      execFileSync('ip', ['netns', 'exec', `netlab-${lab}.n1`, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'])
    }
  })

  it('Ctrl-C (SIGINT): the probe stops its engines and says so', async () => {
    execFileSync('ip', ['netns', 'exec', `netlab-${lab}.n1`, 'sysctl', '-qw', 'net.ipv4.ip_forward=0'])
    const child = netlabSpawn(['probe', lab], env)
    try {
      const closed = exited(child)
      await waitFor(() => processesWith(`netlab-probe-engine:${lab}:${child.pid}`).length === ENGINES)
      await sleep(100)
      process.kill(child.pid!, 'SIGINT')
      const {code, stderr} = await closed
      expect(code).toBe(130)
      expect(stderr).toContain('interrupted by SIGINT')
      expect(probeProcesses(lab)).toEqual([])
      expect(readdirSync(join(stateDir, lab, 'pids'))).toEqual([])
    } finally {
      child.kill('SIGKILL')
      execFileSync('ip', ['netns', 'exec', `netlab-${lab}.n1`, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'])
    }
  })

  it('a second probe of the lab while one runs is refused (exit 1, naming the first); once the first ends, probing works again', async () => {
    const first = netlabSpawn(['probe', lab], env)
    try {
      const closed = exited(first)
      await waitFor(() => processesWith(`netlab-probe-engine:${lab}:${first.pid}`).length === ENGINES)
      process.kill(first.pid!, 'SIGSTOP') // held mid-probe, however fast it would have been
      const second = netlab(['probe', lab], env)
      process.kill(first.pid!, 'SIGCONT')
      expect(second.code).toBe(1)
      expect(second.stderr).toContain(`lab ${lab} is being probed by another netlab probe (pid ${first.pid})`)
      expect(second.stdout).toBe('')
      expect((await closed).code).toBe(0) // the first, undisturbed, passes
    } finally {
      first.kill('SIGKILL')
    }
    expect(existsSync(join(stateDir, `${lab}.probe.lock`))).toBe(false)
    const again = netlab(['probe', lab, '--only', 'pod-pod'], env)
    expect(again.code, again.stderr).toBe(0)
  })

  it('netlab down stops the engines of a probe that is stuck', async () => {
    execFileSync('ip', ['netns', 'exec', `netlab-${lab}.n1`, 'sysctl', '-qw', 'net.ipv4.ip_forward=0'])
    const child = netlabSpawn(['probe', lab], env)
    try {
      await waitFor(() => processesWith(`netlab-probe-engine:${lab}:${child.pid}`).length === ENGINES)
      process.kill(child.pid!, 'SIGSTOP') // alive but stuck: nothing stops the engines but `down`
      // however early it was stopped: each engine is recorded before it starts (once without its PID)
      expect(
        readdirSync(join(stateDir, lab, 'pids'))
          .filter((f) => f.endsWith('.json'))
          .sort(),
      ).toEqual(Array.from({length: ENGINES}, (_, i) => `probe-engine-${child.pid}${i > 0 ? `.${i}` : ''}.json`).sort())
      await sleep(200)
      expect(processesWith(`netlab-probe-engine:${lab}:${child.pid}`)).toHaveLength(ENGINES)
      const d = netlab(['down', lab], env)
      expect(d.code, d.stderr).toBe(0)
      expect(d.stdout).toContain(`, ${plural(ENGINES, 'process', 'processes')} stopped`)
      // gone, not just signalled; they are zombies now, which the stopped probe cannot reap
      expect(probeProcesses(lab)).toEqual([])
      expect(labNetns(lab)).toEqual([])
    } finally {
      process.kill(child.pid!, 'SIGKILL')
    }
  })
})

describe.skipIf(!isRoot)('netlab down and the processes of a lab', () => {
  const {stateDir, env, track} = labSandbox()
  const started: number[] = []
  afterAll(() => started.forEach((pid) => spawnSync('kill', ['-KILL', String(pid)])))

  /** A process with `marker` on its command line, recorded for `lab` as `name` (pid: whether the record has it). */
  function recorded(lab: string, name: string, marker: string, opts: {pid: boolean; ignoreTerm?: boolean}): number {
    const child = spawn('perl', ['-e', `${opts.ignoreTerm ? '$SIG{TERM} = "IGNORE"; ' : ''}sleep 120`, marker], {stdio: 'ignore'})
    started.push(child.pid!)
    mkdirSync(join(stateDir, lab, 'pids'), {recursive: true})
    writeFileSync(join(stateDir, lab, 'pids', `${name}.json`), JSON.stringify(opts.pid ? {pid: child.pid, marker} : {marker}))
    return child.pid!
  }

  it('stops a process recorded before its PID was known (its starter stopped right after starting it)', async () => {
    const lab = track(uniqueLab('pending'))
    const marker = `netlab-probe-engine:${lab}:${process.pid}`
    const pid = recorded(lab, `probe-engine-${process.pid}`, marker, {pid: false})
    await waitFor(() => processesWith(marker).length === 1)
    const d = netlab(['down', lab], env)
    expect(d.code, d.stderr).toBe(0)
    expect(d.stdout).toMatch(/, 1 process stopped/)
    expect(processesWith(marker)).toEqual([])
    expect(existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)).toBe(false)
    expect(existsSync(join(stateDir, lab))).toBe(false)
  })

  it('waits for a process that ignores SIGTERM until SIGKILL has ended it', async () => {
    const lab = track(uniqueLab('stubborn'))
    const marker = `netlab-probe-engine:${lab}:${process.pid}`
    recorded(lab, `probe-engine-${process.pid}.1`, marker, {pid: true, ignoreTerm: true})
    await waitFor(() => processesWith(marker).length === 1)
    const d = netlab(['down', lab], env)
    expect(d.code, d.stderr).toBe(0)
    expect(d.stdout).toMatch(/, 1 process stopped/)
    expect(processesWith(marker)).toEqual([])
  })
})

describe.skipIf(!isRoot)('netlab probe fails for the right reason', () => {
  it('a deleted route on one node: pods of the two nodes cannot ping each other; every other pair can', async () => {
    await withLab('probe-route', {nodes: 3, pods: 2}, (lab, env, s) => {
      const [n0, n1] = s.nodes
      execFileSync('ip', ['-n', n0.netns, 'route', 'del', n1.podCIDR])
      // n0 answers each packet it cannot route with an ICMP error, but the kernel sends a host
      // only a burst of them, then one a second (net.ipv4.icmp_ratelimit, counted as
      // IcmpOutRateLimitHost): the pings and the HTTP probes' SYNs of one run to the same pod are
      // more than that, so which probe got the error depended on their order. Unlimited in n0.
      execFileSync('ip', ['netns', 'exec', n0.netns, 'sysctl', '-qw', 'net.ipv4.icmp_ratelimit=0'])
      const {code, report} = probeJson(lab, env)
      expect(code).toBe(1)
      const podsOf = (n: Status['nodes'][number]) => n.pods.map((p) => p.name)
      const expected = [
        ...podsOf(n0).flatMap((a) => podsOf(n1).map((b) => `${a}>${b}`)),
        ...podsOf(n1).flatMap((a) => podsOf(n0).map((b) => `${a}>${b}`)),
      ].sort()
      const cross = check(report, 'pod-pod-other-node')
      expect(
        cross.results
          .filter((r) => !r.ok)
          .map(pair)
          .sort(),
      ).toEqual(expected)
      expect(cross.passed).toBe(24 - expected.length)
      expect(check(report, 'pod-pod-same-node').failed).toBe(0)
      // the same pairs fail the no-NAT check (no reply), nothing else does
      expect(
        check(report, 'no-nat-pod-pod')
          .results.filter((r) => !r.ok)
          .map(pair)
          .sort(),
      ).toEqual(expected)
      const n0ToN1 = cross.results.find((r) => r.src.name === n0.pods[0].name && r.dst.name === n1.pods[0].name)!
      expect(n0ToN1).toMatchObject({expected: 'reply', seen: 'no reply'})
      // n0 told its pod so itself: the ICMP error reached the pod's raw socket, naming n0's cni0
      expect(n0ToN1.detail).toBe(`ICMP Network Unreachable from ${n0.gateway}`)
    })
  })

  it("a pod's address deleted by hand: the probe says no echo service could listen there, not that it was refused", async () => {
    await withLab('probe-addr', {nodes: 2, pods: 1}, (lab, env, s) => {
      const [n0, n1] = s.nodes
      const gone = n1.pods[0]
      execFileSync('ip', ['-n', `netlab-${lab}.${gone.name}`, 'addr', 'flush', 'dev', 'eth0'])
      const {code, report} = probeJson(lab, env, ['--only', 'no-nat'])
      expect(code).toBe(1)
      const toGone = check(report, 'no-nat-pod-pod').results.find((r) => r.src.name === n0.pods[0].name && r.dst.name === gone.name)!
      expect(toGone.ok).toBe(false)
      expect(toGone.detail).toMatch(
        new RegExp(
          `^no echo service in ${gone.name}: cannot listen on ${gone.ip.replaceAll('.', '\\.')}:tcp/\\d+ there: Cannot assign requested address$`,
        ),
      )
    })
  })

  it('ip_forward off on one node: every cross-node ping to or from its pods fails; the rest pass', async () => {
    await withLab('probe-fwd', {nodes: 3, pods: 2}, (lab, env, s) => {
      const n1 = s.nodes[1]
      execFileSync('ip', ['netns', 'exec', n1.netns, 'sysctl', '-qw', 'net.ipv4.ip_forward=0'])
      const {code, report} = probeJson(lab, env)
      expect(code).toBe(1)
      const onN1 = new Set(n1.pods.map((p) => p.name))
      const cross = check(report, 'pod-pod-other-node')
      for (const r of cross.results) expect(r.ok, pair(r)).toBe(!onN1.has(r.src.name) && !onN1.has(r.dst.name))
      expect(cross.failed).toBe(2 * 4 * 2) // n1's 2 pods ⇄ the 4 pods elsewhere
      expect(check(report, 'pod-pod-same-node').failed).toBe(0) // bridged, not routed
      // leaving the cluster goes through n1 too
      expect(
        check(report, 'egress-reach')
          .results.filter((r) => !r.ok)
          .map((r) => r.src.name)
          .sort(),
      ).toEqual([...onN1].sort())
    })
  })

  it('a pod-to-pod masquerade rule on one node (the ipMasq mistake): ping passes, no-NAT fails naming the pair and the node address', async () => {
    await withLab('probe-masq', {nodes: 3, pods: 2}, (lab, env, s) => {
      const [n0, n1] = s.nodes
      execFileSync('ip', ['netns', 'exec', n0.netns, 'iptables', '-t', 'nat', '-I', 'POSTROUTING', '-s', n0.podCIDR, '-j', 'MASQUERADE'])
      const {code, report} = probeJson(lab, env)
      expect(code).toBe(1)
      // ping does not notice
      expect(check(report, 'pod-pod-same-node').failed).toBe(0)
      expect(check(report, 'pod-pod-other-node').failed).toBe(0)
      // the receiver does: every n0 pod → other-node pod pair saw n0's address
      const onN0 = new Set(n0.pods.map((p) => p.name))
      const noNat = check(report, 'no-nat-pod-pod')
      const crossFromN0 = noNat.results.filter((r) => onN0.has(r.src.name) && !onN0.has(r.dst.name))
      expect(crossFromN0).toHaveLength(2 * 4)
      for (const r of crossFromN0) expect(r).toMatchObject({ok: false, expected: r.src.ip, seen: n0.ip})
      for (const r of noNat.results.filter((x) => !onN0.has(x.src.name))) expect(r.ok, pair(r)).toBe(true)
      // and the text report names the pair with both addresses
      const text = netlab(['probe', lab, '--only', 'no-nat'], env)
      expect(text.code).toBe(1)
      const [a, b] = [n0.pods[0], n1.pods[0]]
      expect(text.stdout).toContain(
        `✗ ${a.name} (${a.ip}) → ${b.name} (${b.ip}): expected ${a.ip} (pod ${a.name}), seen ${n0.ip} (${n0.name}'s underlay address)`,
      )
      expect(text.stdout.trimEnd().split('\n').at(-1)).toMatch(/^\d+ passed, [1-9]\d* failed$/)
      // the weaker --udp check sees the same: the datagrams were masqueraded too
      const udp = check(probeJson(lab, env, ['--only', 'no-nat', '--udp']).report, 'no-nat-pod-pod')
      const udpFromN0 = udp.results.filter((r) => onN0.has(r.src.name) && !onN0.has(r.dst.name))
      expect(udpFromN0).toHaveLength(2 * 4)
      for (const r of udpFromN0) expect(r).toMatchObject({ok: false, expected: r.src.ip, seen: n0.ip})
    })
  })
})

describe.skipIf(!isRoot)('every topology in topologies/ passes', () => {
  const dir = TOPOLOGIES
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
    it(
      file,
      async () => {
        const stateDir = makeStateDir()
        const env = {NETLAB_STATE_DIR: stateDir}
        const lab = uniqueLab('topo')
        try {
          const topo = parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>
          topo.name = lab // a unique lab name: never collide with a lab someone has up
          const up = netlab(['up', writeTopology(stateDir, topo), '-q'], env)
          expect(up.code, up.stderr).toBe(0)
          const r = netlab(['probe', lab], env)
          expect(r.code, r.stdout + r.stderr).toBe(0)
          expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^\d+ passed, 0 failed$/)
          if (file === 'fifty-node.yaml') {
            // too big to learn neighbours by ARP, so a pod routes even its bridge-mates through
            // its node (see the plan): the kernel hands over same-node echo replies at TTL 63
            const pings = probeJson(lab, env, ['--only', 'pod-pod', '--all-checks'])
            expect(pings.code).toBe(0)
            expect(new Set(check(pings.report, 'pod-pod-same-node').results.map((x) => x.ttl))).toEqual(new Set([63]))
            expect(new Set(check(pings.report, 'pod-pod-other-node').results.map((x) => x.ttl))).toEqual(new Set([62]))
          }
        } finally {
          destroyLab(lab, stateDir)
          removeDir(stateDir)
        }
      },
      300_000,
    )
  }
})
