// routing bgp on real namespaces, seen from the kernel: BIRD runs in each node's namespace (never
// the host's) and peers only with lab addresses; every route between nodes is proto bird; a BIRD
// that dies (netlab break bgp-down) is withdrawn by its peers within the hold time with no route
// edit by netlab, the probe then fails exactly for that node's pods and trace says why; fix brings
// the routes back; down leaves no BIRD. One lab serves the checks of a block (in order).
import {execFileSync} from 'node:child_process'
import {readFileSync, readlinkSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse, stringify} from 'yaml'
import {processesWithArg} from '../../src/host/processes.js'
import {ipIn, isRoot, labNetns, labSandbox, netlab, ROOT, uniqueLab, writeTopology} from '../helpers/lab.js'

const hasBird = ['/usr/sbin/bird', '/usr/bin/bird'].some((f) => {
  try {
    return statSync(f).isFile()
  } catch {
    return false
  }
})
const skipWhy = !isRoot ? 'not root' : !hasBird ? 'BIRD is not installed (apt-get install bird2)' : ''

interface Route {
  dst: string
  protocol?: string
  gateway?: string
  type?: string
}
const routes = (netns: string): Route[] => JSON.parse(ipIn(netns, ['-4', '-j', 'route', 'show', 'table', 'main']) || '[]')

/** The lab's BIRD processes: their marker (argv[0]) names the lab. */
const birdsOf = (lab: string) => processesWithArg((a) => a.startsWith('netlab-bird:') && a.includes(`:${lab}:`)).map((p) => p.pid)

/** Poll (bounded) until `cond` holds; how long it took, in ms. */
async function within(ms: number, cond: () => boolean): Promise<number> {
  const t0 = performance.now()
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`not within ${ms} ms`)
    await sleep(50)
  }
  return Math.round(performance.now() - t0)
}

function labFrom(file: string, lab: string, stateDir: string): string {
  const topo = parse(readFileSync(join(ROOT, 'topologies', file), 'utf8'))
  topo.name = lab
  return writeTopology(stateDir, topo)
}

