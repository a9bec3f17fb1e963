// The external phase: hosts outside the cluster. An internet host sits on the underlay wire with
// an address outside every cluster range; a VPC host (vpc: true) is a VM of the VPC that is not a
// node, addressed and routed as any VM of the VPC is. What each can reach depends on the mode.
import {vpcReachesPods, type LabModel, type PlanContext} from '../model/types.js'
import {sharedPhase} from './shared-phase.js'
import {legOn, segmentPrefix} from './underlay.js'
import {markLoopback} from '../tools/ip.js'

type ExternalHost = LabModel['external'][number]

/** external phase (labs with external hosts): its title and why, then each host's wiring. */
export function externalPhase(ctx: PlanContext): void {
  const {model, b, mark} = ctx
  if (model.external.length === 0) return
  const vpcHosts = model.external.filter((e) => e.vpc)
  const internet = model.external.length - vpcHosts.length
  const internetWhy = internetHostsWhy(model)
  const vpcWhy = vpcHostsWhy(model)
  sharedPhase(ctx, {
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
    b.inNetns(e.netns, 'ip', markLoopback(mark), `loopback up; the alias "${mark}" marks the namespace as this lab's`)
    if (e.vpc) vpcHost(ctx, e)
    else internetHost(ctx, e)
  }
}

function internetHostsWhy(model: LabModel): string {
  const mode = model.mode
  return mode.podsRoutableFromUnderlay
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
}

function vpcHostsWhy(model: LabModel): string {
  const mode = model.mode
  return `A VPC host (vpc: true) is a VM of the cluster's VPC that is not a node: an address in the VPC subnet, a connected route to it${mode.vpcRoutes ? " (and to the VPC's other ranges)" : ''}, and a default route to the ${model.router?.name ?? 'router'}, as any VM of the VPC has. ${
    vpcReachesPods(model)
      ? "The VPC knows the pods' addresses, so it reaches pods directly, each side seeing the other's own address."
      : `In routing ${mode.id} the VPC knows no pod address: it reaches the nodes, not the pods.`
  }`
}

/** A VPC host: an address in its segment's subnet, the mode's VPC routes, and the router as default. */
function vpcHost(ctx: PlanContext, e: ExternalHost): void {
  const {model, b} = ctx
  const mode = model.mode
  const segment = model.segments[e.segment].cidr
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
}

/** An internet host: a /32 outside the cluster, routes to the nodes, and to the pods where the mode lets it. */
function internetHost({model, b}: PlanContext, e: ExternalHost): void {
  const mode = model.mode
  const segment = model.segments[e.segment].cidr
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
