// Topology -> LabModel: allocate node subnets, node addresses and pod addresses, and reject
// every combination that could not be built. Pure; errors point into the topology file.
import {TopologyError, type SourcePos, type TopologyWarning} from '../topology/errors.js'
import type {Located, Topology} from '../topology/types.js'
import {Cidr, formatIPv4, hostAddressProblem, hostRangeProblem, parseCidr, parseIPv4} from '../core/ipv4.js'
import {join} from 'node:path'
import {cniModel, DEFAULT_CNI_ENV} from './cni-model.js'
import {DEFAULT_NAMESPACE, DEFAULT_STATE_ROOT, FABRIC, hostVethName, macFor, netnsName, POD_BRIDGE} from '../core/names.js'
import {findRoutingMode, ROUTING_MODES, routingMode} from '../modes/index.js'
import {resolvePolicies} from './policies.js'
import {namespaceModel} from '../model/namespaces.js'
import {resolveServices} from './services.js'
import type {ExternalModel, LabModel, Member, NodeModel, PodModel, RouterModel, CniEnv, RoutingModeModule} from '../model/types.js'

/** Nodes get underlay addresses from .10 up, like a small VPC subnet with room for routers below. */
const FIRST_NODE_HOST = 10
/** the router a lab with VPC hosts gets when its mode names none: their default gateway */
const VPC_ROUTER = 'vpc-router'
const DEFAULT_EXTERNAL_BASE = '203.0.113.10' // TEST-NET-3: documentation range, never a real host

function cidrOf(f: Located<string>, what: string): Cidr {
  const c = parseCidr(f.value)
  if (typeof c === 'string') throw new TopologyError(f.pos, `${what}: ${c}`)
  return c
}

/** A range of host addresses (cluster.podCIDR, an underlay segment): a CIDR, and unicast (no loopback, multicast, …). */
function hostRangeOf(f: Located<string>, what: string): Cidr {
  const c = cidrOf(f, what)
  const problem = hostRangeProblem(c)
  if (problem) throw new TopologyError(f.pos, `${what} ${c} ${problem}`)
  return c
}

/** A host's address as the topology fixes it (a node's, a pod's, an external host's): one a host can hold. */
function ipOf(f: Located<string>, what: string): number {
  const ip = parseIPv4(f.value)
  if (ip === undefined) throw new TopologyError(f.pos, `${what}: "${f.value}" is not an IPv4 address`)
  const problem = hostAddressProblem(ip)
  if (problem) throw new TopologyError(f.pos, `${what} ${f.value} ${problem}`)
  return ip
}

/** Takes the preferred value when it is free, else the first free one: fixed choices never move. */
function allocate(preferred: number, first: number, last: number, used: Set<number>): number | undefined {
  if (preferred >= first && preferred <= last && !used.has(preferred)) return preferred
  for (let v = first; v <= last; v++) if (!used.has(v)) return v
  return undefined
}

/** `warnings` collects what is valid but probably a mistake (a policy selector that matches no pod). */
export interface ModelOptions {
  warnings?: TopologyWarning[]
  /** the state directory labs live under (CNI labs keep their runtime's files in the lab's) */
  stateRoot?: string
  /** where CNI plugins are installed (asked of the machine by the caller) */
  cniEnv?: CniEnv
}

/**
 * The topology's ranges, parsed and checked against each other and against the lab's routing
 * mode: what every allocation step of buildModel reads.
 */
interface Ranges {
  topo: Topology
  lab: string
  mode: RoutingModeModule
  podCIDR: Cidr
  /** cluster.nodeSubnetSize: the prefix length of a node's pod subnet */
  size: number
  /** how many node subnets cluster.podCIDR holds */
  subnetCount: number
  /** the underlay's segments, in order */
  segs: Cidr[]
  /** more than one segment: messages name each by its index */
  multi: boolean
  /** how a message names segment k */
  segName: (k: number) => string
  /** the segment of each node, and of each external host, in topology order */
  nodeSegments: number[]
  externalSegments: number[]
  /** pods hold addresses of the underlay itself (the mode's podsInUnderlay) */
  underlayPods: boolean
}

