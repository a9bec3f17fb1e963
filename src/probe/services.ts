// The probe's view of a lab's Services: which ports it probes, from where, what each probe must
// see, and how a group of tries is judged. Pure: from the model alone. What kube-proxy does with
// each flow (its rules: src/proxy), and so what the endpoint that answers must see:
// - pod → ClusterIP: DNAT to an endpoint and nothing else (the pod is inside the cluster's pod
//   range); except a pod that lands on itself (hairpin): KUBE-SEP's `-s EP -j KUBE-MARK-MASQ`
//   masquerades it to its node's address toward it;
// - node → ClusterIP: the node's own connection leaves from its underlay address (the service
//   range's route is via eth0), outside the pod range: masqueraded (`! -s POD-RANGE -j
//   KUBE-MARK-MASQ`) to the node's address on the way out toward the endpoint;
// - NodePort, externalTrafficPolicy Cluster: masqueraded by the node that took it (KUBE-EXT's
//   KUBE-MARK-MASQ), to that same address; Local: only that node's own endpoints, the client's
//   address kept, and a node without one drops it — but a node's connection to its own NodePort
//   (source type LOCAL) goes cluster-wide, masqueraded.
// MASQUERADE picks the address of the device the packet leaves by, toward its next hop: the
// address the node's own connections to that pod leave from, which expect.ts already says.
import {
  allPods,
  type Endpoint,
  type LabModel,
  type NodeModel,
  type PodModel,
  type ServiceModel,
  type ServicePortModel,
} from '../model/types.js'
import {expectHttp, nodeEndpoint, podEndpoint} from './expect.js'
import type {Coverage, Expectation, Probe, ProbeResult, ServeTarget} from './types.js'

/** One port of one Service: what a services check probes. */
export interface ServicePort {
  svc: ServiceModel
  port: ServicePortModel
}

/** How unlikely a random miss may be: the tries of a check are enough that a lab that works fails it less than once in a million. */
const MISS = 1e-6

/** Tries until kube-proxy, picking 1 of n at random, has picked one given endpoint (hairpin). */
export function triesToHit(n: number): number {
  return n <= 1 ? 1 : Math.floor(Math.log(MISS) / Math.log(1 - 1 / n)) + 1
}

/** Tries until every one of n endpoints has been picked (spread): n·(1 − 1/n)^t < MISS. */
export function triesToSpread(n: number): number {
  return n <= 1 ? 1 : Math.floor(Math.log(MISS / n) / Math.log(1 - 1 / n)) + 1
}

/** Tries that a random pick would not keep on one endpoint (affinity): n·(1/n)^t < MISS; 3 with one endpoint. */
export function triesToStick(n: number): number {
  return n <= 1 ? 3 : Math.floor(1 + Math.log(1 / MISS) / Math.log(n)) + 1
}

/** Why no services check applies to this lab, or undefined. */
export function servicesNotApplicable(model: LabModel): string | undefined {
  const s = model.services
  if (!s || s.list.length === 0) return `lab ${model.lab} has no Services (a services: list in its topology adds them)`
  if (s.proxy === 'none') return 'cluster.proxy is none: no kube-proxy runs in this lab, so nothing translates a ClusterIP or a NodePort'
  if (model.policies && model.policies.length > 0)
    return (
      'the lab has network policies: which pods may reach an endpoint through its Service is theirs to say, ' +
      'and the probe does not judge Services under policies yet'
    )
  return undefined
}

/** Every port of every Service, in the topology's order (none where no check applies). */
export function servicePorts(model: LabModel): ServicePort[] {
  if (servicesNotApplicable(model)) return []
  return model.services!.list.flatMap((svc) => svc.ports.map((port) => ({svc, port})))
}

export const withEndpoints = (model: LabModel): ServicePort[] => servicePorts(model).filter((s) => s.port.endpoints.length > 0)

export const toolOf = (s: ServicePort): Probe['tool'] => (s.port.protocol === 'UDP' ? 'udp' : 'http')

/** "web:80", "dns:53/udp": the Service and its port, as kubectl shows them. */
export const serviceLabel = (s: ServicePort): string => `${s.svc.name}:${s.port.port}${s.port.protocol === 'UDP' ? '/udp' : ''}`

