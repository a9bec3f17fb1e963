import {plural} from '../../core/plural.js'
import {allPods} from '../../model/types.js'
import {
  answered,
  clusterIpEndpoint,
  endpointPods,
  firstFailure,
  fromPod,
  groupResult,
  groupTries,
  masqueradedTo,
  servesOf,
  servicesNotApplicable,
  toolOf,
  triesToHit,
} from '../services.js'
import {planOver, type ProbeCheck} from './types.js'
import {servicePortsOnce} from './walks.js'

export const serviceHairpin = {
  id: 'service-hairpin',
  section: 'services',
  title: 'hairpin: an endpoint reaches itself through its own Service',
  // each endpoint (representative: the first) tries its Service until kube-proxy picks itself;
  // with ClientIP affinity it would stick to its first pick, so only a Service of one endpoint
  plan: planOver(servicePortsOnce, (s, add, {model, coverage, pod}) => {
    const n = s.port.endpoints.length
    if (s.svc.sessionAffinity === 'ClientIP' && n > 1) return
    const pods = endpointPods(model, s)
    for (const e of coverage === 'all-pairs' ? pods : pods.slice(0, 1)) {
      const how = {expect: fromPod(model, e, s), serves: servesOf(model, s)}
      for (let i = 0; i < triesToHit(n); i++) add(toolOf(s), pod(e), clusterIpEndpoint(s), s.port.port, how)
    }
  }),
  notApplicable: servicesNotApplicable,
  note: ({probes}) =>
    !probes.some((p) => p.check === 'service-hairpin')
      ? 'no Service has an endpoint it can be made to pick (ClientIP affinity with several endpoints sticks to one)'
      : 'tries until kube-proxy picks the client itself (odds of never under one in a million). It must see its ' +
        "node's address toward it (cni0's on a bridge), not its own: KUBE-SEP marks a connection from the endpoint to " +
        'itself for masquerade (-s EP -j KUBE-MARK-MASQ), because an answer to its own address would stay inside the pod ' +
        "and never pass the node's conntrack to be translated back; the bridge port's hairpin mode sends the packet back out the port it came in by",
  across: (model, tries) => {
    const pods = new Map(allPods(model).map((p) => [p.name, p]))
    return groupTries(tries).map((group) => {
      const self = pods.get(group[0].src.name)
      const {counts, text} = answered(model, group)
      const hits = self ? (counts.get(self.netns) ?? 0) : 0
      const failed = firstFailure(group)
      const mine = group.find((r) => r.servedBy === self?.netns)
      const node = model.nodes.find((n) => n.name === self?.node)
      const detail =
        failed ??
        (hits === 0 ? `kube-proxy never picked ${group[0].src.name} itself in ${plural(group.length, 'try', 'tries')}` : undefined)
      return groupResult(group[0], {
        expected: `itself at least once (${plural(group.length, 'try', 'tries')}), seeing ${self && node ? masqueradedTo(model, node, self) : "its node's address"}`,
        seen: `${text}${mine ? `; itself seen as ${mine.seen}` : ''}`,
        ok: !failed && hits > 0,
        ...(detail ? {detail} : {}),
      })
    })
  },
} satisfies ProbeCheck
