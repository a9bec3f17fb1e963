import {plural} from '../../core/plural.js'
import {answered, firstFailure, groupResult, groupTries, servicesNotApplicable, triesToStick} from '../services.js'
import type {ProbeCheck} from './types.js'
import {planTries} from './walks.js'

export const serviceAffinity = {
  id: 'service-affinity',
  section: 'services',
  title: 'ClientIP affinity: one client, one endpoint, every try',
  plan: planTries(
    (s) => s.svc.sessionAffinity === 'ClientIP',
    (s) => triesToStick(s.port.endpoints.length),
  ),
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