export function buildModel(topo: Topology, opts: ModelOptions = {}): LabModel {
  const r = checkRanges(topo)
  claimNames(topo)
  if (!r.underlayPods && topo.nodes.length > r.subnetCount) {
    throw new TopologyError(
      topo.nodesPos,
      `${topo.nodes.length} nodes do not fit: cluster.podCIDR ${r.podCIDR} holds only ` + `${r.subnetCount} node subnets of /${r.size}`,
    )
  }
  const fixed = fixedNodeAddresses(r)
  // The router (if the lab has one) takes the first free address of each segment, before the
  // nodes without a fixed address take theirs from .10 up.
  const ipSet = new Set(fixed.usedNodeIps.keys())
  // pods in the underlay: a pod's fixed address is never a default's (netlab apply pins every staying pod's)
  if (r.underlayPods) for (const p of topo.nodes.flatMap((n) => n.pods)) if (p.ip) ipSet.add(parseIPv4(p.ip.value) ?? -1)
  const router = allocateRouter(r, ipSet)
  const nodes = allocateNodes(r, fixed, ipSet)

  // External hosts, then (pods in the underlay) pods. Fixed addresses first, each checked
  // against everything fixed before it; then the defaults, which never move a fixed one.
  const taken = new Map<number, string>() // underlay address -> whose
  router?.legs.forEach((l) => taken.set(parseIPv4(l.ip)!, `the ${router.name}'s address`))
  nodes.forEach((n) => taken.set(parseIPv4(n.ip)!, `node ${n.name}'s address`))
  const fixedExternal = fixedExternalIps(r, taken)
  if (r.underlayPods) {
    for (const [i, n] of topo.nodes.entries())
      nodes[i].pods = underlayFixedPods(r.lab, n, nodes[i], r.segs[nodes[i].segment], taken, r.mode.id)
  }
  const external = allocateExternals(r, fixedExternal, taken)
  if (r.underlayPods) {
    // above the nodes, so that a node's address and its pods' read apart
    const first = Math.max(...nodes.map((n) => parseIPv4(n.ip)!)) + 1
    nodes.forEach((n, i) => underlayFreePods(topo.nodes[i], n, r.segs[n.segment], taken, r.segName(n.segment), r.mode.id, first))
  }
  return assembleModel(r, {router, nodes, external}, opts)
}

/** The cluster's ranges, each checked, and checked against each other and the mode, in this order. */
function checkRanges(topo: Topology): Ranges {
  const c = topo.cluster
  const podCIDR = hostRangeOf(c.podCIDR, 'cluster.podCIDR')
  const multi = c.underlay.length > 1
  const segName = (k: number) => (multi ? `cluster.underlay[${k}]` : 'cluster.underlay')
  const segs = c.underlay.map((u, k) => hostRangeOf(u, segName(k)))
  const size = c.nodeSubnetSize.value
  const mode = routingMode(c.routing.value)
  if (size < podCIDR.prefix) {
    throw new TopologyError(c.nodeSubnetSize.pos, `cluster.nodeSubnetSize /${size} is larger than cluster.podCIDR ${podCIDR} itself`)
  }
  segs.forEach((seg, k) => {
    const pos = c.underlay[k].pos
    if (seg.prefix > 29) throw new TopologyError(pos, `${segName(k)} ${seg} is too small to hold nodes (use /29 or larger)`)
    const other = segs.findIndex((o, j) => j < k && o.overlaps(seg))
    if (other >= 0)
      throw new TopologyError(pos, `${segName(k)} ${seg} overlaps ${segName(other)} ${segs[other]}: segments are separate networks`)
  })
  /** The segment a node or external host is on; it must exist. */
  const segmentOf = (spec: {segment?: Located<number>}, what: string): number => {
    const k = spec.segment?.value ?? 0
    if (k >= segs.length) {
      throw new TopologyError(
        spec.segment!.pos,
        `${what}: segment ${k} does not exist (cluster.underlay has ` +
          `${segs.length === 1 ? 'one segment, 0' : `${segs.length} segments, 0 to ${segs.length - 1}`})`,
      )
    }
    return k
  }
  const nodeSegments = topo.nodes.map((n) => segmentOf(n, `node ${n.name.value}`))
  const externalSegments = topo.external.map((e) => segmentOf(e, `external host ${e.name.value}`))
  const apart = topo.nodes.findIndex((_, i) => nodeSegments[i] !== nodeSegments[0])
  if (mode.oneSegment && apart >= 0) {
    const [a, b] = [topo.nodes[0], topo.nodes[apart]]
    throw new TopologyError(
      b.segment?.pos ?? b.name.pos,
      `routing ${mode.id} needs every node on one L2 segment, but node ${b.name.value} is on ` +
        `segment ${nodeSegments[apart]} and node ${a.name.value} on segment ${nodeSegments[0]}: a ` +
        `route's next hop must be on the sender's own wire. Use routing: ` +
        `${ROUTING_MODES.filter((m) => !routingMode(m).oneSegment).join(' or ')}`,
    )
  }
  mode.validate?.(topo)
  checkCniFits(topo, mode)
  // after the mode's own checks, which may say the same in the mode's words (a secondary range)
  segs.forEach((seg, k) => {
    if (!mode.podsInUnderlay && seg.overlaps(podCIDR)) {
      throw new TopologyError(
        c.underlay[k].pos,
        `${segName(k)} ${seg} overlaps cluster.podCIDR ${podCIDR}: node and pod addresses must not mix`,
      )
    }
  })
  return {
    topo,
    lab: topo.name.value,
    mode,
    podCIDR,
    size,
    subnetCount: 2 ** (size - podCIDR.prefix),
    segs,
    multi,
    segName,
    nodeSegments,
    externalSegments,
    underlayPods: mode.podsInUnderlay === true,
  }
}

