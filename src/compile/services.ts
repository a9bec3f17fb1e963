// Services as written -> Services resolved to the lab: a ClusterIP each, node ports, and each port's
// endpoints. Pure. What Kubernetes' control plane would do (the apiserver's allocators, the
// EndpointSlice controller) done once, the way a lab without an API server can:
// - ClusterIPs: a fixed one is kept; the rest take the lowest free addresses from the tenth of
//   cluster.serviceCIDR up (Kubernetes picks at random; a lab reads better in order, and .1 is the
//   apiserver's own `kubernetes` Service in a real cluster, which a lab has not);
// - node ports: a fixed one is kept; the rest take the lowest free ports from 30000 up;
// - endpoints: every pod the selector matches (all pods are ready), on the target port: a number
//   is the same for every pod, a name is looked up in each pod's ports (same name and protocol),
//   and a pod without that name is not an endpoint of that port — as the EndpointSlice controller does.
import {Cidr, formatIPv4, hostRangeProblem, parseCidr, parseIPv4} from '../core/ipv4.js'
import {throwAll, topologyWarning, TopologyError, type TopologyWarning} from '../topology/errors.js'
import {NODE_PORT_RANGE} from '../topology/services.js'
import type {ServiceSpec, Topology} from '../topology/types.js'
import {DEFAULT_NAMESPACE} from '../core/names.js'
import {namespaceOf, namespacesOf} from '../model/namespaces.js'
import type {LabModel, PodModel, PodPort, ServiceModel, ServicePortModel, ServicesModel} from '../model/types.js'

/** the first ClusterIP a Service is given, counted from the range's base (.1 is the apiserver's, .10 kube-dns's in most clusters) */
const FIRST_CLUSTER_IP = 10

function matches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v)
}

/** cluster.serviceCIDR, checked: a range of host addresses that no pod, node or host of the lab holds. */
function serviceRange(topo: Topology, model: Omit<LabModel, 'mode' | 'members'>): Cidr {
  const given = topo.cluster.serviceCIDR
  const c = parseCidr(given.value)
  if (typeof c === 'string') throw new TopologyError(given.pos, `cluster.serviceCIDR: ${c}`)
  const problem = hostRangeProblem(c)
  if (problem) throw new TopologyError(given.pos, `cluster.serviceCIDR ${c} ${problem}`)
  if (c.prefix > 28) throw new TopologyError(given.pos, `cluster.serviceCIDR ${c} is too small (use /28 or larger)`)
  const clash = (cidr: string, what: string) => {
    if (c.overlaps(parseCidr(cidr) as Cidr))
      throw new TopologyError(given.pos, `cluster.serviceCIDR ${c} overlaps ${what} ${cidr}: a ClusterIP must be no other host's address`)
  }
  clash(model.podCIDR, 'the pod range')
  model.segments.forEach((s) => clash(s.cidr, model.segments.length > 1 ? `underlay segment ${s.index}` : 'the underlay'))
  model.external.forEach((e) => clash(`${e.ip}/32`, `external host ${e.name}'s address`))
  return c
}

/** The fixed ClusterIPs, checked, then the others allocated; in topology order. */
function clusterIPs(specs: ServiceSpec[], range: Cidr): string[] {
  const taken = new Map<number, ServiceSpec>()
  const errors: TopologyError[] = []
  const fixed = specs.map((s) => {
    if (!s.clusterIP) return undefined
    const ip = parseIPv4(s.clusterIP.value)
    const at = `service ${s.name.value}: clusterIP ${s.clusterIP.value}`
    let problem: string | undefined
    if (ip === undefined) problem = 'is not an IPv4 address'
    else if (!range.contains(ip)) problem = `is outside cluster.serviceCIDR ${range}`
    else if (ip === range.base || ip === range.last) problem = `is the network or broadcast address of ${range}`
    else if (taken.has(ip)) problem = `is service ${taken.get(ip)!.name.value}'s too`
    if (problem) errors.push(new TopologyError(s.clusterIP.pos, `${at} ${problem}`))
    else taken.set(ip!, s)
    return ip
  })
  throwAll(errors)
  let next = range.base + FIRST_CLUSTER_IP
  return specs.map((s, i) => {
    if (fixed[i] !== undefined) return formatIPv4(fixed[i])
    while (taken.has(next)) next++
    if (next >= range.last)
      throw new TopologyError(s.name.pos, `service ${s.name.value}: no free ClusterIP left in cluster.serviceCIDR ${range}`)
    taken.set(next, s)
    return formatIPv4(next++)
  })
}

