// LabModel -> Graph: what a lab is made of, as boxes and lines. Pure. The members and cables come
// from the model; routes come from the routing mode's own graph hook, so a new mode draws its
// routes (or its overlay) without this file knowing it. Big labs are drawn in part: the first
// and last nodes and pods, and one box saying what was left out. A lab's Services are boxes of
// their own (a ClusterIP is no interface's address), with an arrow to each endpoint pod.
import {allPods, type LabModel, type NodeModel, type PodModel} from '../model/types.js'
import {namespaceOf, namespacesOf} from '../model/namespaces.js'
import {NAMESPACE_NAME_LABEL} from '../topology/policies.js'
import {graphIds as ids, POD_CABLES} from '../model/graph-ids.js'
import type {Graph, GraphCluster, GraphEdge, GraphNode} from '../model/graph.js'
import {plural} from '../core/plural.js'

export interface GraphOptions {
  /** nodes drawn before the rest are summed up in one box (default 6) */
  maxNodes?: number
  /** pods drawn per node before the rest are summed up (default 6) */
  maxPods?: number
  /** route and overlay edges drawn before they are only described (default 24) */
  maxEdges?: number
}

export const FULL: Required<GraphOptions> = {maxNodes: Infinity, maxPods: Infinity, maxEdges: Infinity}
const DEFAULTS: Required<GraphOptions> = {maxNodes: 6, maxPods: 6, maxEdges: 24}

/** The items drawn when there are more than `max`: the first two, and one box for the rest. */
function sample<T>(items: T[], max: number): {shown: T[]; hidden: T[]} {
  if (items.length <= max) return {shown: items, hidden: []}
  return {shown: items.slice(0, 2), hidden: items.slice(2)}
}

/** A graph being drawn: what is drawn so far, and what every step needs to know. */
interface Drawing {
  model: LabModel
  opt: Required<GraphOptions>
  /** how far below the segments the nodes and hosts sit: a router, when there is one, sits between */
  below: number
  clusters: GraphCluster[]
  nodes: GraphNode[]
  edges: GraphEdge[]
  notes: string[]
}

export function buildGraph(model: LabModel, options: GraphOptions = {}): Graph {
  const d: Drawing = {
    model,
    opt: {...DEFAULTS, ...options},
    // a router sits between the segments and the nodes, so its routes to them run downwards
    below: model.router ? 2 : 1,
    clusters: [],
    nodes: [],
    edges: [],
    notes: [],
  }
  drawSegments(d)
  drawNodes(d)
  drawExternalHosts(d)
  drawRouter(d)
  drawOtherMembers(d)
  drawModeExtras(d)
  drawNamespaces(d)
  drawServices(d)
  return {
    lab: model.lab,
    title:
      `lab ${model.lab} · routing ${model.routing} · pods ${model.podCIDR} · ` +
      `${plural(model.nodes.length, 'node')}, ${plural(allPods(model).length, 'pod')}`,
    clusters: d.clusters,
    nodes: d.nodes,
    edges: d.edges,
    notes: d.notes,
  }
}

/**
 * The underlay: one bridge per segment, all in the fabric namespace (no box of its own: the
 * cables to it would have to go round one).
 */
function drawSegments({model, nodes}: Drawing): void {
  const multi = model.segments.length > 1
  for (const s of model.segments) {
    nodes.push({
      id: ids.segment(s.index),
      kind: 'segment',
      label: [multi ? `segment ${s.index}: ${s.cidr}` : `underlay ${s.cidr}`, `bridge ${s.bridge} in the fabric namespace`],
    })
  }
}

/** The nodes in model order, the box for the nodes left out where they would be. */
function drawNodes(d: Drawing): void {
  const {shown, hidden} = sample(d.model.nodes, d.opt.maxNodes)
  for (const n of shown) {
    drawNode(d, n)
    if (n === shown[1] && hidden.length > 0) drawMoreNodes(d, hidden)
  }
}

function drawExternalHosts({model, nodes, edges, below}: Drawing): void {
  for (const e of model.external) {
    nodes.push({id: ids.member(e.name), kind: 'external', label: [e.name, e.vpc ? 'VPC host' : 'external host', `eth0 ${e.ip}`]})
    edges.push({from: ids.segment(e.segment), to: ids.member(e.name), kind: 'link', length: below})
  }
  // a VPC host's default route, as any VM's: the VPC router (which a lab with one always has)
  for (const e of model.external.filter((x) => x.vpc && model.router)) {
    edges.push({
      from: ids.member(e.name),
      to: ids.member(model.router!.name),
      kind: 'route',
      label: `default via ${model.router!.legs[e.segment].ip}`,
      directed: true,
    })
  }
}