/** Names are unique across the lab: they name namespaces and interfaces. */
function claimNames(topo: Topology): void {
  const seen = new Map<string, SourcePos>()
  const claim = (name: Located<string>) => {
    const prev = seen.get(name.value)
    if (prev) throw new TopologyError(name.pos, `duplicate name "${name.value}" (first used at line ${prev.line}, column ${prev.col})`)
    seen.set(name.value, name.pos)
  }
  // a pod's namespace must be one the topology lists (default always is)
  const namespaces = new Set([DEFAULT_NAMESPACE, ...(topo.namespaces ?? []).map((n) => n.name.value)])
  for (const n of topo.nodes) {
    claim(n.name)
    n.pods.forEach((p) => {
      if (p.namespace && !namespaces.has(p.namespace.value))
        throw new TopologyError(p.namespace.pos, `pod ${p.name.value}: namespace "${p.namespace.value}" is not in namespaces:`)
      claim(p.name)
    })
  }
  topo.external.forEach((e) => claim(e.name))
}

/** The nodes' fixed subnets and addresses, checked in node order (pass 1: before anything is allocated). */
interface FixedNodeAddresses {
  /** subnet index -> where it was fixed */
  usedSubnets: Map<number, SourcePos>
  /** each node's fixed subnet index, if it has one */
  fixedSubnet: (number | undefined)[]
  /** underlay address -> where it was fixed */
  usedNodeIps: Map<number, SourcePos>
}

function fixedNodeAddresses({topo, podCIDR, size, segs, multi, segName, nodeSegments}: Ranges): FixedNodeAddresses {
  const usedSubnets = new Map<number, SourcePos>()
  const fixedSubnet: (number | undefined)[] = []
  const usedNodeIps = new Map<number, SourcePos>()
  for (const [i, n] of topo.nodes.entries()) {
    if (n.podCIDR) {
      const sub = cidrOf(n.podCIDR, `node ${n.name.value} podCIDR`)
      if (!podCIDR.covers(sub))
        throw new TopologyError(n.podCIDR.pos, `node ${n.name.value} podCIDR ${sub} lies outside cluster.podCIDR ${podCIDR}`)
      if (sub.prefix !== size)
        throw new TopologyError(n.podCIDR.pos, `node ${n.name.value} podCIDR ${sub} must be a /${size} (cluster.nodeSubnetSize)`)
      const k = (sub.base - podCIDR.base) / sub.size
      const prev = usedSubnets.get(k)
      if (prev)
        throw new TopologyError(
          n.podCIDR.pos,
          `node ${n.name.value} podCIDR ${sub} overlaps the subnet fixed at line ${prev.line}, ` + `column ${prev.col}`,
        )
      usedSubnets.set(k, n.podCIDR.pos)
      fixedSubnet[i] = k
    }
    if (n.ip) {
      const ip = ipOf(n.ip, `node ${n.name.value} ip`)
      const seg = segs[nodeSegments[i]]
      if (!seg.contains(ip)) {
        throw new TopologyError(
          n.ip.pos,
          `node ${n.name.value} ip ${n.ip.value} is outside ` +
            `${multi ? `its segment ${nodeSegments[i]} (${segName(nodeSegments[i])} ${seg})` : `cluster.underlay ${seg}`}`,
        )
      }
      if (ip === seg.base || ip === seg.last)
        throw new TopologyError(n.ip.pos, `node ${n.name.value} ip ${n.ip.value} is the network or broadcast address of ${seg}`)
      const prev = usedNodeIps.get(ip)
      if (prev)
        throw new TopologyError(n.ip.pos, `node ${n.name.value} ip ${n.ip.value} is already used at line ${prev.line}, column ${prev.col}`)
      usedNodeIps.set(ip, n.ip.pos)
    }
  }
  return {usedSubnets, fixedSubnet, usedNodeIps}
}

