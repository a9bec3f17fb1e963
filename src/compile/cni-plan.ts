// The runtime's side of CNI as plan actions: write each node's conflist where its runtime reads
// it, then per pod call the chain's plugins in order (ADD), each undone by its DEL — so `up`'s
// rollback and `down` run the DELs, in reverse chain order, before the pod's namespace goes.
// Pure: the commands are data; src/tools/cni.ts says how they run.
import {join} from 'node:path'
import type {LabModel, NodeModel, PodModel, CniModel, PlanContext} from '../model/types.js'
import type {Command} from '../core/actions.js'
import {versionBefore} from '../topology/cni.js'
import {nodePlugins} from './cni-model.js'

export type CniCommand = 'ADD' | 'DEL' | 'CHECK'

/** An attachment the runtime still knows (GC's cni.dev/valid-attachments). */
export interface Attachment {
  containerID: string
  ifname: string
}

/** CNI 1.1's network verbs, STATUS and GC, exist from cniVersion 1.1.0 on: a runtime sends them to no older network. */
export function hasNetworkVerbs(cni: CniModel): boolean {
  return !versionBefore(cni.cniVersion, '1.1.0')
}

/** A pod's attachment: its namespace's name is its container ID, its interface eth0. */
export const attachmentOf = (pod: PodModel): Attachment => ({containerID: pod.netns, ifname: 'eth0'})

/** Where a network namespace's file is: what a runtime hands a plugin as CNI_NETNS. */
const netnsPath = (netns: string) => `/var/run/netns/${netns}`

/** The result cache of one attachment, where libcni keeps it (<cache dir>/results/<network>-<container>-<ifname>). */
export function cacheFile(cni: CniModel, pod: PodModel): string {
  return join(cni.dir, 'cache', 'results', `${cni.network}-${pod.netns}-eth0`)
}

/**
 * The calls of one command for one pod, in chain order. The configuration is the plugin's part
 * of the node's conflist plus what the runtime adds: name, cniVersion, and runtimeConfig for the
 * capabilities the plugin declares (mac: the pod's MAC; ips: its address as the model has it).
 */
