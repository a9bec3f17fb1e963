// What one CNI plugin call costs: ADD and DEL (wall clock, median and 90th percentile of many)
// of netlab-cni, the reference bridge plugin (+ host-local) and bash-cni, each run as a runtime
// runs it: `ip netns exec NODE plugin` with the config on stdin, into a scratch pod namespace.
// The cost of `ip netns exec NODE true` is shown apart: it is the runtime's, not the plugin's.
//   node dist/bench/cni-call.js [--calls N] [--json]      (root; ~1 min at the default 30 calls)
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
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
if (arg('--json') > 0) console.log(JSON.stringify({calls, rows}, null, 2))
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
}