/** The lab's router, if it has one: a leg on each segment, at the first free address (taken into ipSet). */
function allocateRouter({topo, lab, mode, segs, multi, segName}: Ranges, ipSet: Set<number>): RouterModel | undefined {
  // A VPC host's default route goes to the VPC router, as a VM's does: a lab with one gets it.
  const vpcHosts = topo.external.some((e) => e.vpc?.value)
  const routerName = mode.router?.name ?? (multi ? 'router' : vpcHosts ? VPC_ROUTER : undefined)
  if (!routerName) return undefined
  return {
    name: routerName,
    netns: netnsName(lab, routerName),
    legs: segs.map((seg, k) => {
      const ip = allocate(seg.base + 1, seg.base + 1, seg.last - 1, ipSet)
      if (ip === undefined)
        throw new TopologyError(topo.cluster.underlay[k].pos, `no free address left in ${segName(k)} ${seg} for the ${routerName}`)
      ipSet.add(ip)
      return {segment: k, dev: `eth${k}`, ip: formatIPv4(ip), mac: macFor(formatIPv4(ip)), fabricPort: `${routerName}${k}`}
    }),
  }
}

/** Pass 2: every node's subnet and address, the free ones allocated in node order (addresses counted per segment). */
function allocateNodes(r: Ranges, fixed: FixedNodeAddresses, ipSet: Set<number>): NodeModel[] {
  const {topo, lab, mode, podCIDR, size, subnetCount, segs, segName, nodeSegments, underlayPods} = r
  const subnetSet = new Set(fixed.usedSubnets.keys())
  const inSegment = segs.map(() => 0)
  return topo.nodes.map((n, i) => {
    let k = fixed.fixedSubnet[i]
    if (underlayPods)
      k = 0 // no pod subnet: the segment is (see below)
    else if (k === undefined) {
      k = allocate(i, 0, subnetCount - 1, subnetSet)
      if (k === undefined) throw new TopologyError(n.name.pos, `no free /${size} subnet left in ${podCIDR} for node ${n.name.value}`)
      subnetSet.add(k)
    }
    const sub = podCIDR.subnet(size, k)
    const segment = nodeSegments[i]
    const seg = segs[segment]
    const nth = inSegment[segment]++
    let ip = n.ip ? parseIPv4(n.ip.value)! : undefined
    if (ip === undefined) {
      ip = allocate(seg.base + FIRST_NODE_HOST + nth, seg.base + 1, seg.last - 1, ipSet)
      if (ip === undefined)
        throw new TopologyError(n.name.pos, `no free address left in ${segName(segment)} ${seg} for node ${n.name.value}`)
      ipSet.add(ip)
    }
    const gateway = mode.podGateway ?? formatIPv4(sub.base + 1)
    return {
      name: n.name.value,
      netns: netnsName(lab, n.name.value),
      ip: formatIPv4(ip),
      mac: macFor(formatIPv4(ip)),
      podCIDR: underlayPods ? seg.toString() : sub.toString(),
      gateway,
      gatewayMac: macFor(gateway),
      bridge: POD_BRIDGE,
      fabricPort: n.name.value,
      segment,
      pods: underlayPods ? [] : allocatePods(lab, n, sub, mode.podGateway ? macFor(gateway) : undefined), // underlay pods: below, once every fixed address is known
    }
  })
}