describe.skipIf(skipWhy !== '')(`routing bgp: BIRD in every node (three-node-bgp.yaml)${skipWhy ? ` — skipped: ${skipWhy}` : ''}`, () => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab('bgp'))
  const ns = (name: string) => `netlab-${lab}.${name}`
  const nodes = [
    {name: 'node-0', ip: '192.168.50.10', block: '10.244.0.0/24', pods: ['web-0', 'web-1']},
    {name: 'node-1', ip: '192.168.50.21', block: '10.244.9.0/24', pods: ['db']},
    {name: 'node-2', ip: '192.168.50.12', block: '10.244.2.0/24', pods: ['node-2-p0', 'node-2-p1']},
  ]
  const learned = (at: string, block: string) => routes(ns(at)).some((r) => r.dst === block && r.protocol === 'bird')

  beforeAll(() => {
    const up = netlab(['up', labFrom('three-node-bgp.yaml', lab, stateDir), '--json'], env)
    expect(up.code, up.stderr).toBe(0)
    const bgp = JSON.parse(up.stdout).bgpConvergence
    console.log(`bgp: three nodes converged in ${bgp.ms} ms (${bgp.daemons} daemons, ${bgp.sessions} sessions)`)
    expect(bgp).toMatchObject({daemons: 3, sessions: 3})
  })
  afterAll(() => {
    expect(netlab(['down', lab], env).code).toBe(0)
    expect(labNetns(lab)).toEqual([])
    expect(birdsOf(lab)).toEqual([])
  })

  it("every node's route to another node's block is proto bird, via that node; its own block is a blackhole; nothing else to pods", () => {
    for (const n of nodes) {
      const table = routes(ns(n.name))
      expect(table.find((r) => r.dst === n.block)?.type, `${n.name}'s own block`).toBe('blackhole')
      for (const m of nodes.filter((x) => x !== n))
        expect(table.filter((r) => r.dst.startsWith('10.244.') && r.dst === m.block)).toEqual([
          expect.objectContaining({dst: m.block, gateway: m.ip, protocol: 'bird'}),
        ])
      // the rest of 10.244/16 here: the node's own pods, one /32 each, on their cables
      const rest = table.filter((r) => r.dst.startsWith('10.244.') && !nodes.some((m) => m.block === r.dst))
      expect(rest.map((r) => r.dst).sort()).toEqual(
        n.pods.map((p) => JSON.parse(ipIn(ns(p), ['-4', '-j', 'addr', 'show', 'eth0']))[0].addr_info[0].local).sort(),
      )
    }
  })

  it("each BIRD runs inside its node's namespace, never the host's, and its only BGP connections are to lab nodes", () => {
    const birds = birdsOf(lab)
    expect(birds).toHaveLength(3)
    const host = readlinkSync('/proc/self/ns/net')
    const nodeNs = new Map(nodes.map((n) => [`net:[${statSync(`/run/netns/${ns(n.name)}`).ino}]`, n.name]))
    expect(birds.map((pid) => readlinkSync(`/proc/${pid}/ns/net`)).every((x) => x !== host && nodeNs.has(x))).toBe(true)
    expect(new Set(birds.map((pid) => nodeNs.get(readlinkSync(`/proc/${pid}/ns/net`)))).size).toBe(3)
    for (const n of nodes) {
      const ss = execSs(ns(n.name))
      const peers = new Set(ss.map((c) => c.peer))
      expect([...peers].sort(), n.name).toEqual(
        nodes
          .filter((m) => m !== n)
          .map((m) => m.ip)
          .sort(),
      )
    }
  })

  it('probe passes, and its bgp-learned check found every route learned on every node', () => {
    const r = netlab(['probe', lab, '--json'], env)
    expect(r.code, r.stdout).toBe(0)
    const check = JSON.parse(r.stdout).checks.find((c: {id: string}) => c.id === 'bgp-learned')
    expect(check).toMatchObject({passed: 3, failed: 0})
  })

  it("bgp-down: the peers withdraw the dead node's block by themselves within the hold time; probe fails exactly for its pods; trace says why; fix brings it back", async () => {
    const br = netlab(['break', lab, 'bgp-down', '--seed', '7', '--reveal', '--json'], env)
    expect(br.code, br.stderr).toBe(0)
    const where = JSON.parse(br.stdout).fault.where as string
    const dead = nodes.find((n) => n.name === where)!
    const alive = nodes.filter((n) => n !== dead)
    // the fault is one action, BIRD's: netlab edits no route
    const fault = JSON.parse(readFileSync(join(stateDir, lab, 'fault.json'), 'utf8')).fault
    expect(fault.plan.actions.map((a: {tool: string; args: string[]}) => `${a.tool} ${a.args.join(' ')}`)).toEqual([`bird stop ${where}`])
    const ms = await within(10_000, () => alive.every((n) => !learned(n.name, dead.block)))
    console.log(`bgp-down: ${where}'s block withdrawn on every other node after ${ms} ms (hold time 3 s)`)
    for (const n of alive) for (const m of alive.filter((x) => x !== n)) expect(learned(n.name, m.block)).toBe(true)

    const probe = netlab(['probe', lab, '--json', '--all-checks'], env)
    expect(probe.code).toBe(1)
    const report = JSON.parse(probe.stdout)
    const onDead = (e: {kind: string; name: string; node?: string}) => e.kind === 'pod' && e.node === where
    const elsewhere = (e: {kind: string; name: string; node?: string}) =>
      e.kind === 'pod' ? e.node !== where : e.kind === 'node' && e.name !== where
    type R = {src: {kind: string; name: string; node?: string}; dst: {kind: string; name: string; node?: string}; ok: boolean}
    const reach = report.checks
      .filter((c: {id: string; section: string}) => c.id !== 'bgp-learned' && c.section !== 'self-address')
      .flatMap((c: {results: R[]}) => c.results)
    // a failure is a pair of the dead node's pods and the rest of the cluster, and every such pair
    // fails — but for its pods' pings to other nodes: those are masqueraded to the dead node's own
    // address (it leaves the pod range), which every node still reaches
    const cut = (r: R) => (onDead(r.src) && elsewhere(r.dst) && r.dst.kind === 'pod') || (elsewhere(r.src) && onDead(r.dst))
    expect(reach.filter((r: R) => !r.ok && !cut(r)).map((r: R) => `${r.src.kind} ${r.src.name}>${r.dst.kind} ${r.dst.name}`)).toEqual([])
    expect(reach.filter((r: R) => r.ok && cut(r)).map((r: R) => `${r.src.name}>${r.dst.name}`)).toEqual([])
    expect(reach.filter((r: R) => !r.ok).length).toBeGreaterThan(0)
    const check = report.checks.find((c: {id: string}) => c.id === 'bgp-learned')
    expect(check).toMatchObject({passed: 1, failed: 2})

    const [from, to] = [alive[0].pods[0], dead.pods[0]]
    const trace = netlab(['trace', '--lab', lab, from, to], env)
    expect(trace.stdout).toContain(`BIRD on ${where} is frozen (stopped: it sends nothing), so its peers dropped its block ${dead.block}`)
    expect(trace.stdout).toContain('(withdrawn)')

    const fix = netlab(['fix', lab], env)
    expect(fix.code, fix.stderr).toBe(0)
    // fix waits until the lab has converged again
    for (const n of nodes)
      for (const m of nodes.filter((x) => x !== n)) expect(learned(n.name, m.block), `${n.name} → ${m.block}`).toBe(true)
    expect(netlab(['probe', lab], env).code).toBe(0)
    const traced = netlab(['trace', '--lab', lab, from, to], env)
    expect(traced.stdout).toContain(`${dead.block} via ${dead.ip} proto bird, learned from ${where}`)
  }, 120_000)

  it("status and netlab bgp show BIRD's sessions and routes", () => {
    const st = netlab(['status', lab, '--json'], env)
    const bgp = JSON.parse(st.stdout).bgp
    expect(bgp.speakers.map((s: {sessions: {state: string}[]}) => s.sessions.map((x) => x.state))).toEqual([
      ['Established', 'Established'],
      ['Established', 'Established'],
      ['Established', 'Established'],
    ])
    const view = netlab(['bgp', lab, 'node-1'], env)
    expect(view.code).toBe(0)
    expect(view.stdout).toMatch(/10\.244\.0\.0\/24 +unicast \[\S+ [^\]]*\] \* \(100\) \[i\]\n\s+via 192\.168\.50\.10 on eth0/)
    expect(netlab(['bgp', lab, 'nope'], env).code).toBe(2)
  })

  it('netlab apply: a node that joins writes nothing on the other nodes, yet every node learns its block by BGP; one that leaves is withdrawn everywhere and its BIRD stops', async () => {
    const file = labFrom('three-node-bgp.yaml', lab, stateDir)
    const topo = parse(readFileSync(file, 'utf8'))
    topo.nodes.push({name: 'node-3', pods: 1})
    const joined = join(stateDir, 'joined.yaml')
    writeFileSync(joined, stringify(topo))
    const dry = netlab(['apply', joined, '--dry-run', '--json'], env)
    expect(dry.code, dry.stderr).toBe(0)
    const touched = new Set(JSON.parse(dry.stdout).plan.actions.map((a: {netns: string | null}) => a.netns))
    for (const n of nodes) expect(touched.has(ns(n.name)), `the apply plan writes in ${n.name}`).toBe(false)
    const r = netlab(['apply', joined], env)
    expect(r.code, r.stderr).toBe(0)
    const block = '10.244.3.0/24' // the first free /24 of the pod range
    for (const n of nodes) expect(learned(n.name, block), `${n.name} learned ${block}`).toBe(true)
    expect(birdsOf(lab)).toHaveLength(4)
    expect(netlab(['probe', lab, '--only', 'pod-pod'], env).code).toBe(0)
    const back = netlab(['apply', file], env)
    expect(back.code, back.stderr).toBe(0)
    // withdrawn by the peers (its BIRD was stopped before its namespace went): polled, bounded by the hold time and then some
    await within(10_000, () => nodes.every((n) => !learned(n.name, block)))
    expect(birdsOf(lab)).toHaveLength(3)
    expect(netlab(['probe', lab, '--only', 'pod-pod'], env).code).toBe(0)
  })
})

