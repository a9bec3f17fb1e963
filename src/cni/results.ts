// What the plugins really did, read back from the runtime's result cache: the address and MAC
// each pod's eth0 got. The model predicts them (and asks for them through the mac and ips
// capabilities where the plugin has them); a plugin without those picks its own, and the
// cached results are the truth that status and probe must use.
import {existsSync, readFileSync} from 'node:fs'
import {UsageError} from '../cli/errors.js'
import type {LabModel} from '../model/types.js'
import {cacheFile} from './plan.js'

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

/** The model with every pod's address and MAC as its plugins' results say; returns how many differed from the prediction. */
export function applyResults(model: LabModel): number {
  let changed = 0
  for (const pod of model.nodes.flatMap((n) => n.pods)) {
    const r = cachedResult(model, pod)
    const eth0 = r?.interfaces?.findIndex((i) => i.name === 'eth0' && i.sandbox)
    const ip = r?.ips?.find((a) => a.interface === undefined || a.interface === eth0)?.address.split('/')[0]
    const mac = eth0 !== undefined && eth0 >= 0 ? r!.interfaces![eth0].mac : undefined
    if (ip && ip !== pod.ip) {
      pod.ip = ip
      changed++
    }
    if (mac && mac !== pod.mac) pod.mac = mac
  }
  return changed
}

/** Every plugin of the chain must be there before `up` touches anything. */
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
}
