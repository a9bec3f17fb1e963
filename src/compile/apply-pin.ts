// What `netlab apply` keeps of a running lab: the fields that cannot change in place, and the
// addresses that must not move. Pure. A node, pod, external host or Service that stays keeps what
// it was given (its address, its subnet, its ClusterIP and node ports): the new topology is
// "pinned" to them, as if the file had fixed them, before the model is built. What is new is then
// allocated from what is free, as host-local IPAM would.
import {TopologyError, type SourcePos} from '../topology/errors.js'
import type {Located, Topology} from '../topology/types.js'
import type {LabModel} from '../model/types.js'

const RESTART = 'it needs "netlab down" and "netlab up"'

function refuse(pos: SourcePos, what: string, was: string, now: string): never {
  throw new TopologyError(pos, `${what} cannot change on a running lab (${was} → ${now}): ${RESTART}`)
}

function same<T>(pos: SourcePos, what: string, was: T, now: T): void {
  if (JSON.stringify(was) !== JSON.stringify(now)) refuse(pos, what, show(was), show(now))
}

const show = (v: unknown) => (v === undefined ? 'none' : typeof v === 'string' ? v : JSON.stringify(v))

/** The lab's identity, its ranges and its mode: refused (exit 2, naming the field) when the new topology changes one. */
function checkCluster(before: LabModel, topo: Topology): void {
  const c = topo.cluster
  same(topo.name.pos, 'the lab name', before.lab, topo.name.value)
  same(c.routing.pos, 'cluster.routing', before.routing, c.routing.value)
  if (!before.mode.podsInUnderlay) {
    same(c.podCIDR.pos, 'cluster.podCIDR', before.podCIDR, c.podCIDR.value)
    same(c.nodeSubnetSize.pos, 'cluster.nodeSubnetSize', before.nodeSubnetSize, c.nodeSubnetSize.value)
  }
  const underlay = c.underlay.map((u) => u.value)
  same(c.underlay[0]?.pos ?? topo.name.pos, 'cluster.underlay', before.segments.map((s) => s.cidr).join(', '), underlay.join(', '))
  same(c.ipMasq.pos, 'cluster.ipMasq', before.ipMasq, c.ipMasq.value)
  same(c.cni?.pos ?? topo.name.pos, 'cluster.cni', before.cni !== undefined, c.cni !== undefined)
  if (before.services && topo.services) {
    same(c.serviceCIDR.pos, 'cluster.serviceCIDR', before.services.serviceCIDR, c.serviceCIDR.value)
    same(c.proxy.pos, 'cluster.proxy', before.services.proxy, c.proxy.value)
  }
}

const at = <T>(value: T, pos: SourcePos): Located<T> => ({value, pos})

/**
 * The new topology with what stays pinned to what it has now, or a TopologyError (file:line:col)
 * for a change that cannot be made in place: the lab's name, mode, ranges, underlay, masquerade,
 * CNI; a staying node's address, subnet or segment.
 */
export function pinTopology(before: LabModel, topo: Topology): Topology {
  checkCluster(before, topo)
  const nodes = new Map(before.nodes.map((n) => [n.name, n]))
  const pods = new Map(before.nodes.flatMap((n) => n.pods.map((p) => [p.name, p])))
  const externals = new Map(before.external.map((e) => [e.name, e]))
  const services = new Map((before.services?.list ?? []).map((s) => [`${s.namespace}/${s.name}`, s]))
  return {
    ...topo,
    nodes: topo.nodes.map((n) => {
      const was = nodes.get(n.name.value)
      if (!was) return n
      if (n.ip && n.ip.value !== was.ip) refuse(n.ip.pos, `node ${was.name}'s address`, was.ip, n.ip.value)
      if (n.podCIDR && n.podCIDR.value !== was.podCIDR) refuse(n.podCIDR.pos, `node ${was.name}'s pod subnet`, was.podCIDR, n.podCIDR.value)
      if ((n.segment?.value ?? 0) !== was.segment)
        refuse(n.segment?.pos ?? n.name.pos, `node ${was.name}'s segment`, `${was.segment}`, `${n.segment?.value ?? 0}`)
      return {
        ...n,
        ip: n.ip ?? at(was.ip, n.name.pos),
        podCIDR: before.mode.podsInUnderlay ? n.podCIDR : (n.podCIDR ?? at(was.podCIDR, n.name.pos)),
        pods: n.pods.map((p) => {
          // a pod that stays on its node keeps its address; one that moves to another node is a new pod
          const old = pods.get(p.name.value)
          return old && old.node === was.name && !p.ip ? {...p, ip: at(old.ip, p.name.pos)} : p
        }),
      }
    }),
    external: topo.external.map((e) => {
      const was = externals.get(e.name.value)
      const keep = was && !e.ip && (e.vpc?.value ?? false) === was.vpc && (e.segment?.value ?? 0) === was.segment
      return keep ? {...e, ip: at(was.ip, e.name.pos)} : e
    }),
    services: topo.services?.map((s) => {
      const was = services.get(`${s.namespace?.value ?? 'default'}/${s.name.value}`)
      if (!was) return s
      return {
        ...s,
        clusterIP: s.clusterIP ?? at(was.clusterIP, s.name.pos),
        ports: s.ports.map((p) => {
          const old = was.ports.find((q) => q.port === p.port.value && q.protocol === p.protocol.value)
          return p.nodePort || old?.nodePort === undefined || s.type.value !== 'NodePort' ? p : {...p, nodePort: at(old.nodePort, p.pos)}
        }),
      }
    }),
  }
}
