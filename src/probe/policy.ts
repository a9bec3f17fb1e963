// The probe in a lab with policies. Pure. Every probe that involves a pod gets the policies'
// verdict on its flow (src/model/verdict.ts): a denied one must go unanswered, an allowed one
// must get through with the right source address, whichever section it belongs to. The policy
// section adds the ports the policies name (TCP and UDP, where the echo service also listens)
// and, where the underlay routes pod subnets, external hosts → pods; the report then sorts every
// probe with a verdict into allowed-and-reachable, denied-and-blocked and violations.
import type {LabModel, Endpoint} from '../model/types.js'
import {decide, decidingPolicies, explain, serviceText} from '../model/verdict.js'
import type {PolicyProtocol} from '../topology/types.js'
import {expectHttp} from './expect.js'
import type {Expectation, Probe, ProbePolicy} from './types.js'

/**
 * The TCP and UDP ports any policy names: the echo service listens on each, in every target. A
 * range gives its two ends, a named port the number of each pod's port of that name.
 */
export function namedPorts(model: LabModel): {tcp: number[]; udp: number[]} {
  const tcp = new Set<number>()
  const udp = new Set<number>()
  const pods = model.nodes.flatMap((n) => n.pods)
  for (const p of model.policies ?? []) {
    for (const r of [...p.ingress, ...p.egress]) {
      for (const port of r.ports ?? []) {
        const set = port.protocol === 'TCP' ? tcp : port.protocol === 'UDP' ? udp : undefined
        if (!set) continue
        if (port.name !== undefined)
          pods.forEach((pod) => pod.ports?.forEach((pp) => pp.name === port.name && pp.protocol === port.protocol && set.add(pp.port)))
        if (port.port !== undefined) set.add(port.port)
        if (port.endPort !== undefined) set.add(port.endPort)
      }
    }
  }
  const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b)
  return {tcp: sorted(tcp), udp: sorted(udp)}
}

function protocolOf(tool: Probe['tool']): PolicyProtocol {
  return tool === 'ping' ? 'ICMP' : tool === 'udp' ? 'UDP' : 'TCP'
}

/**
 * The expectation of a probe once the policies have spoken. `base` is what the network model
 * alone expects; when that is no reply already (the outside has no route back), the policies
 * decide nothing and the probe carries no verdict.
 */
export function withPolicy(
  model: LabModel,
  tool: Probe['tool'],
  src: Endpoint,
  dst: Endpoint,
  port: number | undefined,
  base: Expectation,
): {expect: Expectation; policy?: ProbePolicy} {
  if (!model.policies || !base.reply || (src.kind !== 'pod' && dst.kind !== 'pod')) return {expect: base}
  const protocol = protocolOf(tool)
  // the address the receiving pod's node sees: a node may come from another of its addresses
  const seenAs = src.kind === 'node' && dst.kind === 'pod' ? expectHttp(model, src, dst) : undefined
  const v = decide(model, {
    src,
    dst,
    protocol,
    port: protocol === 'ICMP' ? undefined : port,
    ...(seenAs?.reply && seenAs.seen ? {seenAs: seenAs.seen} : {}),
  })
  const policy: ProbePolicy = {
    verdict: v.allowed ? 'allowed' : 'denied',
    service: serviceText(protocol, port),
    why: explain(v),
    policies: decidingPolicies(v),
  }
  return {expect: v.allowed ? base : {reply: false, why: `${policy.service} ${policy.why}`}, policy}
}