/** The BGP connections (TCP 179) a namespace holds, established, by peer address. */
function execSs(netns: string): {local: string; peer: string}[] {
  const out = execFileSync('ip', ['netns', 'exec', netns, 'ss', '-Htn', 'state', 'established', '( sport = :179 or dport = :179 )'], {
    encoding: 'utf8',
  })
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.trim().split(/\s+/)
      return {local: f.at(-2)!.replace(/:\d+$/, ''), peer: f.at(-1)!.replace(/:\d+$/, '')}
    })
}

describe.skipIf(skipWhy !== '')(`routing bgp across two segments (two-segment-bgp.yaml)${skipWhy ? ` — skipped: ${skipWhy}` : ''}`, () => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab('bgp-2seg'))
  const ns = (name: string) => `netlab-${lab}.${name}`

  it("one AS per segment: a node learns its rack-mate's block via the mate, the other segment's via the router's leg; probe passes", () => {
    const up = netlab(['up', labFrom('two-segment-bgp.yaml', lab, stateDir), '-q'], env)
    expect(up.code, up.stderr).toBe(0)
    const a = routes(ns('node-a'))
    expect(a.find((r) => r.dst === '10.244.1.0/24')).toMatchObject({gateway: '192.168.50.11', protocol: 'bird'}) // node-a2
    expect(a.find((r) => r.dst === '10.244.2.0/24')).toMatchObject({gateway: '192.168.50.1', protocol: 'bird'}) // node-b, via the router
    const router = routes(ns('router')).filter((r) => r.protocol === 'bird')
    expect(router.map((r) => `${r.dst} ${r.gateway}`).sort()).toEqual([
      '10.244.0.0/24 192.168.50.10',
      '10.244.1.0/24 192.168.50.11',
      '10.244.2.0/24 192.168.60.10',
      '10.244.3.0/24 192.168.60.11',
    ])
    expect(birdsOf(lab)).toHaveLength(5)
    const probe = netlab(['probe', lab], env)
    expect(probe.code, probe.stdout).toBe(0)
    expect(netlab(['down', lab], env).code).toBe(0)
    expect(birdsOf(lab)).toEqual([])
  }, 120_000)
})