/** The external hosts' fixed addresses, each checked against every address taken so far (which it then takes). */
interface FixedExternalIps {
  /** each host's fixed address, if it has one */
  ips: (number | undefined)[]
  /** external address -> where it was fixed (or, later, whose default it became) */
  used: Map<number, SourcePos>
}

function fixedExternalIps(r: Ranges, taken: Map<number, string>): FixedExternalIps {
  const {topo, podCIDR, segs, multi, segName, externalSegments, underlayPods} = r
  const used = new Map<number, SourcePos>()
  const ips = topo.external.map((e, i) => {
    if (!e.ip) return undefined
    const ip = ipOf(e.ip, `external host ${e.name.value} ip`)
    const what = `external host ${e.name.value} ip ${e.ip.value}`
    const prev = used.get(ip)
    if (e.vpc?.value) {
      const k = externalSegments[i]
      const seg = segs[k]
      if (!seg.contains(ip))
        throw new TopologyError(
          e.ip.pos,
          `${what} is outside ${multi ? `its segment ${k} (${segName(k)} ${seg})` : `cluster.underlay ${seg}`}: ` +
            `a VPC host (vpc: true) has an address in the VPC subnet`,
        )
      if (ip === seg.base || ip === seg.last) throw new TopologyError(e.ip.pos, `${what} is the network or broadcast address of ${seg}`)
      if (!underlayPods && podCIDR.contains(ip)) throw new TopologyError(e.ip.pos, `${what} is inside cluster.podCIDR ${podCIDR}`)
      const owner = taken.get(ip)
      if (owner) throw new TopologyError(e.ip.pos, `${what} is ${owner}`)
    } else {
      if (!underlayPods && podCIDR.contains(ip))
        throw new TopologyError(e.ip.pos, `${what} is inside cluster.podCIDR ${podCIDR}: an external host must be outside the cluster`)
      const inside = segs.findIndex((seg) => seg.contains(ip))
      if (inside >= 0)
        throw new TopologyError(
          e.ip.pos,
          `${what} is inside ${segName(inside)} ${segs[inside]}: an external host must be outside ` +
            `the cluster (a VM in the VPC says vpc: true)`,
        )
    }
    if (prev) throw new TopologyError(e.ip.pos, `${what} is already used at line ${prev.line}, column ${prev.col}`)
    used.set(ip, e.ip.pos)
    taken.set(ip, `${e.vpc?.value ? 'VPC' : 'external'} host ${e.name.value}'s address`)
    return ip
  })
  return {ips, used}
}

/** Every external host, a default address for each without a fixed one (taken in turn). */
function allocateExternals(r: Ranges, fixed: FixedExternalIps, taken: Map<number, string>): ExternalModel[] {
  const {topo, lab, podCIDR, segs, segName, externalSegments, underlayPods} = r
  const usedExternal = fixed.used
  return topo.external.map((e, i) => {
    let ip = fixed.ips[i]
    const vpc = e.vpc?.value ?? false
    if (ip === undefined && vpc) {
      // a VPC host without an address: the highest free one of its segment, clear of the nodes and pods growing from below
      const seg = segs[externalSegments[i]]
      for (let v = seg.last - 1; v > seg.base && ip === undefined; v--) if (!taken.has(v) && !(!underlayPods && podCIDR.contains(v))) ip = v
      if (ip === undefined)
        throw new TopologyError(e.name.pos, `no free address left in ${segName(externalSegments[i])} ${seg} for VPC host ${e.name.value}`)
    } else if (ip === undefined) {
      ip = parseIPv4(DEFAULT_EXTERNAL_BASE)! + i
      while (usedExternal.has(ip)) ip++
      // The default is only outside the cluster if the cluster ranges leave TEST-NET-3 alone.
      const inside = segs.find((seg) => seg.contains(ip!))
      if ((!underlayPods && podCIDR.contains(ip)) || inside) {
        throw new TopologyError(
          e.name.pos,
          `external host ${e.name.value} has no ip, and the default ${formatIPv4(ip)} is inside the ` +
            `cluster (${podCIDR} or ${inside ?? segs[0]}): give it an ip outside both`,
        )
      }
    }
    if (fixed.ips[i] === undefined) {
      usedExternal.set(ip, e.name.pos)
      taken.set(ip, `${e.vpc?.value ? 'VPC' : 'external'} host ${e.name.value}'s address`)
    }
    return {
      name: e.name.value,
      netns: netnsName(lab, e.name.value),
      ip: formatIPv4(ip),
      mac: macFor(formatIPv4(ip)),
      fabricPort: e.name.value,
      segment: externalSegments[i],
      vpc,
    }
  })
}