function drawRouter({model, nodes, edges}: Drawing): void {
  if (!model.router) return
  const r = model.router
  // its name says what it is when it has "router" in it; one leg's address is on the box, several on their cables
  nodes.push({
    id: ids.member(r.name),
    kind: 'router',
    label: [r.name, ...(r.name.includes('router') ? [] : ['router']), ...(r.legs.length > 1 ? [] : [`${r.legs[0].dev} ${r.legs[0].ip}`])],
  })
  for (const leg of r.legs)
    edges.push({
      from: ids.segment(leg.segment),
      to: ids.member(r.name),
      kind: 'link',
      ...(r.legs.length > 1 ? {label: `${leg.dev} ${leg.ip}`} : {}),
    })
}

/**
 * Members of kinds this file does not draw (a mode's VPC host, a router without legs in the
 * model): a box each, which the mode's graph hook can wire up.
 */
function drawOtherMembers({model, nodes}: Drawing): void {
  const drawn = new Set(['fabric', 'node', 'pod', 'external', ...(model.router ? ['router'] : [])])
  for (const m of model.members) {
    if (!drawn.has(m.kind)) nodes.push({id: ids.member(m.name), kind: m.kind, label: [m.name, m.kind, ...m.ips]})
  }
}

/**
 * Kubernetes namespaces cut across nodes, so they are no boxes of their own: a pod outside
 * default is drawn NS/NAME, and a note lists each namespace, its labels and its pods.
 */
function drawNamespaces({model, notes}: Drawing): void {
  if (!model.namespaces) return
  const groups = namespacesOf(model).map((ns) => {
    const labels = Object.entries(ns.labels).filter(([k]) => k !== NAMESPACE_NAME_LABEL)
    const pods = allPods(model).filter((p) => namespaceOf(p) === ns.name)
    return `${ns.name}${labels.length > 0 ? ` {${labels.map(([k, v]) => `${k}=${v}`).join(', ')}}` : ''}: ${pods.map((p) => p.name).join(', ') || 'no pod'}`
  })
  notes.push(`namespaces (a pod outside default is drawn NS/NAME): ${groups.join('; ')}`)
}

/** What the routing mode draws: its routes, its devices, its notes. */
function drawModeExtras({model, opt, clusters, nodes, edges, notes}: Drawing): void {
  const mode = model.mode
  const extra = mode.graph?.(model) ?? {}
  nodes.push(...(extra.nodes ?? []).filter((x) => !x.cluster || clusters.some((c) => c.id === x.cluster)))
  const present = new Set(nodes.map((x) => x.id))
  const modeEdges = (extra.edges ?? []).filter((x) => present.has(x.from) && present.has(x.to))
  notes.push(`${model.routing}: ${mode.summary}`, ...(extra.notes ?? []))
  if (modeEdges.length > opt.maxEdges) {
    notes.push(`${modeEdges.length} ${model.routing} edges are not drawn (more than ${opt.maxEdges}); ` + `netlab graph --full draws them`)
  } else {
    edges.push(...modeEdges)
    const all = (extra.edges ?? []).length
    if (all > modeEdges.length)
      notes.push(`drawn: the ${modeEdges.length} ${model.routing} edges between the boxes shown, of ${all} ` + `in the whole lab`)
  }
  // a mode with its own firewall says where it translates in its own notes
  if (model.ipMasq && !mode.firewall)
    notes.push(`ipMasq on: each node masquerades its pods' traffic that leaves ${model.podCIDR} (never pod to pod)`)
}

/**
 * The Services: one box each (its ClusterIP, ports, node ports), a dashed arrow to each endpoint
 * pod that is drawn, labelled with the port it is reached on. More Services than nodes drawn:
 * the first two, and one box for the rest.
 */
