// Services at scale, measured as ratios within one run (machines differ by 2×; ratios do not).
//
// 1. A 50 × 10 lab (host-gw) with 200 Services × 5 endpoints, in each proxy mode, against the
//    same lab without a services: key: `up` (target ≤ 1.5× the lab without services), the rules one
//    node holds, the probe's services section, and `down`.
// 2. Where each mode's cost grows: a 2-node lab with S Services × 5 endpoints for several S: the
//    rules a node holds and the median time of a new TCP connection from a pod to the last
//    Service. kube-proxy's iptables mode walks KUBE-SERVICES rule by rule for the first packet of
//    every connection (cost grows with S); its nftables mode looks the ClusterIP up in a map
//    (it does not) — kube-proxy's own reason for the nftables mode.
//
//   node dist/bench/services.js [--quick]      (as root; --quick: the growth part only, S = 50 and 1000)
//
// Runs the real up() and down() in this process, like ./cni.ts; lab names and the state directory
// are unique to this run, and everything is removed at the end, also on failure.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {stringify} from 'yaml'

process.env.NETLAB_STATE_DIR = mkdtempSync(join(tmpdir(), 'netlab-bench-svc-state-'))
const stateDir = process.env.NETLAB_STATE_DIR

const {up} = await import('../src/lab/up.js')
const {down} = await import('../src/lab/down.js')
const {existingNetns} = await import('../src/state/store.js')
const {netlab, runTimed} = await import('./proc.js')
const {gridTopology} = await import('./topology.js')

