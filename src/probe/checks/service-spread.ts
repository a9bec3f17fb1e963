import {plural} from '../../core/plural.js'
import {
  answered,
  endpointPods,
  firstFailure,
  groupResult,
  groupTries,
  servicePortOf,
  servicesNotApplicable,
  serviceLabel,
  triesToSpread,
} from '../services.js'
import type {ProbeCheck} from './types.js'
import {planTries} from './walks.js'

export const serviceSpread = {
  id: 'service-spread',
  section: 'services',
  title: 'spread: every endpoint of a Service answers at least once',
  // Services without affinity and with two endpoints or more: one client, enough tries
  plan: planTries(
    (s) => s.svc.sessionAffinity !== 'ClientIP' && s.port.endpoints.length >= 2,
    (s) => triesToSpread(s.port.endpoints.length),
  ),
  notApplicable: servicesNotApplicable,
  note: ({model, probes}) => {
    const tries = new Map<string, number>()
    for (const p of probes) if (p.check === 'service-spread') tries.set(p.dst.name, (tries.get(p.dst.name) ?? 0) + 1)
    if (tries.size === 0) return 'no Service without session affinity has two endpoints or more'
    const ports = new Map(
      (model.services?.list ?? []).flatMap((svc) => svc.ports.map((port) => [serviceLabel({svc, port}), port.endpoints.length])),
    )
    return (
      'kube-proxy picks an endpoint at random (statistic --probability 1/n, 1/(n−1), …): from one pod, tries enough that a ' +
      `working Service misses one with odds under one in a million — ${[...tries].map(([name, n]) => `${name} ${n} tries for ${ports.get(name)} endpoints`).join(', ')}`
    )
  },
  across: (model, tries) =>
    groupTries(tries).map((group) => {
      const s = servicePortOf(model, group[0])
      const want = s ? endpointPods(model, s) : []
      const {counts, text} = answered(model, group)
      const missing = want.filter((p) => !counts.has(p.netns)).map((p) => p.name)
      const failed = firstFailure(group)
      const detail = failed ?? (missing.length > 0 ? `never answered: ${missing.join(', ')}` : undefined)
      return groupResult(group[0], {
        expected: `each of ${want.length} endpoints in ${plural(group.length, 'try', 'tries')}`,
        seen: text,
        ok: !failed && missing.length === 0,
        ...(detail ? {detail} : {}),
      })
    }),
} satisfies ProbeCheck