/** The model of what was allocated, with its mode and members, its CNI model and its policies. */
function assembleModel(
  r: Ranges,
  {router, nodes, external}: {router?: RouterModel; nodes: NodeModel[]; external: ExternalModel[]},
  opts: ModelOptions,
): LabModel {
  const {topo, lab, mode, podCIDR, size, segs, underlayPods} = r
  const c = topo.cluster
  const model = withMode(
    {
      lab,
      routing: c.routing.value,
      ipMasq: c.ipMasq.value,
      // pods in the underlay: their range is the VPC subnet, each pod a /32 of it
      podCIDR: underlayPods ? segs[0].toString() : podCIDR.toString(),
      nodeSubnetSize: underlayPods ? segs[0].prefix : size,
      underlay: segs[0].toString(),
      segments: segs.map((seg, index) => ({index, cidr: seg.toString(), bridge: `br${index}`})),
      fabric: {netns: netnsName(lab, FABRIC), bridge: 'br0'},
      ...(router ? {router} : {}),
      nodes,
      external,
      members: [],
      ...mode.settings?.(topo),
    },
    mode,
  )
  model.members = [...baseMembers(model), ...(mode.members?.(model) ?? [])]
  const cni = cniModel(topo, nodes, {
    labDir: join(opts.stateRoot ?? DEFAULT_STATE_ROOT, lab),
    env: opts.cniEnv ?? DEFAULT_CNI_ENV,
    mtu: mode.podMtu,
  })
  if (cni) model.cni = cni
  if (topo.namespaces) model.namespaces = topo.namespaces.map((n) => namespaceModel(n.name.value, n.labels))
  if (topo.policies) model.policies = resolvePolicies(topo.policies, model, opts.warnings)
  if (topo.services) model.services = resolveServices(topo, model, opts.warnings)
  return model
}

/**
 * Give a model its routing mode's module (LabModel.mode), not enumerable: JSON, and so the saved
 * state, leaves it out. A mode this netlab does not know (a state saved by another version) is
 * an error where it is first asked for, as before, not when the state is read.
 */
function withMode(model: Omit<LabModel, 'mode'>, mode = findRoutingMode(model.routing)): LabModel {
  const known = mode ? {value: mode} : {get: () => routingMode(model.routing)}
  return Object.defineProperty(model, 'mode', {...known, enumerable: false}) as LabModel
}

/** A copy of a model with some fields changed, and its mode (a spread alone would lose it: it is not enumerable). */
export function modelWith(model: LabModel, changes: Partial<Omit<LabModel, 'mode'>>): LabModel {
  return withMode({...model, ...changes})
}

/** A model saved by netlab 0.1 (one segment, no member list), completed the way this version builds it, with its mode. */
export function upgradeModel(saved: Omit<LabModel, 'mode'>): LabModel {
  const model = withMode(saved)
  if (!model.segments) {
    model.segments = [{index: 0, cidr: model.underlay, bridge: model.fabric.bridge}]
    model.nodes.forEach((n) => (n.segment ??= 0))
    model.external.forEach((e) => (e.segment ??= 0))
  }
  if (!model.members) model.members = baseMembers(model)
  model.external.forEach((e) => (e.vpc ??= false))
  return model
}

