// The probe in a lab with policies. Pure. Every probe that involves a pod gets the policies'
// verdict on its flow (src/model/verdict.ts): a denied one must go unanswered, an allowed one
// must get through with the right source address, whichever section it belongs to. The policy
// section adds the ports the policies name and the pods declare (TCP and UDP, where the echo service also listens)
// and, where the underlay routes pod subnets, external hosts → pods; the report then sorts every
// probe with a verdict into allowed-and-reachable, denied-and-blocked and violations.
import type {LabModel, Endpoint} from '../model/types.js'
import {decide, decidingPolicies, explain, serviceText} from '../model/verdict.js'
import type {PolicyProtocol} from '../topology/types.js'
import {expectHttp} from './expect.js'
import type {Expectation, Probe, ProbePolicy} from './types.js'

/**
 * The TCP and UDP ports the policy section probes: those any policy names (a range: its two
 * ends), and those any pod declares (its ports:, which is what a named port resolves to, and what
 * upstream's e2e matrix probes even where no policy names a port). The echo service listens on
 * each, in every target.
 */
export function servedPorts(model: LabModel): {tcp: number[]; udp: number[]} {
  const tcp = new Set<number>()
  const udp = new Set<number>()
  const add = (protocol: string, port: number | undefined) => {
    if (port === undefined) return
    if (protocol === 'TCP') tcp.add(port)
    if (protocol === 'UDP') udp.add(port)
  }
  for (const p of model.policies ?? [])
    for (const r of [...p.ingress, ...p.egress])
      for (const x of r.ports ?? []) {
        add(x.protocol, x.port)
        add(x.protocol, x.endPort)
      }
  for (const n of model.nodes) for (const pod of n.pods) for (const x of pod.ports ?? []) add(x.protocol, x.port)
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