const clusterIps = new WeakMap<ServicePortModel, Endpoint>()
/** The ClusterIP of a Service port as a probe's target: one object per port. */
export function clusterIpEndpoint(s: ServicePort): Endpoint {
  let e = clusterIps.get(s.port)
  if (!e) clusterIps.set(s.port, (e = {kind: 'service', name: serviceLabel(s), netns: '', ip: s.svc.clusterIP}))
  return e
}

const byName = new WeakMap<LabModel, Map<string, PodModel>>()
/** The lab's pods by name, made once per model (a big lab plans tens of thousands of Service probes). */
function podsByName(model: LabModel): Map<string, PodModel> {
  let pods = byName.get(model)
  if (!pods) byName.set(model, (pods = new Map(allPods(model).map((p) => [p.name, p]))))
  return pods
}

const behind = new WeakMap<ServicePortModel, PodModel[]>()
/** The pods behind a Service port, in the endpoints' order (one list per port). */
export function endpointPods(model: LabModel, s: ServicePort): PodModel[] {
  let list = behind.get(s.port)
  if (!list) {
    const pods = podsByName(model)
    behind.set(s.port, (list = s.port.endpoints.flatMap((e) => pods.get(e.pod) ?? [])))
  }
  return list
}

const serving = new WeakMap<ServicePortModel, readonly ServeTarget[]>()
/**
 * The echo sockets a Service port's probes need: its target port in each endpoint, one list per
 * port (the engine leaves out those the lab's workload serves: a port the pod declares).
 */
export function servesOf(model: LabModel, s: ServicePort): readonly ServeTarget[] {
  let list = serving.get(s.port)
  if (list) return list
  const pods = podsByName(model)
  const proto = s.port.protocol === 'UDP' ? 'udp' : 'tcp'
  list = s.port.endpoints.flatMap((e): ServeTarget[] => {
    const pod = pods.get(e.pod)
    return pod ? [{netns: pod.netns, ip: e.ip, proto, port: e.port}] : []
  })
  serving.set(s.port, list)
  return list
}

const nodeOf = (model: LabModel, name: string): NodeModel => model.nodes.find((n) => n.name === name)!

const masquerades = new WeakMap<NodeModel, Map<PodModel, string>>()
/** The address node's masquerade gives what it sends to pod `to`: the one its own connections to `to` leave from. */
export function masqueradedTo(model: LabModel, node: NodeModel, to: PodModel): string {
  const known = masquerades.get(node)?.get(to)
  if (known) return known
  const e = expectHttp(model, nodeEndpoint(node), podEndpoint(to))
  const seen = e.reply && e.seen ? e.seen : node.ip
  const mine = masquerades.get(node) ?? masquerades.set(node, new Map()).get(node)!
  mine.set(to, seen)
  return seen
}

/** pod → ClusterIP: any endpoint, seeing the client pod's own address; itself, seeing its node's (hairpin). */
export function fromPod(model: LabModel, client: PodModel, s: ServicePort): Expectation {
  const by: Record<string, string> = {}
  for (const p of endpointPods(model, s))
    by[p.netns] = p.name === client.name ? masqueradedTo(model, nodeOf(model, client.node), client) : client.ip
  return {reply: true, by}
}

/** A node's own connection, or one it took on a NodePort, masqueraded: any of `pods`, each seeing the node's address toward it. */
export function viaNode(model: LabModel, node: NodeModel, pods: PodModel[]): Expectation {
  const by: Record<string, string> = {}
  for (const p of pods) by[p.netns] = masqueradedTo(model, node, p)
  return {reply: true, by}
}

/** `client` → NodePort of `node`: externalTrafficPolicy decides who answers and what they see. */
export function viaNodePort(model: LabModel, client: Endpoint, node: NodeModel, s: ServicePort): Expectation {
  const pods = endpointPods(model, s)
  // Cluster, or a node's own connection to its NodePort (source type LOCAL: cluster-wide, masqueraded, whatever the policy)
  if (s.svc.externalTrafficPolicy === 'Cluster' || (client.kind === 'node' && client.name === node.name)) return viaNode(model, node, pods)
  const local = pods.filter((p) => p.node === node.name)
  if (local.length === 0)
    return {
      reply: false,
      why: `externalTrafficPolicy Local: ${node.name} has no endpoint of ${s.svc.name}, and kube-proxy drops what it cannot serve on the node`,
    }
  const by: Record<string, string> = {}
  for (const p of local) by[p.netns] = client.ip
  return {reply: true, by}
}

