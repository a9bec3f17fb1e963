// The lists checks plan their probes over (a check's plan walks one of them: see Walk in
// types.ts). Each is made once per run, whichever check asks first.
import {
  allPods,
  type Endpoint,
  type ExternalModel,
  type LabModel,
  type NodeModel,
  type PodModel,
  vpcReachesPods,
} from '../../model/types.js'
import {expectHttp} from '../expect.js'
import {egressSources, nodePodPairs, nodePodSourcePairs, podNodePairs, podPairs, type Pair} from '../pairs.js'
import {servedPorts} from '../policy.js'
import {
  clientsOf,
  clusterIpEndpoint,
  fromPod,
  servesOf,
  servicePorts,
  toolOf,
  triesClient,
  withEndpoints,
  type ServicePort,
} from '../services.js'
import type {Probe} from '../types.js'
import {planOver, type CheckPlan, type ProbePlanContext, type Walk} from './types.js'

const walkOf = <T>(list: (ctx: ProbePlanContext) => readonly T[]): Walk<T> => ({list})

const internet = (model: LabModel) => model.external.filter((e) => !e.vpc)
const vpcHosts = (model: LabModel) => model.external.filter((e) => e.vpc)
/** each host with each pod, host by host */
const hostsAndPods = (hosts: ExternalModel[], pods: PodModel[]) =>
  hosts.flatMap((e) => pods.map((p): Pair<ExternalModel, PodModel> => [e, p]))

/** pod → pod: every ordered pair, or the representative set (pairs.ts) */
export const podToPod = walkOf(({model, coverage}) => podPairs(model, coverage))

/** node → pod: every pod, or its own pods and one on every other node */
export const nodeToPod = walkOf(({model, coverage}) => nodePodPairs(model, coverage))

/** node → pod for the source a pod sees: every pod, or its own pods and one on the next node */
export const nodeToPodSource = walkOf(({model, coverage}) => nodePodSourcePairs(model, coverage))

/** pod → node: every node, or its own node and the next one */
export const podToNode = walkOf(({model, coverage}) => podNodePairs(model, coverage))

/** each VPC host with each pod, both ways whatever the coverage: VPC hosts are few */
export const vpcHostPods = walkOf(({model}) => hostsAndPods(vpcHosts(model), allPods(model)))

/** each internet host (outside the VPC) with each pod that probes it */
export const internetHostPods = walkOf(({model, coverage}) => hostsAndPods(internet(model), egressSources(model, coverage)))

/** each TCP and UDP port a policy names (the echo service listens on them); none without policies */
export const policyServices = walkOf(({model}): [Probe['tool'], number][] => {
  if (!model.policies) return []
  const {tcp, udp} = servedPorts(model)
  return [...tcp.map((p): [Probe['tool'], number] => ['http', p]), ...udp.map((p): [Probe['tool'], number] => ['udp', p])]
})

/**
 * Every pair of the other sections, as endpoints: pod → pod, node → pod, pod → internet and VPC
 * hosts, and, where the underlay (or the VPC) routes pod subnets, those hosts → pods. Pairs the
 * outside cannot answer whatever the policies say are left out.
 */
export const policyPairs = walkOf((ctx) => {
  const {model, pod, node, external} = ctx
  const out = (hosts: readonly Pair<ExternalModel, PodModel>[]) => hosts.map(([e, p]): Pair<Endpoint, Endpoint> => [pod(p), external(e)])
  const into = (hosts: ExternalModel[]) =>
    hostsAndPods(hosts, allPods(model)).map(([e, p]): Pair<Endpoint, Endpoint> => [external(e), pod(p)])
  return [
    ...ctx.items(podToPod).map(([s, d]): Pair<Endpoint, Endpoint> => [pod(s), pod(d)]),
    ...ctx.items(nodeToPod).map(([n, p]): Pair<Endpoint, Endpoint> => [node(n), pod(p)]),
    ...out(ctx.items(internetHostPods)),
    ...out(ctx.items(vpcHostPods)),
    ...(model.mode.podsRoutableFromUnderlay === true ? into(internet(model)) : []),
    ...(vpcReachesPods(model) ? into(vpcHosts(model)) : []),
  ].filter(([s, d]) => expectHttp(model, s, d).reply)
})

/** each internet host with each pod, in a lab with policies whose underlay routes pod subnets */
export const policyInternetPods = walkOf(({model}) =>
  model.policies && model.mode.podsRoutableFromUnderlay === true ? hostsAndPods(internet(model), allPods(model)) : [],
)

/** each pod, once (pod → itself): every pod whatever the coverage, one probe each */
export const eachPod = walkOf(({model}) => allPods(model))

/** each Service port that has endpoints, with each pod that probes it (every pod, or one a node: services.ts) */
export const podServices = walkOf(({model, coverage}) =>
  withEndpoints(model).flatMap((s, k) => clientsOf(model, coverage, k).map((p): Pair<PodModel, ServicePort> => [p, s])),
)

/** each node with each Service port that has endpoints */
export const nodeServices = walkOf(({model}) =>
  model.nodes.flatMap((n) => withEndpoints(model).map((s): Pair<NodeModel, ServicePort> => [n, s])),
)

/** each Service port that has endpoints, once: the checks that try one again and again (spread, hairpin, affinity) */
export const servicePortsOnce = walkOf(({model}) => withEndpoints(model))

/**
 * The plan of a check that tries one Service port again and again from one client pod (spread,
 * affinity): `tries(s)` connections to its ClusterIP, for each port `takes` keeps.
 */
export function planTries(takes: (s: ServicePort) => boolean, tries: (s: ServicePort) => number): CheckPlan {
  return planOver(servicePortsOnce, (s, add, {model, pod}) => {
    const client = triesClient(model, s)
    if (!client || !takes(s)) return
    const how = {expect: fromPod(model, client, s), serves: servesOf(model, s)}
    for (let i = 0; i < tries(s); i++) add(toolOf(s), pod(client), clusterIpEndpoint(s), s.port.port, how)
  })
}

/**
 * each NodePort with endpoints, from each external host to every node, and from each node to
 * every node (or, representative, to itself and the next one)
 */
export const nodePortPairs = walkOf(({model, coverage, node, external}) =>
  withEndpoints(model)
    .filter((s) => s.port.nodePort !== undefined)
    .flatMap((s) => {
      const pairs: {client: Endpoint; target: NodeModel; s: ServicePort}[] = []
      for (const e of model.external) for (const target of model.nodes) pairs.push({client: external(e), target, s})
      model.nodes.forEach((n, i) => {
        const targets = coverage === 'all-pairs' ? model.nodes : [...new Set([n, model.nodes[(i + 1) % model.nodes.length]])]
        for (const target of targets) pairs.push({client: node(n), target, s})
      })
      return pairs
    }),
)

/** each Service port without endpoints, with each pod that probes it (every pod, or one a node) and every node */
export const servicesWithoutEndpoints = walkOf(({model, coverage, pod, node}) =>
  servicePorts(model)
    .filter((s) => s.port.endpoints.length === 0)
    .flatMap((s, k) =>
      [...clientsOf(model, coverage, k).map(pod), ...model.nodes.map(node)].map((c): Pair<Endpoint, ServicePort> => [c, s]),
    ),
)
