// LabModel -> Plan. Pure. The order of phases is the order of a good tutorial: make the
// machines, cable them, address them, route between them, then open the firewall and NAT.
// What differs between routing modes is asked of the mode (./routing); what every mode shares
// is here, and the default pod wiring is in ./wiring.ts.
import {allNetns, allPods, type LabModel} from '../model/types.js'
import {ownerMark} from '../core/names.js'
import {PlanBuilder} from '../plan/builder.js'
import type {PlanContext} from '../model/types.js'
import type {Plan} from '../core/actions.js'
import {
  configureRouter,
  fabricBridges,
  legOn,
  nodeToExternal,
  plugFabricPorts,
  routerCables,
  segmentPrefix,
  segmentRoutes,
} from './underlay.js'
import {bridgeAttachPods, bridgeConfigurePod, bridgeNodeLinks, learnedOrSeededNeighbours, podRangeFirewall} from '../modes/bridge.js'
import {policyPhase} from './policy.js'
import {routedPods} from '../modes/neighbours.js'
import {cniPhases} from './cni-plan.js'

export {DYNAMIC_NEIGHBOUR_LIMIT} from '../modes/neighbours.js'

/** `owner` is the mark each namespace carries (see ownerMark); the default suits the default state directory. */
/** "a", "a and b", "a, b and c" */
function listNames(names: string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`
}

export function compilePlan(model: LabModel, opts: {owner?: string} = {}): Plan {
  const b = new PlanBuilder(model.lab)
  const pods = allPods(model)
  const mark = opts.owner ?? ownerMark(model.lab)
  const {fabric} = model
  const mode = model.mode
  const ctx: PlanContext = {model, b, mark, routedPods: routedPods(model, mode.neighbourShape)}
  /** a shared phase, in the mode's words where it has its own (see RoutingModeModule.phases) */
  const phase = (p: Parameters<PlanBuilder['phase']>[0] & {id: keyof NonNullable<typeof mode.phases>}) =>
    b.phase({...p, ...mode.phases?.[p.id]})

  b.phase({
    id: 'namespaces',
    title: 'Create the network namespaces',
    why:
      'Each machine of the lab is a network namespace: its own interfaces, routes and firewall. ' +
      'The fabric is the switch joining the nodes; every node and every pod gets one of its own, ' +
      'exactly like a container runtime creates one per pod before calling CNI.',
    scope: 'lab',
    independent: true,
  })
  for (const m of model.members) b.createNetns(m.netns, m.role)

  b.phase({
    id: 'ipv4-only',
    title: 'Make every namespace IPv4-only',
    why:
      "The lab is IPv4, like most clusters' pod networks. With IPv6 off for every interface " +
      'created from now on, none of them sends router solicitations or multicast reports, and ' +
      "the lab stays out of the kernel's IPv6 neighbour table, which the whole machine shares.",
    scope: 'netns',
  })
  for (const ns of allNetns(model))
    b.inNetns(ns, 'sysctl', ['net.ipv6.conf.default.disable_ipv6=1'], 'interfaces created in this namespace get no IPv6')

  const empty = model.nodes.filter((n) => n.pods.length === 0).map((n) => n.name)
  const noBridge =
    empty.length === 0
      ? ''
      : ` ${listNames(empty)} ${empty.length === 1 ? 'has' : 'have'} no pods yet, so no cni0: the ` +
        `bridge plugin creates it on the first pod's CNI ADD.`
  phase({
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

  if (pods.length > 0 && !model.cni) {
    phase({
      id: 'pod-links',
      title: 'Cable every pod to its node',
      why:
        'Each pod gets a veth pair: eth0 inside the pod, the other end on its node, ready to be ' +
        'plugged into cni0. This is the first thing the bridge CNI plugin does on ADD.',
      scope: 'lab',
      independent: true,
    })
  }
  for (const p of model.cni ? [] : pods) {
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
  b.inNetns(
    fabric.netns,
    'ip',
    ['link', 'set', 'lo', 'up', 'alias', mark],
    `loopback up; the alias "${mark}" marks the namespace as this lab's for cleanup`,
  )
  plugFabricPorts(ctx)

  phase({
    id: 'nodes',
    title: 'Address the nodes and their pod bridges',
    why:
      'Each node gets its underlay address on eth0, and its pod gateway (the first address of ' +
      'its pod subnet) on cni0. The connected route on cni0 is how a node reaches its own pods.',
    scope: 'netns',
  })
  for (const n of model.nodes) {
    b.inNetns(
      n.netns,
      'ip',
      ['link', 'set', 'lo', 'up', 'alias', mark],
      `loopback up; the alias "${mark}" marks the namespace as this lab's`,
    )
    b.inNetns(
      n.netns,
      'ip',
      ['addr', 'add', `${n.ip}/${segmentPrefix(model, n.segment)}`, 'dev', 'eth0'],
      `${n.name}'s address on the underlay`,
    )
    b.inNetns(n.netns, 'ip', ['link', 'set', 'eth0', 'up'], "bring the node's network card up")
    if (!model.cni) (mode.attachPods ?? bridgeAttachPods)(ctx, n)
  }

  if (model.cni) {
    b.phase({
      id: 'pods',
      title: "Mark the pods' namespaces",
      why:
        "The runtime has created each pod's namespace; its lo carries the lab's mark, so cleanup " +
        "knows the namespace is this lab's. Everything else in the pod is the CNI plugins' work.",
      scope: 'netns',
    })
    for (const p of pods)
      b.inNetns(p.netns, 'ip', ['link', 'set', 'lo', 'alias', mark], `the alias "${mark}" marks the namespace as this lab's`)
    cniPhases(ctx)
  } else
    phase({
      id: 'pods',
      title: 'Configure the pods (what a CNI plugin does on ADD)',
      why:
        "Inside each pod: loopback up (the loopback plugin), the pod's address on eth0 " +
        "(host-local IPAM), and a default route via the node's cni0 gateway.",
      scope: 'netns',
    })
  for (const n of model.cni ? [] : model.nodes) {
    for (const p of n.pods) {
      b.inNetns(p.netns, 'ip', ['link', 'set', 'lo', 'up', 'alias', mark], 'loopback up (the CNI loopback plugin)')
      ;(mode.configurePod ?? bridgeConfigurePod)(ctx, p, n)
    }
  }

  if (model.external.length > 0) {
    const vpcHosts = model.external.filter((e) => e.vpc)
    const internetWhy = mode.podsRoutableFromUnderlay
      ? `An external host stands for a machine in the VPC that is not part of the cluster: it sits ` +
        `on the underlay wire with an address outside the cluster, and its default route is the ` +
        `${model.router?.name ?? 'router'}, which knows every pod subnet. Pods reach it, and it ` +
        `reaches them, without NAT unless ipMasq says otherwise.`
      : mode.podsInUnderlay
        ? 'An external host stands for the internet: it sits on the underlay wire with an address ' +
          "outside the cluster, and it knows the way back to each node's address but not to the VPC " +
          "subnet, which holds the pods' addresses too. Pods can only reach it if their node " +
          'translates their address into its own (SNAT).'
        : 'An external host stands for the internet: it sits on the underlay wire with an address ' +
          'outside the cluster, and it knows the way back to the nodes but not to any pod subnet. ' +
          'Pods can only reach it if their node masquerades them.'
    const vpcWhy = `A VPC host (vpc: true) is a VM of the cluster's VPC that is not a node: an address in the VPC subnet, a connected route to it${mode.vpcRoutes ? " (and to the VPC's other ranges)" : ''}, and a default route to the ${model.router?.name ?? 'router'}, as any VM of the VPC has. ${
      (mode.podsRoutableFromVpc ?? mode.podsRoutableFromUnderlay)
        ? "The VPC knows the pods' addresses, so it reaches pods directly, each side seeing the other's own address."
        : `In routing ${mode.id} the VPC knows no pod address: it reaches the nodes, not the pods.`
    }`
    const internet = model.external.length - vpcHosts.length
    phase({
      id: 'external',
      title:
        vpcHosts.length === 0
          ? 'Configure the external hosts'
          : internet === 0
            ? 'Configure the VPC hosts'
            : 'Configure the external hosts and the VPC hosts',
      why: vpcHosts.length === 0 ? internetWhy : internet === 0 ? vpcWhy : `${internetWhy} ${vpcWhy}`,
      scope: 'netns',
    })
    for (const e of model.external) {
      const segment = model.segments[e.segment].cidr
      b.inNetns(
        e.netns,
        'ip',
        ['link', 'set', 'lo', 'up', 'alias', mark],
        `loopback up; the alias "${mark}" marks the namespace as this lab's`,
      )
      if (e.vpc) {
        b.inNetns(
          e.netns,
          'ip',
          ['addr', 'add', `${e.ip}/${segmentPrefix(model, e.segment)}`, 'dev', 'eth0'],
          `${e.name}'s address in the VPC subnet ${segment}: its connected route reaches every ` +
            `address there${mode.podsInUnderlay ? ", the pods' included" : ''}`,
        )
        b.inNetns(e.netns, 'ip', ['link', 'set', 'eth0', 'up'], 'bring its network card up')
        mode.vpcRoutes?.(ctx, e)
        const via = legOn(model.router!, e.segment).ip
        b.inNetns(
          e.netns,
          'ip',
          ['route', 'add', 'default', 'via', via, 'dev', 'eth0'],
          `everything else through the ${model.router!.name} (${via}), the subnet's gateway, as on ` + `every VM of the VPC`,
        )
        continue
      }
      b.inNetns(e.netns, 'ip', ['addr', 'add', `${e.ip}/32`, 'dev', 'eth0'], `${e.name}'s address, outside the cluster`)
      b.inNetns(e.netns, 'ip', ['link', 'set', 'eth0', 'up'], 'bring its network card up')
      if (mode.podsInUnderlay) {
        // the segment holds pods too: a route to it would reach them
        for (const n of model.nodes.filter((x) => x.segment === e.segment))
          b.inNetns(
            e.netns,
            'ip',
            ['route', 'add', `${n.ip}/32`, 'dev', 'eth0'],
            `${n.name} (${n.ip}) is on the same wire: it can answer ${n.name}, not the pods, whose ` + `addresses share the VPC subnet`,
          )
      } else {
        b.inNetns(
          e.netns,
          'ip',
          ['route', 'add', segment, 'dev', 'eth0'],
          mode.podsRoutableFromUnderlay
            ? `the nodes of its segment (${segment}) are on the same wire`
            : 'it can answer the nodes (on the same wire), but has no route to any pod subnet',
        )
      }
      if (mode.podsRoutableFromUnderlay && model.router) {
        const via = legOn(model.router, e.segment).ip
        b.inNetns(
          e.netns,
          'ip',
          ['route', 'add', 'default', 'via', via, 'dev', 'eth0'],
          `everything else, pod subnets included, through the ${model.router.name} (${via})`,
        )
      }
    }
  }

  configureRouter(ctx)
  if (model.segments.length > 1) {
    b.phase({
      id: 'segments',
      title: 'Route between the underlay segments',
      why:
        `The nodes are on ${model.segments.length} L2 segments ` +
        `(${model.segments.map((s) => s.cidr).join(', ')}). A node reaches the nodes of its own ` +
        `segment directly, and the other segments through the ${model.router!.name}, which ` +
        `forwards between them and knows nothing about pods.`,
      scope: 'netns',
    })
    for (const host of [...model.nodes, ...model.external]) segmentRoutes(ctx, host)
  }

  if (mode.neighbours) mode.neighbours(ctx)
  else learnedOrSeededNeighbours(ctx, mode.neighbourShape)

  b.phase({id: 'routes', title: mode.routes.title, why: mode.routes.why, scope: 'netns'})
  mode.routes.build(ctx)
  // External hosts sit on the underlay: every node reaches them over the wire, whatever the mode.
  // (A VPC host is in a VPC subnet: the node's connected or segment route covers it.)
  for (const n of model.nodes) for (const e of model.external) if (!e.vpc) nodeToExternal(ctx, n, e)

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
      `${n.name} forwards packets between ${mode.podsInUnderlay ? "its pods' cables" : 'cni0'} and eth0`,
    )

  phase({
    id: 'firewall',
    title: 'Firewall and masquerade',
    why:
      'Like a node running Docker, forwarding is denied unless allowed, so the node accepts ' +
      'forwarding for the cluster pod range only. Masquerade hides pods behind the node address ' +
      'only when they talk to something outside the cluster; pod-to-pod traffic is never NATed ' +
      "(the mistake of the reference bridge plugin's ipMasq).",
    scope: 'netns',
  })
  for (const n of model.nodes) (mode.firewall ?? podRangeFirewall)(ctx, n)

  policyPhase(ctx) // labs with policies only
  return b.build()
}