/** The members every lab has (fabric, nodes, external hosts, pods), in creation order. */
function baseMembers(model: Omit<LabModel, 'members'>): Member[] {
  return [
    {
      kind: 'fabric',
      name: FABRIC,
      netns: model.fabric.netns,
      ips: [],
      role: 'the fabric: the L2 segment (a "VPC subnet") that joins the nodes',
    },
    // a gateway no interface holds (aws-vpc's 169.254.1.1) is no address of the node's
    ...model.nodes.map((n): Member => ({
      kind: 'node',
      name: n.name,
      netns: n.netns,
      ips: n.pods.length > 0 && !model.mode.podGateway ? [n.ip, n.gateway] : [n.ip],
      role: `node ${n.name}`,
    })),
    ...model.external.map((e): Member => ({
      kind: 'external',
      name: e.name,
      netns: e.netns,
      ips: [e.ip],
      role: e.vpc
        ? `VPC host ${e.name}: a VM in the cluster's VPC subnet that is not a node`
        : `external host ${e.name}: "the outside world", on the underlay but outside the cluster`,
    })),
    ...(model.router ? [routerMember(model.router, model)] : []),
    ...model.nodes.flatMap((n) =>
      n.pods.map((p): Member => ({
        kind: 'pod',
        name: p.name,
        netns: p.netns,
        ips: [p.ip],
        role: `pod ${p.name} (on ${p.node}); a container runtime creates this before calling CNI ADD`,
      })),
    ),
  ]
}

function routerMember(r: RouterModel, model: Omit<LabModel, 'members'>): Member {
  const role =
    model.mode.router?.role ??
    (model.segments.length > 1
      ? `the router joining the underlay segments ` + `(${model.segments.map((s) => s.cidr).join(', ')}); it knows nothing about pods`
      : `the VPC router: the default gateway of the VPC's hosts (${r.legs[0].ip}, the subnet's ` +
        `first address); it routes no pod subnet`)
  return {kind: 'router', name: r.name, netns: r.netns, ips: r.legs.map((l) => l.ip), role}
}

/** A pod's labels and ports, when it has any: what policies and Services select it by, and what it serves (a pod without has no key). */
function labelsOf(p: Topology['nodes'][number]['pods'][number]): Pick<PodModel, 'namespace' | 'labels' | 'ports'> {
  return {
    ...(p.namespace && p.namespace.value !== DEFAULT_NAMESPACE ? {namespace: p.namespace.value} : {}),
    ...(p.labels && Object.keys(p.labels).length > 0 ? {labels: p.labels} : {}),
    ...(p.ports
      ? {ports: p.ports.map((pp) => ({...(pp.name ? {name: pp.name.value} : {}), port: pp.port.value, protocol: pp.protocol.value}))}
      : {}),
  }
}

/**
 * CNI plugins wire pods with a bridge per node and an address from the node's subnet. A mode
 * whose pods hold VPC addresses on point-to-point cables (aws-vpc) is a different plugin (the
 * AWS VPC CNI), so it keeps netlab's own wiring; policies isolate each pod's cni0 port by its
 * interface name, which a plugin chooses at random.
 */
function checkCniFits(topo: Topology, mode: {id: string; podsInUnderlay?: boolean}): void {
  const cni = topo.cluster.cni
  if (!cni) return
  if (mode.podsInUnderlay)
    throw new TopologyError(
      cni.pos,
      `cluster.cni: routing ${mode.id} wires pods into the VPC subnet on point-to-point cables, which no ` +
        `bridge CNI plugin does; use another routing mode, or leave cni out`,
    )
  if (topo.policies) throw new TopologyError(cni.pos, `cluster.cni: ${CNI_NO_POLICIES}; remove policies or cni`)
}

/** Why a lab wired by CNI plugins takes no network policies (at up, and at policy apply). */
export const CNI_NO_POLICIES =
  "network policies need netlab's own pod wiring (they isolate each pod's cni0 port by its name, which a plugin picks at random)"

