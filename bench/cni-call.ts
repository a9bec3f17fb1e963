// What one CNI plugin call costs: ADD and DEL (wall clock, median and 90th percentile of many)
// of netlab-cni, the reference bridge plugin (+ host-local) and bash-cni, each run as a runtime
// runs it: `ip netns exec NODE plugin` with the config on stdin, into a scratch pod namespace.
// The cost of `ip netns exec NODE true` is shown apart: it is the runtime's, not the plugin's.
// With --lab NxP it also brings a whole lab's pods up and down through each plugin: N node
// namespaces with P pod namespaces each, every ADD (then every DEL) started with --parallel
// calls at a time (default: the CPU count), as a runtime that starts pods in parallel would.
//   node dist/bench/cni-call.js [--calls N] [--lab 50x10] [--parallel K] [--json]   (root)
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {availableParallelism, tmpdir} from 'node:os'
import {join} from 'node:path'
import {ROOT} from './proc.js'
import {median} from './report.js'
import {describeMachine, machine} from './system.js'

const PLUGINS = [
  {name: 'netlab-cni', path: join(ROOT, 'bin', 'netlab-cni'), type: 'netlab-cni'},
  {name: 'reference bridge', path: '/usr/lib/cni/bridge', type: 'bridge'},
  {name: 'bash-cni', path: join(ROOT, 'examples', 'bash-cni', 'bash-cni'), type: 'bash-cni'},
]

const arg = (flag: string) => process.argv.indexOf(flag)
const calls = arg('--calls') > 0 ? Number(process.argv[arg('--calls') + 1]) : 30
const lab = arg('--lab') > 0 ? process.argv[arg('--lab') + 1].split('x').map(Number) : undefined
const parallel = arg('--parallel') > 0 ? Number(process.argv[arg('--parallel') + 1]) : availableParallelism()

function timed(node: string, cmd: string, env: Record<string, string>, input: string): number {
  const t = performance.now()
  const r = spawnSync('ip', ['netns', 'exec', node, cmd], {env: {PATH: process.env.PATH, ...env}, input, encoding: 'utf8'})
  const ms = performance.now() - t
  if (r.status !== 0) throw new Error(`${cmd} ${env.CNI_COMMAND} failed: ${r.stdout}${r.stderr}`)
  return ms
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]
const round = (x: number) => Math.round(x * 10) / 10