export const REFUSED: Expectation = {
  reply: false,
  refused: true,
  why: "the Service has no endpoints: kube-proxy's filter rule rejects it (an ICMP port unreachable), so the client is refused at once",
}

/** Pods that probe each Service port: every pod, or (representative) one a node, a different one for each port. */
export function clientsOf(model: LabModel, coverage: Coverage, k: number): PodModel[] {
  if (coverage === 'all-pairs') return allPods(model)
  return model.nodes.filter((n) => n.pods.length > 0).map((n) => n.pods[k % n.pods.length])
}

/** A pod to try a Service from over and over: the first that is none of its endpoints (else the first pod). */
export function triesClient(model: LabModel, s: ServicePort): PodModel | undefined {
  const all = allPods(model)
  const mine = new Set(s.port.endpoints.map((e) => e.pod))
  return all.find((p) => !mine.has(p.name)) ?? all[0]
}

/** The Service port a result probed (its ClusterIP and port). */
export function servicePortOf(model: LabModel, r: ProbeResult): ServicePort | undefined {
  return servicePorts(model).find(
    (s) => s.svc.clusterIP === r.dst.ip && s.port.port === r.service?.port && (s.port.protocol === 'UDP') === (r.service?.proto === 'udp'),
  )
}

/** Tries grouped by their client and Service port, in the order they came. */
export function groupTries(tries: readonly ProbeResult[]): ProbeResult[][] {
  const groups = new Map<string, ProbeResult[]>()
  for (const r of tries) {
    const key = `${r.src.name}|${r.dst.ip}|${r.service?.proto}|${r.service?.port}`
    const g = groups.get(key) ?? groups.set(key, []).get(key)!
    g.push(r)
  }
  return [...groups.values()]
}

const byNetns = new WeakMap<LabModel, Map<string, PodModel>>()
/** The lab's pods by namespace (servedBy names a namespace), made once per model. */
function podByNetns(model: LabModel): Map<string, PodModel> {
  let pods = byNetns.get(model)
  if (!pods) byNetns.set(model, (pods = new Map(allPods(model).map((p) => [p.netns, p]))))
  return pods
}

/** "web-0 ×14, web-1 ×16": who answered a group of tries, and how often. */
export function answered(model: LabModel, tries: readonly ProbeResult[]): {counts: Map<string, number>; text: string} {
  const pods = podByNetns(model)
  const counts = new Map<string, number>()
  for (const r of tries) if (r.servedBy) counts.set(r.servedBy, (counts.get(r.servedBy) ?? 0) + 1)
  // in the lab's order of pods, then anything else that answered
  const order = new Map([...pods.keys()].map((ns, i) => [ns, i]))
  const rank = (ns: string) => order.get(ns) ?? order.size
  const text = [...counts]
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([ns, n]) => `${pods.get(ns)?.name ?? ns} ×${n}`)
    .join(', ')
  return {counts, text: text || 'nobody'}
}

/** A group's verdict, from its first try: client, target, port; `bad` is the first try that failed on its own. */
export function groupResult(first: ProbeResult, r: {expected: string; seen: string; ok: boolean; detail?: string}): ProbeResult {
  const {src, dst, service} = first
  return {src, dst, ...(service ? {service} : {}), expected: r.expected, seen: r.seen, ok: r.ok, ...(r.detail ? {detail: r.detail} : {})}
}

/** The first try of a group that failed on its own, as a detail. */
export function firstFailure(tries: readonly ProbeResult[]): string | undefined {
  const bad = tries.find((r) => !r.ok)
  const failed = tries.filter((r) => !r.ok).length
  return (
    bad &&
    `${failed} of ${tries.length} tries failed; the first: expected ${bad.expected}, seen ${bad.seen}${bad.detail ? ` (${bad.detail})` : ''}`
  )
}