type Proxy = 'iptables' | 'nftables'
const PROXIES: Proxy[] = ['iptables', 'nftables']
const ENDPOINTS = 5
const quick = process.argv.includes('--quick')
const dir = mkdtempSync(join(tmpdir(), 'netlab-bench-svc-'))
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`
const runId = `${(Date.now() % 36 ** 3).toString(36)}${(process.pid % 36 ** 2).toString(36)}`
let labs = 0
let code = 0

/**
 * `nodes` × `pods` (host-gw), every pod serving TCP 8080 (a workload each), and `services`
 * Services of ENDPOINTS endpoints each (undefined: no services: key at all). Pods are in groups of
 * ENDPOINTS (label g: pods k·5 … k·5+4 of the lab); Service s selects group s mod the number of
 * groups, so more Services than groups share endpoints, as Services of one app do.
 */
function labFile(nodes: number, pods: number, services: number | undefined, proxy: Proxy): {lab: string; file: string} {
  const lab = `bs${runId}-${labs++}`
  const topo = gridTopology(lab, nodes, pods, 'host-gw') as {nodes: {name: string; pods: unknown}[]; cluster: Record<string, unknown>}
  const total = nodes * pods
  const groups = total / ENDPOINTS
  topo.nodes = topo.nodes.map((n, i) => ({
    name: n.name,
    pods: Array.from({length: pods}, (_, k) => {
      const p = i * pods + k
      return {name: `${n.name}-p${k}`, labels: {g: String(Math.floor(p / ENDPOINTS))}, ports: [{name: 'http', port: 8080}]}
    }),
  }))
  const doc: Record<string, unknown> = {...topo}
  if (services !== undefined) {
    topo.cluster.proxy = proxy
    topo.cluster.serviceCIDR = '10.96.0.0/16'
    doc.services = Array.from({length: services}, (_, s) => ({
      name: `svc-${s}`,
      selector: {g: String(s % groups)},
      ports: [{name: 'http', port: 80, targetPort: 'http'}],
    }))
  }
  const file = join(dir, `${lab}.yaml`)
  writeFileSync(file, stringify(doc))
  return {lab, file}
}

/**
 * What kube-proxy's mode holds in one node: iptables-save's KUBE rules; or, for nftables, the rules
 * of its table's chains and the elements of its maps and sets (a Service is an element of a map,
 * not a rule to walk: the point of the mode).
 */
async function rulesOnNode(lab: string, proxy: Proxy): Promise<string> {
  const netns = `netlab-${lab}.n0`
  if (proxy === 'iptables') {
    const r = await runTimed('ip', ['netns', 'exec', netns, 'iptables-save'])
    return String(r.stdout.split('\n').filter((l) => /^-[AI] \S+ .*KUBE-|^-A KUBE-/.test(l)).length)
  }
  const r = await runTimed('ip', ['netns', 'exec', netns, 'nft', 'list', 'table', 'ip', 'kube-proxy'])
  let [rules, elements, inElements] = [0, 0, false]
  for (const line of r.stdout.split('\n')) {
    const t = line.trim()
    if (t.startsWith('elements = {')) inElements = true
    if (inElements) {
      elements += t
        .replace(/^elements = \{/, '')
        .replace(/\}$/, '')
        .split(',')
        .filter((e) => e.trim() !== '').length
      if (t.endsWith('}')) inElements = false
      continue
    }
    if (t && !/^(table|chain|map|set|type|policy|flags|timeout|comment|size)\b|^[{}]/.test(t)) rules++
  }
  return `${rules} rules + ${elements} map elements`
}

/** Median time of a new TCP connection (connect, read the answer, close) from the first pod to `ip`:80, µs; 200 tries. */
async function connectMicros(lab: string, ip: string): Promise<number> {
  const script =
    'use IO::Socket::INET; use Time::HiRes qw(time); my @t; for (1..200) { my $t0 = time; ' +
    `my $s = IO::Socket::INET->new(PeerAddr => "${ip}", PeerPort => 80, Timeout => 2) or die "connect: $!"; ` +
    'print $s "GET / HTTP/1.0\\r\\n\\r\\n"; local $/; my $a = <$s>; close $s; push @t, (time - $t0) * 1e6 } ' +
    '@t = sort { $a <=> $b } @t; print $t[@t / 2]'
  const r = await runTimed('ip', ['netns', 'exec', `netlab-${lab}.n0-p0`, 'perl', '-e', script], {timeoutMs: 120_000})
  if (r.code !== 0) throw new Error(`connection timing failed: ${r.stderr.trim()}`)
  return Number(r.stdout)
}

async function withLab<T>(l: {lab: string; file: string}, f: (upMs: number) => Promise<T>): Promise<T> {
  const ns = () => [...existingNetns()].filter((n) => n.startsWith(`netlab-${l.lab}.`))
  try {
    const u = await up(l.file, {progress: 'silent'})
    return await f(u.ms)
  } finally {
    if (ns().length > 0) await down(l.lab).catch(() => undefined)
    const left = ns()
    if (left.length > 0) await runTimed('ip', ['-force', '-batch', '-'], {input: left.map((n) => `netns del ${n}`).join('\n') + '\n'})
  }
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

async function atScale(): Promise<string> {
  const [NODES, PODS, SERVICES] = [50, 10, 200]
  const rows = [['lab', 'up', 'vs without services', 'rules on a node', 'probe --only services', 'down']]
  // rounds of (without, iptables, nftables), so each ratio compares runs made a minute apart
  for (let round = 0; round < 2; round++) {
    const base = await withLab(labFile(NODES, PODS, undefined, 'iptables'), async (ms) => ms)
    rows.push([`${NODES}×${PODS}, no services`, sec(base), '1.00×', '-', '-', '-'])
    for (const proxy of PROXIES) {
      const l = labFile(NODES, PODS, SERVICES, proxy)
      const row = await withLab(l, async (ms) => {
        const rules = await rulesOnNode(l.lab, proxy)
        const probe = await netlab(['probe', l.lab, '--only', 'services'], {env: {NETLAB_STATE_DIR: stateDir}, timeoutMs: 600_000})
        if (probe.code !== 0) code = 1
        const verdict = probe.stdout.trimEnd().split('\n').at(-1) ?? `exit ${probe.code}`
        const t0 = performance.now()
        await down(l.lab)
        const ratio = ms / base
        return [
          `${SERVICES}×${ENDPOINTS} ${proxy}`,
          sec(ms),
          `${ratio.toFixed(2)}× ${ratio <= 1.5 ? '✓' : '✗'} (≤ 1.5×)`,
          String(rules),
          `${verdict} (${sec(probe.ms)})`,
          sec(performance.now() - t0),
        ]
      })
      rows.push(row)
    }
  }
  return `Services at ${NODES} × ${PODS} (host-gw), ${SERVICES} Services × ${ENDPOINTS} endpoints:\n\n${table(rows)}`
}

async function growth(): Promise<string> {
  const sizes = quick ? [50, 1000] : [50, 250, 1000]
  const rows = [['services', ...PROXIES.flatMap((p) => [`${p}: rules on a node`, `${p}: new connection (median µs)`])]]
  for (const s of sizes) {
    const row = [`${s} × ${ENDPOINTS}`]
    for (const proxy of PROXIES) {
      const l = labFile(2, 10, s, proxy)
      row.push(
        ...(await withLab(l, async () => {
          const rules = await rulesOnNode(l.lab, proxy)
          // the last Service: its ClusterIP is the highest, its rule the last in KUBE-SERVICES
          const last = `10.96.${Math.floor((10 + s - 1) / 256)}.${(10 + s - 1) % 256}`
          return [rules, (await connectMicros(l.lab, last)).toFixed(0)]
        })),
      )
    }
    rows.push(row)
  }
  return `Where the cost grows (2 nodes; a new connection to the last Service, from a pod):\n\n${table(rows)}`
}

try {
  if (!quick) console.log(`${await atScale()}\n`)
  console.log(await growth())
} catch (error) {
  console.error(`services bench: ${(error as Error).message}`)
  code = 1
} finally {
  rmSync(dir, {recursive: true, force: true})
  rmSync(stateDir, {recursive: true, force: true})
}
process.exitCode = code