/** A node's pods in its subnet; hostVethMac: the MAC of their cables' node ends, when they answer for the mode's podGateway (bgp). */
function allocatePods(lab: string, n: Topology['nodes'][number], sub: Cidr, hostVethMac?: string): PodModel[] {
  const gateway = sub.base + 1
  const capacity = sub.size - 3 // network, gateway, broadcast
  if (n.pods.length > capacity) {
    throw new TopologyError(n.podsPos, `node ${n.name.value} has ${n.pods.length} pods but its subnet ${sub} holds at most ${capacity}`)
  }
  const used = new Map<number, SourcePos>()
  for (const p of n.pods) {
    if (!p.ip) continue
    const ip = ipOf(p.ip, `pod ${p.name.value} ip`)
    const what = `pod ${p.name.value} ip ${p.ip.value}`
    if (!sub.contains(ip)) throw new TopologyError(p.ip.pos, `${what} is outside its node's subnet ${sub} (node ${n.name.value})`)
    if (ip === sub.base) throw new TopologyError(p.ip.pos, `${what} is the network address of ${sub}`)
    if (ip === gateway) throw new TopologyError(p.ip.pos, `${what} is the gateway address of ${sub} (held by the node's cni0 bridge)`)
    if (ip === sub.last) throw new TopologyError(p.ip.pos, `${what} is the broadcast address of ${sub}`)
    const prev = used.get(ip)
    if (prev) throw new TopologyError(p.ip.pos, `${what} is already used by another pod at line ${prev.line}, column ${prev.col}`)
    used.set(ip, p.ip.pos)
  }
  const taken = new Set(used.keys())
  const veths = new Set<string>()
  let next = gateway + 1
  return n.pods.map((p) => {
    let ip: number
    if (p.ip) ip = parseIPv4(p.ip.value)!
    else {
      while (taken.has(next)) next++
      ip = next++
      taken.add(ip)
    }
    const hostVeth = claimHostVeth(veths, p, n)
    return {
      name: p.name.value,
      node: n.name.value,
      netns: netnsName(lab, p.name.value),
      ip: formatIPv4(ip),
      mac: macFor(formatIPv4(ip)),
      hostVeth,
      ...(hostVethMac ? {hostVethMac} : {}),
      ...labelsOf(p),
    }
  })
}

/** A pod's host-side veth name, unique on its node (names are hashed to fit 15 characters, so two could meet). */
function claimHostVeth(veths: Set<string>, p: Topology['nodes'][number]['pods'][number], n: Topology['nodes'][number]): string {
  const hostVeth = hostVethName(p.name.value)
  if (veths.has(hostVeth))
    throw new TopologyError(
      p.name.pos,
      `pod name "${p.name.value}" maps to interface ${hostVeth}, already used on node ` + `${n.name.value}; rename the pod`,
    )
  veths.add(hostVeth)
  return hostVeth
}

/** Pods holding underlay addresses (aws-vpc): the fixed ones, checked against every address fixed so far. */
function underlayFixedPods(
  lab: string,
  n: Topology['nodes'][number],
  node: NodeModel,
  seg: Cidr,
  taken: Map<number, string>,
  routing: string,
): PodModel[] {
  const veths = new Set<string>()
  return n.pods.map((p) => {
    const hostVeth = claimHostVeth(veths, p, n)
    let ip = ''
    if (p.ip) {
      const v = ipOf(p.ip, `pod ${p.name.value} ip`)
      const what = `pod ${p.name.value} ip ${p.ip.value}`
      if (!seg.contains(v))
        throw new TopologyError(
          p.ip.pos,
          `${what} is outside the VPC subnet ${seg}: in routing ${routing} pods hold addresses of ` +
            `their node's subnet (cluster.underlay)`,
        )
      if (v === seg.base || v === seg.last) throw new TopologyError(p.ip.pos, `${what} is the network or broadcast address of ${seg}`)
      const owner = taken.get(v)
      if (owner) throw new TopologyError(p.ip.pos, `${what} is ${owner}`)
      taken.set(v, `pod ${p.name.value}'s address`)
      ip = p.ip.value
    }
    return {
      name: p.name.value,
      node: node.name,
      netns: netnsName(lab, p.name.value),
      ip,
      mac: ip && macFor(ip),
      hostVeth,
      hostVethMac: node.gatewayMac,
      ...labelsOf(p),
    }
  })
}

/** Pods holding underlay addresses without a fixed one: the lowest free addresses above every node's, in node order. */
function underlayFreePods(
  n: Topology['nodes'][number],
  node: NodeModel,
  seg: Cidr,
  taken: Map<number, string>,
  where: string,
  routing: string,
  first: number,
): void {
  let next = first
  node.pods.forEach((p, k) => {
    if (p.ip) return
    while (next < seg.last && taken.has(next)) next++
    if (next >= seg.last)
      throw new TopologyError(
        n.pods[k].name.pos,
        `no free address left in ${where} ${seg} for pod ${p.name} (routing ${routing}: pods, ` +
          `nodes and VPC hosts share the VPC subnet)`,
      )
    taken.set(next, `pod ${p.name}'s address`)
    p.ip = formatIPv4(next)
    p.mac = macFor(p.ip)
  })
}
