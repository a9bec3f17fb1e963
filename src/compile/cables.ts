// Cable the machines: the links phase (the fabric's switches, every node's and host's network
// card, the router's legs, and the node's side of the pod wiring), the pod-links phase (a cable
// per pod, unless CNI plugins make them), and the fabric phase (every cable into its switch).
import {allPods, type PlanContext} from '../model/types.js'
import {bridgeNodeLinks} from '../modes/bridge.js'
import {sharedPhase} from './shared-phase.js'
import {fabricBridges, plugFabricPorts, routerCables} from './underlay.js'
import {markLoopback} from '../tools/ip.js'

/** "a", "a and b", "a, b and c" */
function listNames(names: string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`
}

/** links phase: bridges and the machines' cables. */
export function linksPhase(ctx: PlanContext): void {
  const {model, b} = ctx
  const {fabric, mode} = model
  const empty = model.nodes.filter((n) => n.pods.length === 0).map((n) => n.name)
  const noBridge =
    empty.length === 0
      ? ''
      : ` ${listNames(empty)} ${empty.length === 1 ? 'has' : 'have'} no pods yet, so no cni0: the ` +
        `bridge plugin creates it on the first pod's CNI ADD.`
  sharedPhase(ctx, {
    id: 'links',
    title: 'Create bridges and cables (veth pairs)',
    why:
      `A veth pair is a cable with one end in each namespace. Each end is created directly ` +
      `inside its namespace, so nothing ever appears in the host's own namespace. Every ` +
      `interface that will hold an address gets the MAC 0a:58:<its IPv4 address in hex>, so you ` +
      `can read the address back out of any MAC you see.${noBridge}`,
    scope: 'lab',
  })
  // One batch, in this order, before any pod cable: every node's eth0 is then interface 2 of its
  // namespace while its fabric port is 3 or more, and every pod's host end (below) is 4 or more
  // while the pod's eth0 is 2. The kernel handles a link event late (up to a second) when both
  // ends of a veth pair have the same interface index; this order makes that impossible.
  fabricBridges(ctx)
  for (const n of model.nodes) {
    b.intoNetns(
      n.netns,
      [
        'link',
        'add',
        'name',
        'eth0',
        'netns',
        n.netns,
        'address',
        n.mac,
        'type',
        'veth',
        'peer',
        'name',
        n.fabricPort,
        'netns',
        fabric.netns,
      ],
      `${n.name}'s network card (eth0), cabled to port ${n.fabricPort} of the fabric`,
    )
    if (!model.cni) (mode.nodeLinks ?? bridgeNodeLinks)(ctx, n) // with CNI the plugin makes the node's side
  }
  for (const e of model.external) {
    b.intoNetns(
      e.netns,
      [
        'link',
        'add',
        'name',
        'eth0',
        'netns',
        e.netns,
        'address',
        e.mac,
        'type',
        'veth',
        'peer',
        'name',
        e.fabricPort,
        'netns',
        fabric.netns,
      ],
      `${e.name}'s network card, cabled to the fabric`,
    )
  }
  routerCables(ctx)
}

/** pod-links phase: each pod's cable to its node (with CNI, the plugin makes it). */
export function podLinksPhase(ctx: PlanContext): void {
  const {model, b} = ctx
  const pods = allPods(model)
  if (pods.length === 0 || model.cni) return
  sharedPhase(ctx, {
    id: 'pod-links',
    title: 'Cable every pod to its node',
    why:
      'Each pod gets a veth pair: eth0 inside the pod, the other end on its node, ready to be ' +
      'plugged into cni0. This is the first thing the bridge CNI plugin does on ADD.',
    scope: 'lab',
    independent: true,
  })
  for (const p of pods) {
    const n = model.nodes.find((x) => x.name === p.node)!
    if (p.hostVethMac) {
      b.intoNetns(
        p.netns,
        [
          'link',
          'add',
          'name',
          'eth0',
          'netns',
          p.netns,
          'address',
          p.mac,
          'type',
          'veth',
          'peer',
          'name',
          p.hostVeth,
          'address',
          p.hostVethMac,
          'netns',
          n.netns,
        ],
        `pod ${p.name}'s eth0, cabled to ${p.hostVeth} on ${n.name}, whose MAC ${p.hostVethMac} ` + `the pod will be told is its gateway's`,
      )
    } else {
      b.intoNetns(
        p.netns,
        ['link', 'add', 'name', 'eth0', 'netns', p.netns, 'address', p.mac, 'type', 'veth', 'peer', 'name', p.hostVeth, 'netns', n.netns],
        `pod ${p.name}'s eth0, cabled to ${p.hostVeth} on ${n.name} (what the bridge plugin does ` + `on CNI ADD)`,
      )
    }
  }
}

/** fabric phase: the fabric's loopback carries the lab's mark, and every port goes into its switch. */
export function fabricPhase(ctx: PlanContext): void {
  const {model, b, mark} = ctx
  b.phase({
    id: 'fabric',
    title: 'Switch on the fabric',
    why:
      model.segments.length === 1
        ? "Plug every node's cable into the fabric bridge and bring it all up: the nodes now share " + 'one L2 segment.'
        : `Plug every cable into the switch of its segment and bring it all up: ` +
          `${model.segments.length} L2 segments, which only the ${model.router!.name} joins.`,
    scope: 'netns',
  })
  b.inNetns(model.fabric.netns, 'ip', markLoopback(mark), `loopback up; the alias "${mark}" marks the namespace as this lab's for cleanup`)
  plugFabricPorts(ctx)
}
