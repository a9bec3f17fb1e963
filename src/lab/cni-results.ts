// What the plugins really did, read back from the runtime's result cache: the address and MAC
// each pod's eth0 got. The model predicts them (and asks for them through the mac and ips
// capabilities where the plugin has them); a plugin without those picks its own, and the
// cached results are the truth that status and probe must use.
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {trustPath} from '../core/trust.js'
import {pluginOwners} from '../host/cni-env.js'
import {UsageError} from '../core/errors.js'
import type {LabModel, CniModel} from '../model/types.js'
import {nodePlugins} from '../compile/cni-model.js'
import {cacheFile} from '../compile/cni-plan.js'

interface CachedResult {
  result?: {interfaces?: {name: string; mac?: string; sandbox?: string}[]; ips?: {address: string; interface?: number}[]}
}

/** The cached ADD result of a pod, or undefined when there is none (not added, or deleted). */
export function cachedResult(model: LabModel, pod: {netns: string}): CachedResult['result'] | undefined {
  const file = cacheFile(model.cni!, pod as never)
  if (!existsSync(file)) return undefined
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as CachedResult).result
  } catch {
    return undefined
  }
}

/**
 * The model with every pod's address, MAC and host-side cable name as its plugins' results say
 * (the reference bridge plugin names its veths at random: trace must follow the kernel's names);
 * returns how many addresses differed from the prediction.
 */
export function applyResults(model: LabModel): number {
  let changed = 0
  for (const node of model.nodes) {
    const results = node.pods.map((pod) => cachedResult(model, pod))
    // the node's end of a pod's cable: the result's interface outside the sandbox that is not a
    // bridge (one the conflist names, or one that more than one pod's result lists)
    const outside = results.flatMap((r) => (r?.interfaces ?? []).filter((i) => !i.sandbox).map((i) => i.name))
    const shared = new Set([...conflistBridges(model.cni!, node.name), node.bridge, ...outside.filter((n, i) => outside.indexOf(n) !== i)])
    node.pods.forEach((pod, k) => {
      const r = results[k]
      const eth0 = r?.interfaces?.findIndex((i) => i.name === 'eth0' && i.sandbox)
      const ip = r?.ips?.find((a) => a.interface === undefined || a.interface === eth0)?.address.split('/')[0]
      const mac = eth0 !== undefined && eth0 >= 0 ? r!.interfaces![eth0].mac : undefined
      if (ip && ip !== pod.ip) {
        pod.ip = ip
        changed++
      }
      if (mac && mac !== pod.mac) pod.mac = mac
      const host = r?.interfaces?.find((i) => !i.sandbox && !shared.has(i.name))?.name
      if (host) pod.hostVeth = host
    })
  }
  return changed
}

/** The bridges a node's conflist names (the bridge plugin's "bridge", cni0 when it names none). */
function conflistBridges(cni: CniModel, node: string): string[] {
  return nodePlugins(cni, node)
    .filter((p) => p.type === 'bridge' || typeof p.bridge === 'string')
    .map((p) => (typeof p.bridge === 'string' ? p.bridge : 'cni0'))
}

/** Every plugin of the chain must be there, and be one only root can have put there, before `up` touches anything. */
export function requireCniPlugins(model: LabModel): void {
  const cni = model.cni
  if (!cni) return
  const missing = cni.chain.filter((c) => !existsSync(c.file))
  if (missing.length > 0)
    throw new UsageError(
      `CNI plugin ${missing.map((c) => c.type).join(', ')} not found (looked for ${missing.map((c) => c.file).join(', ')}; ` +
        `CNI_PATH ${cni.path.join(':')}): install containernetworking-plugins (sudo apt-get install -y ` +
        `containernetworking-plugins) or set cluster.cni.binDir`,
    )
  requireTrustedPlugins(cni)
}

/**
 * netlab runs each plugin as root, and a plugin runs others from CNI_PATH (its IPAM plugin): each
 * directory of CNI_PATH, each plugin of the chain and each IPAM plugin it names must be owned by
 * root and writable by nobody else, each directory above them too (src/core/trust.ts).
 */
function requireTrustedPlugins(cni: CniModel): void {
  const ipam = new Set(cni.nodes.length > 0 ? ipamTypes(nodePlugins(cni, cni.nodes[0].node)) : [])
  const ipamFiles = [...ipam].flatMap((type) => {
    const dir = cni.path.find((d) => existsSync(join(d, type)))
    return dir ? [join(dir, type)] : []
  })
  const checks = [
    ...cni.path.map((dir) => ({path: dir, kind: 'dir' as const, what: 'CNI_PATH directory'})),
    ...[...new Set([...cni.chain.map((c) => c.file), ...ipamFiles])].map((file) => ({
      path: file,
      kind: 'file' as const,
      what: 'CNI plugin',
    })),
  ]
  for (const c of checks) {
    const t = trustPath(c.path, c.kind, pluginOwners(c.path))
    if (t.ok || 'missing' in t) continue
    throw new UsageError(
      `${c.what} ${c.path}: netlab would run it as root, but ${t.path} ${t.why}: it runs only what root owns ` +
        `and nobody else can write, in directories alike (chown root, chmod go-w)`,
    )
  }
}

/** The IPAM plugins a chain's plugins call (their "ipam": {"type": …}). */
function ipamTypes(plugins: Record<string, unknown>[]): string[] {
  return plugins.flatMap((p) => {
    const type = (p.ipam as {type?: unknown} | undefined)?.type
    return typeof type === 'string' && /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(type) ? [type] : []
  })
}