function drawServices({model, opt, nodes, edges, notes}: Drawing): void {
  const services = model.services
  if (!services) return
  const {shown, hidden} = sample(services.list, opt.maxNodes)
  const drawn = new Set(nodes.map((x) => x.id))
  let missing = 0
  for (const s of shown) {
    const ports = s.ports.map(
      (p) => `${p.port}/${p.protocol} → ${p.targetPort}${p.nodePort !== undefined ? ` · node port ${p.nodePort}` : ''}`,
    )
    const policy = [
      ...(s.type === 'NodePort' && s.externalTrafficPolicy === 'Local' ? ['externalTrafficPolicy Local'] : []),
      ...(s.sessionAffinity === 'ClientIP' ? ['ClientIP affinity'] : []),
    ]
    const none = s.ports.every((p) => p.endpoints.length === 0) ? ['no endpoints: refused'] : []
    nodes.push({
      id: ids.service(s.name),
      kind: 'service',
      label: [`service ${s.name}`, `ClusterIP ${s.clusterIP}`, ...ports, ...policy, ...none],
    })
    // one arrow per endpoint pod, its ports on it (a pod may serve several ports of one Service)
    const byPod = new Map<string, number[]>()
    for (const p of s.ports) for (const e of p.endpoints) byPod.set(e.pod, [...new Set([...(byPod.get(e.pod) ?? []), e.port])])
    for (const [pod, ports] of byPod) {
      if (!drawn.has(ids.member(pod))) {
        missing++
        continue
      }
      edges.push({from: ids.service(s.name), to: ids.member(pod), kind: 'endpoint', label: `:${ports.join(', :')}`, directed: true})
    }
  }
  if (hidden.length > 0)
    nodes.push({
      id: ids.more('services'),
      kind: 'more',
      label: [`… ${plural(hidden.length, 'more Service', 'more Services')}`, `${hidden[0].name} … ${hidden[hidden.length - 1].name}`],
    })
  notes.push(
    `services: kube-proxy's ${services.proxy} mode in every node turns a connection to a ClusterIP (range ${services.serviceCIDR}) ` +
      `into one to an endpoint (DNAT); the dashed arrows are the endpoints`,
    ...(missing > 0 ? [`${plural(missing, 'endpoint arrow')} to pods not drawn are left out; netlab graph --full draws them`] : []),
  )
}

function drawNode(d: Drawing, n: NodeModel): void {
  const {model, clusters, nodes, edges} = d
  const cluster = ids.cluster(n.name)
  const eth0 = ids.device(n.name, 'eth0')
  const mode = model.mode
  // pods cabled to the node itself, their gateway held by no interface (aws-vpc): no bridge
  const ptp = mode.podGateway !== undefined
  const range = mode.podsInUnderlay ? `pods hold VPC addresses of ${n.podCIDR}` : `${mode.terms?.nodeSubnet ?? 'pod subnet'} ${n.podCIDR}`
  clusters.push({
    id: cluster,
    kind: 'node',
    label: [n.name, n.pods.length > 0 || ptp ? range : `${range} · no pods yet, so no ${n.bridge}`],
  })
  nodes.push({id: eth0, kind: 'interface', cluster, label: ['eth0', n.ip]})
  edges.push({from: ids.segment(n.segment), to: eth0, kind: 'link', length: d.below})
  if (n.pods.length === 0) return
  const bridge = ids.device(n.name, ptp ? POD_CABLES : n.bridge)
  if (ptp)
    nodes.push({
      id: bridge,
      kind: 'interface',
      cluster,
      label: ['pod cables · no bridge', `each answers for ${n.gateway}`, 'a /32 route per pod'],
    })
  else nodes.push({id: bridge, kind: 'bridge', cluster, label: [`${n.bridge} · bridge`, `${n.gateway}/${model.nodeSubnetSize}`]})
  edges.push({from: eth0, to: bridge, kind: 'forward', label: 'ip_forward'})
  const pods = sample(n.pods, d.opt.maxPods)
  for (const p of pods.shown) {
    nodes.push({id: ids.member(p.name), kind: 'pod', cluster, label: [p.name, `eth0 ${p.ip}`]})
    edges.push({from: bridge, to: ids.member(p.name), kind: 'link', ...(ptp ? {label: p.hostVeth} : {})})
    if (p === pods.shown[1] && pods.hidden.length > 0) drawMorePods(d, n, pods.hidden, bridge, cluster)
  }
}

function drawMoreNodes({clusters, nodes, edges, below}: Drawing, hidden: NodeModel[]): void {
  const pods = hidden.reduce((sum, n) => sum + n.pods.length, 0)
  const id = ids.more('nodes')
  // a cluster like the nodes' own, so it is drawn in their row, where the nodes it stands for would be
  clusters.push({id: ids.cluster(id), kind: 'more', label: []})
  nodes.push({
    id,
    kind: 'more',
    cluster: ids.cluster(id),
    label: [
      `… ${plural(hidden.length, 'more node', 'more nodes')}`,
      `${hidden[0].name} … ${hidden[hidden.length - 1].name}`,
      `${plural(pods, 'pod')}, wired the same way`,
    ],
  })
  for (const k of new Set(hidden.map((n) => n.segment))) edges.push({from: ids.segment(k), to: id, kind: 'link', length: below})
}

function drawMorePods({nodes, edges}: Drawing, n: NodeModel, hidden: PodModel[], bridge: string, cluster: string): void {
  const id = ids.more(`pods:${n.name}`)
  nodes.push({
    id,
    kind: 'more',
    cluster,
    label: [
      `… ${hidden.length} more pods`,
      `${hidden[0].name} … ${hidden[hidden.length - 1].name}`,
      `${hidden[0].ip} … ${hidden[hidden.length - 1].ip}`,
    ],
  })
  edges.push({from: bridge, to: id, kind: 'link'})
}
