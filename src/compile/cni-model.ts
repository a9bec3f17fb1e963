// cluster.cni -> the lab's CNI model: the conflist each node's runtime reads (the template with
// the node's subnet filled in), where the plugins are (CNI_PATH), and where the runtime keeps
// its files (net.d, the result cache, host-local's stores), all under the lab's state directory.
// Pure: where the plugins are installed is asked once by cniEnvironment (src/host/cni-env.ts).
import {join} from 'node:path'
import {negotiatedCniVersion} from '../topology/cni.js'
import {TopologyError} from '../topology/errors.js'
import type {Topology} from '../topology/types.js'
import type {CniEnv, CniModel, NodeModel} from '../model/types.js'
import {cniPreset} from '../cni/presets/index.js'

/** The plugins of a node's rendered conflist, in chain order. */
export function nodePlugins(cni: CniModel, node: string): Record<string, unknown>[] {
  return (JSON.parse(cni.nodes.find((c) => c.node === node)!.text) as {plugins: Record<string, unknown>[]}).plugins
}

export const DEFAULT_CNI_ENV: CniEnv = {
  binDir: '/usr/lib/cni',
  netlabDir: '/usr/lib/netlab/bin',
  bashDir: '/usr/lib/netlab/examples/bash-cni',
}

/** `mtu`: the mode's pod MTU (an overlay needs a smaller one); undefined leaves it to the kernel. */
export function cniModel(topo: Topology, nodes: NodeModel[], opts: {labDir: string; env: CniEnv; mtu?: number}): CniModel | undefined {
  const spec = topo.cluster.cni
  if (!spec) return undefined
  if (spec.conflist && !spec.conflistFile) throw new TopologyError(spec.conflist.pos, 'cluster.cni.conflist: the file was not read')
  const template = spec.conflistFile?.text ?? cniPreset(spec.preset!.value).conflist(opts.mtu, topo.services !== undefined)
  const parsed = JSON.parse(template) as {
    name: string
    cniVersion: string
    cniVersions?: string[]
    disableGC?: boolean
    plugins: {type: string; capabilities?: {mac?: boolean}}[]
  }
  const dir = join(opts.labDir, 'cni')
  const binDir = spec.binDir?.value ?? opts.env.binDir
  const dirOf = (type: string) => (type === 'netlab-cni' ? opts.env.netlabDir : type === 'bash-cni' ? opts.env.bashDir : binDir)
  const chain = parsed.plugins.map((p) => ({type: p.type, file: join(dirOf(p.type), p.type)}))
  const path = [binDir, ...new Set(chain.map((c) => dirOf(c.type)).filter((d) => d !== binDir))]
  return {
    source: spec.conflistFile?.path ?? `preset ${spec.preset!.value}`,
    network: parsed.name,
    // checkConflist refused a cniVersions list without a version netlab speaks
    cniVersion: negotiatedCniVersion(parsed)!,
    ...(parsed.disableGC === true ? {disableGC: true} : {}),
    path,
    chain,
    podMacs: parsed.plugins.some((p) => p.capabilities?.mac === true),
    dir,
    nodes: nodes.map((n) => ({
      node: n.name,
      file: join(dir, 'net.d', n.name, `10-${parsed.name}.conflist`),
      text: renderConflist(template, {PodCIDR: n.podCIDR, Gateway: n.gateway, DataDir: join(dir, 'ipam', n.name)}),
    })),
  }
}

/** Fill a template's {{.Field}}s; values go in as JSON string contents. */
export function renderConflist(template: string, fields: Record<string, string>): string {
  return template.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (whole, f: string) => (f in fields ? JSON.stringify(fields[f]).slice(1, -1) : whole))
}
