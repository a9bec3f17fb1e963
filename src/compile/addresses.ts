// Address the machines: the nodes phase (each node's underlay address, and the node's side of
// the pods' wiring), then the pods phase: netlab configures each pod as a CNI plugin would, or,
// in a CNI lab, marks the pods' namespaces and calls the plugins.
import {allPods, nodesViaRouter, type PlanContext} from '../model/types.js'
import {bridgeAttachPods, bridgeConfigurePod} from '../modes/bridge.js'
import {cniPhases} from './cni-plan.js'
import {sharedPhase} from './shared-phase.js'
import {legOn, segmentPrefix} from './underlay.js'
import {markLoopback} from '../tools/ip.js'

/** nodes phase: lo marked, eth0 addressed and up, and the pods attached (unless CNI plugins do it). */
export function nodesPhase(ctx: PlanContext): void {
  const {model, b, mark} = ctx
  sharedPhase(ctx, {
    id: 'nodes',
    title: 'Address the nodes and their pod bridges',
    why:
      'Each node gets its underlay address on eth0, and its pod gateway (the first address of ' +
      'its pod subnet) on cni0. The connected route on cni0 is how a node reaches its own pods.',
    scope: 'netns',
  })
  const viaRouter = nodesViaRouter(model)
  for (const n of model.nodes) {
    b.inNetns(n.netns, 'ip', markLoopback(mark), `loopback up; the alias "${mark}" marks the namespace as this lab's`)
    const address = `${n.ip}/${segmentPrefix(model, n.segment)}`
    if (viaRouter) {
      b.inNetns(
        n.netns,
        'ip',
        ['addr', 'add', address, 'dev', 'eth0', 'noprefixroute'],
        `${n.name}'s address on the underlay, without the connected route of its subnet: like a ` +
          `cloud VM's /32, the node sends even its neighbours' traffic to the ${viaRouter.name}`,
      )
      b.inNetns(n.netns, 'ip', ['link', 'set', 'eth0', 'up'], "bring the node's network card up")
      b.inNetns(
        n.netns,
        'ip',
        ['route', 'add', legOn(viaRouter, n.segment).ip, 'dev', 'eth0'],
        `the ${viaRouter.name} (${legOn(viaRouter, n.segment).ip}) is on the wire: ${n.name} reaches it directly, and the other nodes through it`,
      )
    } else {
      b.inNetns(n.netns, 'ip', ['addr', 'add', address, 'dev', 'eth0'], `${n.name}'s address on the underlay`)
      b.inNetns(n.netns, 'ip', ['link', 'set', 'eth0', 'up'], "bring the node's network card up")
    }
    if (!model.cni) (model.mode.attachPods ?? bridgeAttachPods)(ctx, n)
  }
}

/** pods phase: what a CNI plugin does on ADD, done by netlab or (a CNI lab) by the plugins' calls. */
export function podsPhase(ctx: PlanContext): void {
  const {model, b, mark} = ctx
  if (model.cni) {
    b.phase({
      id: 'pods',
      title: "Bring up the pods' loopback and mark their namespaces",
      why:
        "The runtime has created each pod's namespace and brings its lo up itself, whatever the " +
        "conflist lists (containerd's CRI does it with a loopback network of its own): without lo " +
        "a pod cannot reach its own address. lo carries the lab's mark, so cleanup knows the " +
        "namespace is this lab's. Everything else in the pod is the CNI plugins' work.",
      scope: 'netns',
    })
    for (const p of allPods(model))
      b.inNetns(
        p.netns,
        'ip',
        markLoopback(mark),
        `loopback up (the runtime's, not the conflist's); the alias "${mark}" marks the namespace as this lab's`,
      )
    cniPhases(ctx)
    return
  }
  sharedPhase(ctx, {
    id: 'pods',
    title: 'Configure the pods (what a CNI plugin does on ADD)',
    why:
      "Inside each pod: loopback up (the loopback plugin), the pod's address on eth0 " +
      "(host-local IPAM), and a default route via the node's cni0 gateway.",
    scope: 'netns',
  })
  for (const n of model.nodes) {
    for (const p of n.pods) {
      b.inNetns(p.netns, 'ip', markLoopback(mark), 'loopback up (the CNI loopback plugin)')
      ;(model.mode.configurePod ?? bridgeConfigurePod)(ctx, p, n)
    }
  }
}
