import {plural} from '../../core/plural.js'
import {
  answered,
  clusterIpEndpoint,
  firstFailure,
  fromPod,
  groupResult,
  groupTries,
  servesOf,
  servicesNotApplicable,
  toolOf,
  triesClient,
  triesToStick,
} from '../services.js'
import {planOver, type ProbeCheck} from './types.js'
import {servicePortsOnce} from './walks.js'

export const serviceAffinity = {
  id: 'service-affinity',
  section: 'services',
  title: 'ClientIP affinity: one client, one endpoint, every try',
  plan: planOver(servicePortsOnce, (s, add, {model, pod}) => {
    const client = triesClient(model, s)
    if (!client || s.svc.sessionAffinity !== 'ClientIP') return
    const how = {expect: fromPod(model, client, s), serves: servesOf(model, s)}
    for (let i = 0; i < triesToStick(s.port.endpoints.length); i++) add(toolOf(s), pod(client), clusterIpEndpoint(s), s.port.port, how)
  }),
  notApplicable: servicesNotApplicable,
  note: ({probes}) =>
    !probes.some((p) => p.check === 'service-affinity')
      ? 'no Service with sessionAffinity ClientIP has endpoints'
      : 'one pod tries the Service again and again, each try a new connection: kube-proxy remembers the endpoint it first ' +
        'picked for that client address (-m recent --rcheck, --set) and sends every later one there; enough tries that a ' +
        'random pick would have left it with odds under one in a million',
  across: (model, tries) =>
    groupTries(tries).map((group) => {
      const {counts, text} = answered(model, group)
      const failed = firstFailure(group)
      const detail = failed ?? (counts.size > 1 ? `${counts.size} endpoints answered one client` : undefined)
      return groupResult(group[0], {
        expected: `one endpoint, ${plural(group.length, 'try', 'tries')}`,
        seen: text,
        ok: !failed && counts.size === 1,
        ...(detail ? {detail} : {}),
      })
    }),
} satisfies ProbeCheck