function bench(plugin: (typeof PLUGINS)[number]): {add: number[]; del: number[]; exec: number[]} {
  const base = `netlab-cnibench-${process.pid}`
  const [node, pod] = [`${base}-node`, `${base}-pod`]
  const dataDir = mkdtempSync(join(tmpdir(), 'netlab-cnibench-'))
  const conf = JSON.stringify({
    cniVersion: '1.0.0',
    name: 'bench',
    type: plugin.type,
    bridge: 'cni0',
    isGateway: true,
    isDefaultGateway: true,
    ipam: {type: 'host-local', subnet: '10.99.0.0/24', gateway: '10.99.0.1', dataDir},
  })
  const out = {add: [] as number[], del: [] as number[], exec: [] as number[]}
  try {
    for (const ns of [node, pod]) spawnSync('ip', ['netns', 'add', ns])
    for (let i = 0; i < calls; i++) {
      const env = {CNI_CONTAINERID: `c${i}`, CNI_NETNS: `/var/run/netns/${pod}`, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni'}
      out.add.push(timed(node, plugin.path, {...env, CNI_COMMAND: 'ADD'}, conf))
      out.del.push(timed(node, plugin.path, {...env, CNI_COMMAND: 'DEL'}, conf))
      out.exec.push(timed(node, 'true', {}, ''))
    }
  } finally {
    for (const ns of [node, pod]) if (existsSync(`/run/netns/${ns}`)) spawnSync('ip', ['netns', 'del', ns])
    rmSync(dataDir, {recursive: true, force: true})
  }
  return out
}

/** One call, asynchronously (for the lab run); rejects on a failed call. */
function callAsync(node: string, cmd: string, env: Record<string, string>, input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', node, cmd], {env: {PATH: process.env.PATH, ...env}})
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${env.CNI_COMMAND}: ${out}`))))
    child.stdin.end(input)
  })
}

/** Run the jobs `parallel` at a time; the wall clock of all of them. */
async function pool(jobs: (() => Promise<void>)[]): Promise<number> {
  const t = performance.now()
  let next = 0
  await Promise.all(
    Array.from({length: Math.min(parallel, jobs.length)}, async () => {
      while (next < jobs.length) await jobs[next++]()
    }),
  )
  return performance.now() - t
}

/** Every pod of an N x P lab up, then down, through one plugin; namespaces made and removed with ip -batch. */
async function labRun(plugin: (typeof PLUGINS)[number], [nodes, pods]: number[]): Promise<{upMs: number; downMs: number}> {
  const base = `netlab-cnibench-${process.pid}`
  const node = (n: number) => `${base}-n${n}`
  const pod = (n: number, p: number) => `${base}-n${n}p${p}`
  const all = Array.from({length: nodes}, (_, n) => [node(n), ...Array.from({length: pods}, (_, p) => pod(n, p))]).flat()
  const dataDir = mkdtempSync(join(tmpdir(), 'netlab-cnibench-'))
  const conf = (n: number) =>
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'bench',
      type: plugin.type,
      bridge: 'cni0',
      isGateway: true,
      isDefaultGateway: true,
      ipam: {type: 'host-local', subnet: `10.${100 + (n >> 8)}.${n & 255}.0/24`, dataDir: join(dataDir, `n${n}`)},
    })
  const jobs = (command: string) =>
    Array.from({length: nodes * pods}, (_, i) => {
      // pod-major order: consecutive calls go to different nodes, as a runtime per node would
      const [n, p] = [i % nodes, Math.floor(i / nodes)]
      const env = {
        CNI_COMMAND: command,
        CNI_CONTAINERID: `c${n}-${p}`,
        CNI_NETNS: `/var/run/netns/${pod(n, p)}`,
        CNI_IFNAME: 'eth0',
        CNI_PATH: '/usr/lib/cni',
      }
      return () => callAsync(node(n), plugin.path, env, conf(n))
    })
  try {
    spawnSync('ip', ['-batch', '-'], {input: all.map((ns) => `netns add ${ns}`).join('\n') + '\n'})
    const upMs = await pool(jobs('ADD'))
    const downMs = await pool(jobs('DEL'))
    return {upMs, downMs}
  } finally {
    const left = all.filter((ns) => existsSync(`/run/netns/${ns}`))
    spawnSync('ip', ['-force', '-batch', '-'], {input: left.map((ns) => `netns del ${ns}`).join('\n') + '\n'})
    rmSync(dataDir, {recursive: true, force: true})
  }
}

if (process.getuid?.() !== 0) {
  console.error('cni-call: run as root (it creates scratch namespaces)')
  process.exit(1)
}
const rows = PLUGINS.map((p) => {
  const r = bench(p)
  return {
    plugin: p.name,
    addMedianMs: round(median(r.add)),
    addP90Ms: round(pct(r.add, 0.9)),
    delMedianMs: round(median(r.del)),
    delP90Ms: round(pct(r.del, 0.9)),
    netnsExecMs: round(median(r.exec)),
  }
})
const labRows = []
if (lab) for (const p of PLUGINS) labRows.push({plugin: p.name, ...(await labRun(p, lab))})
if (arg('--json') > 0) console.log(JSON.stringify({calls, rows, ...(lab ? {lab: lab.join('x'), parallel, labRows} : {})}, null, 2))
else {
  console.log(describeMachine(machine()))
  console.log(`${calls} ADD + DEL calls per plugin, wall clock in ms (ip netns exec included; its own cost apart)`)
  console.log(['plugin'.padEnd(18), 'ADD med', 'ADD p90', 'DEL med', 'DEL p90', 'netns exec'].join('  '))
  for (const r of rows) {
    console.log(
      [
        r.plugin.padEnd(18),
        ...[r.addMedianMs, r.addP90Ms, r.delMedianMs, r.delP90Ms, r.netnsExecMs].map((x) => String(x).padStart(7)),
      ].join('  '),
    )
  }
  if (lab) {
    console.log(`\na ${lab.join(' x ')} lab's ${lab[0] * lab[1]} pods through each plugin, ${parallel} calls at a time (wall clock)`)
    for (const r of labRows)
      console.log(`${r.plugin.padEnd(18)}  all ADDs ${(r.upMs / 1000).toFixed(1)} s  all DELs ${(r.downMs / 1000).toFixed(1)} s`)
  }
}