export function cniCalls(model: LabModel, pod: PodModel, node: NodeModel, command: CniCommand): Command[] {
  const cni = model.cni!
  const plugins = nodePlugins(cni, node.name)
  const last = plugins.length - 1
  return plugins.map((plugin, i) => {
    const caps = (plugin.capabilities ?? {}) as Record<string, boolean>
    const runtimeConfig = {
      ...(caps.mac ? {mac: pod.mac} : {}),
      ...(caps.ips ? {ips: [`${pod.ip}/${model.nodeSubnetSize}`]} : {}),
    }
    const config = {
      cniVersion: cni.cniVersion,
      name: cni.network,
      ...plugin,
      ...(Object.keys(runtimeConfig).length > 0 ? {runtimeConfig} : {}),
    }
    return {
      tool: 'cni',
      netns: node.netns,
      args: [cni.chain[i].file],
      env: {
        CNI_COMMAND: command,
        CNI_CONTAINERID: pod.netns,
        CNI_NETNS: netnsPath(pod.netns),
        CNI_IFNAME: 'eth0',
        // what kubelet passes: plugins that do not know a key must ignore it
        CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${pod.netns}`,
        CNI_PATH: cni.path.join(':'),
      },
      stdin: JSON.stringify(config),
      cni: {
        plugin: cni.chain[i].type,
        pod: pod.name,
        prevResult: command !== 'ADD' ? 'cached' : i === 0 ? 'none' : 'previous',
        cache: cacheFile(cni, pod),
        ...((command === 'ADD' && i === last) || (command === 'DEL' && i === 0) ? {last: true} : {}),
      },
    }
  })
}

/**
 * Every CNI call the lab's rollback makes — each pod's DELs and, for a CNI 1.1 network, each
 * node's GC: all that rollback accepts of CNI steps read back from disk (src/plan/undo-check.ts).
 */
export function cniUndoCalls(model: LabModel): Command[] {
  const cni = model.cni
  if (!cni) return []
  const gc = hasNetworkVerbs(cni) && !cni.disableGC
  return model.nodes.flatMap((node) => [
    ...node.pods.flatMap((pod) => cniCalls(model, pod, node, 'DEL')),
    ...(gc && node.pods.length > 0 ? networkCalls(model, node, 'GC') : []),
  ])
}

/**
 * The calls of a network verb (CNI 1.1) in one node, one per plugin in chain order: STATUS (can
 * the plugin serve an ADD now?) or GC with the attachments still valid, everything else of the
 * network being the plugin's to free. No container: CNI_COMMAND and CNI_PATH only.
 */
export function networkCalls(model: LabModel, node: NodeModel, command: 'STATUS' | 'GC', valid: Attachment[] = []): Command[] {
  const cni = model.cni!
  return nodePlugins(cni, node.name).map((plugin, i) => ({
    tool: 'cni',
    netns: node.netns,
    args: [cni.chain[i].file],
    env: {CNI_COMMAND: command, CNI_PATH: cni.path.join(':')},
    stdin: JSON.stringify({
      cniVersion: cni.cniVersion,
      name: cni.network,
      ...plugin,
      ...(command === 'GC' ? {'cni.dev/valid-attachments': valid} : {}),
    }),
    cni: {plugin: cni.chain[i].type, node: node.name, prevResult: 'none'},
  }))
}

/** What each plugin of the chain does on ADD, in a few words (the plan's why). */
function addWhy(type: string, cni: CniModel, pod: PodModel, node: NodeModel, i: number): string {
  const known: Record<string, string> = {
    loopback: `brings lo up in pod ${pod.name}`,
    bridge: `creates cni0 on ${node.name} if missing (with the gateway ${node.gateway}: isGateway), a veth pair into the pod as eth0, and asks host-local for an address of ${node.podCIDR}`,
    'netlab-cni': `netlab's own plugin, the bridge plugin's job: cni0, a veth pair into the pod as eth0, an address of ${node.podCIDR} from a host-local store`,
    'bash-cni': `the bash plugin: a veth pair into the pod as eth0 on cni0, an address from its IP files, a default route via ${node.gateway}`,
  }
  const prev = i === 0 ? '' : `; prevResult: the result of ${cni.chain[i - 1].type}`
  const cached = i === cni.chain.length - 1 ? `; its result is cached for CHECK and DEL` : ''
  return `CNI ADD, plugin ${i + 1}/${cni.chain.length} (${type}) for pod ${pod.name}: ${known[type] ?? 'as its configuration says'}${prev}${cached}`
}

/** The cni-config and cni phases: they replace the default pod wiring (cables, cni0, pod addresses). */
export function cniPhases(ctx: PlanContext): void {
  const {model, b} = ctx
  const cni = model.cni!
  b.phase({
    id: 'cni-config',
    title: "Write each node's CNI configuration",
    why:
      `netlab is the container runtime here, and the pods are wired by CNI plugins (${cni.chain.map((c) => c.type).join(' + ')}, ` +
      `from ${cni.source}). Each node's runtime reads its network from a conflist in its configuration ` +
      `directory (--cni-conf-dir, /etc/cni/net.d): the template with {{.PodCIDR}}, {{.Gateway}} and ` +
      `{{.DataDir}} filled in for the node, as containerd does with its conf_template. The nodes of ` +
      `a lab share one filesystem, so each gets its own directory under the lab's state directory.`,
    scope: 'lab',
  })
  for (const c of cni.nodes)
    b.change(
      {tool: 'file', netns: null, args: ['write', c.file], stdin: c.text},
      `${c.node}'s conflist (network "${cni.network}", cniVersion ${cni.cniVersion})`,
      [{tool: 'file', netns: null, args: ['remove', c.file]}],
    )
  b.phase({
    id: 'cni',
    title: 'Call the CNI plugins for every pod (the runtime does CNI ADD)',
    why:
      `For each pod the runtime runs the chain's plugins in order, inside the pod's node, with ` +
      `CNI_COMMAND=ADD, the pod's namespace as CNI_NETNS, eth0 as CNI_IFNAME, the Kubernetes pod ` +
      `name in CNI_ARGS and the plugin directories in CNI_PATH (${cni.path.join(':')}); the ` +
      `plugin's configuration comes on stdin, and each plugin after the first gets the previous ` +
      `one's result as prevResult. The runtime stops at the first error, caches the last result ` +
      `(${join(cni.dir, 'cache')}) and later hands it to CHECK (netlab cni check) and DEL. Each ` +
      `ADD is undone by the plugin's DEL, in reverse chain order, before the pod's namespace is ` +
      `deleted. Pods of one node are wired one after another, nodes in parallel.`,
    scope: 'lab',
  })
  const verbs = hasNetworkVerbs(cni)
  for (const node of model.nodes) {
    if (verbs && node.pods.length > 0) statusCalls(ctx, node)
    for (const pod of node.pods) {
      const add = cniCalls(model, pod, node, 'ADD')
      const del = cniCalls(model, pod, node, 'DEL')
      add.forEach((c, i) => b.cniCall(c, addWhy(cni.chain[i].type, cni, pod, node, i), del[i]))
    }
  }
}

/**
 * CNI 1.1: STATUS of every plugin before the node's first ADD (a plugin that answers 50 or 51
 * cannot serve one: the chain stops there, no ADD is tried), each undone by the plugin's GC with
 * no valid attachment, after the node's DELs: down frees whatever a DEL left behind. A conflist
 * with disableGC (shared with another runtime) gets no GC.
 */
function statusCalls(ctx: PlanContext, node: NodeModel): void {
  const {model, b} = ctx
  const cni = model.cni!
  const gc = cni.disableGC ? [] : networkCalls(model, node, 'GC')
  networkCalls(model, node, 'STATUS').forEach((c, i) =>
    b.change(
      c,
      `CNI STATUS, plugin ${i + 1}/${cni.chain.length} (${cni.chain[i].type}) on ${node.name}: can it serve an ADD now? ` +
        `50 or 51 stops ${node.name}'s chain before any ADD` +
        (gc.length ? `; undone by its GC (no valid attachment) after ${node.name}'s DELs` : ''),
      gc.length ? [gc[i]] : [],
    ),
  )
}