/** The fixed node ports, checked (one Service's per port and protocol), then the others allocated. */
function nodePorts(specs: ServiceSpec[]): (number | undefined)[][] {
  const taken = new Map<string, string>()
  const key = (port: number, protocol: string) => `${port}/${protocol}`
  const errors: TopologyError[] = []
  for (const s of specs)
    for (const p of s.ports) {
      if (!p.nodePort) continue
      const k = key(p.nodePort.value, p.protocol.value)
      const owner = taken.get(k)
      if (owner)
        errors.push(
          new TopologyError(p.nodePort.pos, `service ${s.name.value}: nodePort ${p.nodePort.value}/${p.protocol.value} is ${owner}'s too`),
        )
      taken.set(k, `service ${s.name.value}`)
    }
  throwAll(errors)
  let next: number = NODE_PORT_RANGE.first
  return specs.map((s) =>
    s.ports.map((p) => {
      if (s.type.value !== 'NodePort') return undefined
      if (p.nodePort) return p.nodePort.value
      while (taken.has(key(next, 'TCP')) || taken.has(key(next, 'UDP'))) next++
      if (next > NODE_PORT_RANGE.last) throw new TopologyError(p.pos, `service ${s.name.value}: no free node port left`)
      taken.set(key(next, p.protocol.value), `service ${s.name.value}`)
      return next++
    }),
  )
}

/** The endpoints of one Service port: each selected pod, on the port it serves the target on. */
function endpointsOf(spec: ServiceSpec, port: ServiceSpec['ports'][number], pods: PodModel[]): ServicePortModel['endpoints'] {
  const target = port.targetPort?.value ?? port.port.value
  return pods.flatMap((pod) => {
    const served =
      typeof target === 'number'
        ? target
        : pod.ports?.find((pp: PodPort) => pp.name === target && pp.protocol === port.protocol.value)?.port
    return served === undefined ? [] : [{pod: pod.name, node: pod.node, ip: pod.ip, port: served}]
  })
}

/**
 * The lab's Services (topo.services must be given). `model` is the lab as allocated so far (its
 * pods with their ports and labels). A selector that matches no pod, or a named target port that
 * no selected pod serves, is valid (the Service has no endpoints, and is refused at once, as
 * kube-proxy refuses it) but worth a warning.
 */
export function resolveServices(
  topo: Topology,
  model: Omit<LabModel, 'mode' | 'members'>,
  warnings: TopologyWarning[] = [],
): ServicesModel {
  const specs = topo.services ?? []
  const range = serviceRange(topo, model)
  const ips = clusterIPs(specs, range)
  const ports = nodePorts(specs)
  const pods = model.nodes.flatMap((n) => n.pods)
  const list = specs.map((s, i): ServiceModel => {
    // a Service selects pods of its own namespace only, as in Kubernetes
    const namespace = s.namespace?.value ?? DEFAULT_NAMESPACE
    if (s.namespace && !namespacesOf(model).some((n) => n.name === namespace))
      throw new TopologyError(s.namespace.pos, `service ${s.name.value}: namespace "${namespace}" is not in namespaces:`)
    const selected = pods.filter((p) => namespaceOf(p) === namespace && matches(s.selector.labels, p.labels))
    if (selected.length === 0)
      warnings.push(
        topologyWarning(
          s.selector.pos,
          `service ${s.name.value}: its selector matches no pod, so it has no endpoints (connections to it are refused)`,
        ),
      )
    return {
      name: s.name.value,
      namespace,
      type: s.type.value,
      clusterIP: ips[i],
      selector: s.selector.labels,
      externalTrafficPolicy: s.externalTrafficPolicy.value,
      sessionAffinity: s.sessionAffinity.value,
      ...(s.sessionAffinity.value === 'ClientIP' ? {affinityTimeout: s.affinityTimeout.value} : {}),
      ports: s.ports.map((p, k) => {
        const endpoints = endpointsOf(s, p, selected)
        const target = p.targetPort?.value ?? p.port.value
        if (typeof target === 'string' && selected.length > 0 && endpoints.length === 0)
          warnings.push(
            topologyWarning(
              p.targetPort!.pos,
              `service ${s.name.value}: no pod it selects serves a ${p.protocol.value} port named "${target}", so this port has no endpoints`,
            ),
          )
        return {
          ...(p.name ? {name: p.name.value} : {}),
          port: p.port.value,
          protocol: p.protocol.value,
          targetPort: target,
          ...(ports[i][k] !== undefined ? {nodePort: ports[i][k]} : {}),
          endpoints,
        }
      }),
    }
  })
  return {proxy: topo.cluster.proxy.value, serviceCIDR: range.toString(), list}
}
