// Then open the firewall: the nodes forward, and the firewall phase allows the pod range and
// masquerades what leaves the cluster (or whatever the routing mode's firewall does).
import type {PlanContext} from '../model/types.js'
import {podRangeFirewall} from '../modes/bridge.js'
import {sharedPhase} from './shared-phase.js'

/** forwarding phase: ip_forward on every node. */
export function forwardingPhase({model, b}: PlanContext): void {
  b.phase({
    id: 'forwarding',
    title: 'Turn the nodes into routers',
    why:
      'Linux drops packets that are not for itself unless IP forwarding is on. Without it, pods ' +
      'reach their own node but nothing beyond it.',
    scope: 'netns',
  })
  for (const n of model.nodes)
    b.inNetns(
      n.netns,
      'sysctl',
      ['net.ipv4.ip_forward=1'],
      `${n.name} forwards packets between ${model.mode.podsInUnderlay ? "its pods' cables" : 'cni0'} and eth0`,
    )
}

/** firewall phase: each node's forwarding rules and NAT. */
export function firewallPhase(ctx: PlanContext): void {
  sharedPhase(ctx, {
    id: 'firewall',
    title: 'Firewall and masquerade',
    why:
      'Like a node running Docker, forwarding is denied unless allowed, so the node accepts ' +
      'forwarding for the cluster pod range only. Masquerade hides pods behind the node address ' +
      'only when they talk to something outside the cluster; pod-to-pod traffic is never NATed ' +
      "(the mistake of the reference bridge plugin's ipMasq).",
    scope: 'netns',
  })
  for (const n of ctx.model.nodes) (ctx.model.mode.firewall ?? podRangeFirewall)(ctx, n)
}
