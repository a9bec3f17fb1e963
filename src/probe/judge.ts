// One probe's verdict: what it saw against what the model says it must see. Pure.
import type {Endpoint} from '../model/types.js'
import type {Observation, Probe, ProbeResult, ResultEndpoint} from './types.js'

const resultEndpoints = new WeakMap<Endpoint, ResultEndpoint>()
/** The endpoint as reported; one object per endpoint, shared by its results. */
function endpoint(e: Endpoint): ResultEndpoint {
  let r = resultEndpoints.get(e)
  if (!r)
    resultEndpoints.set(e, (r = {kind: e.kind, name: e.name, ip: e.ip, ...(e.node ? {node: e.node} : {}), ...(e.vpc ? {vpc: true} : {})}))
  return r
}

export function judge(probe: Probe, obs: Observation | undefined): ProbeResult {
  const base = {
    src: endpoint(probe.src),
    dst: endpoint(probe.dst),
    ...(probe.policy ? {policy: probe.policy} : {}),
    ...(obs?.ms !== undefined ? {ms: obs.ms} : {}),
    ...(probe.serves && probe.port !== undefined
      ? {service: {proto: probe.tool === 'udp' ? ('udp' as const) : ('tcp' as const), port: probe.port}}
      : {}),
  }
  if (!probe.expect.reply && probe.expect.refused) return judgeRefused(base, obs)
  if (probe.expect.reply && probe.expect.by && obs?.reply) return judgeServed(base, probe.expect.by, obs)
  const seenText = (o: Observation | undefined) =>
    !o ? 'not probed' : !o.reply ? 'no reply' : probe.tool !== 'ping' ? (o.seen ?? 'reply') : 'reply'
  if (!probe.expect.reply) {
    const ok = obs !== undefined && !obs.reply
    // blocked by a policy: how (refused at once, or a timeout) is worth showing
    const how = probe.policy && obs && !obs.reply ? obs.detail : undefined
    const detail =
      obs?.reply && probe.tool !== 'ping' && !probe.policy ? `answered, seeing ${obs.seen}` : obs ? how : 'the probe did not run'
    return {...base, expected: 'no reply', seen: seenText(obs), ok, ...(detail ? {detail} : {})}
  }
  const expected = probe.tool === 'http' && probe.expect.seen ? probe.expect.seen : 'reply'
  if (!obs) return {...base, expected, seen: 'not probed', ok: false, detail: 'the probe did not run'}
  if (!obs.reply) return {...base, expected, seen: 'no reply', ok: false, ...(obs.detail ? {detail: obs.detail} : {})}
  if (probe.tool === 'ping') return {...base, expected, seen: 'reply', ok: true, ...(obs.ttl !== undefined ? {ttl: obs.ttl} : {})}
  if (probe.tool === 'udp' && probe.expect.seen) {
    const ok = obs.seen === probe.expect.seen && (!obs.servedBy || obs.servedBy === probe.dst.netns)
    return {
      ...base,
      expected: probe.expect.seen,
      seen: obs.seen ?? 'reply',
      ok,
      ...(obs.servedBy && obs.servedBy !== probe.dst.netns ? {detail: `answered by ${obs.servedBy}, not ${probe.dst.netns}`} : {}),
    }
  }
  if (obs.servedBy && obs.servedBy !== probe.dst.netns) {
    return {...base, expected, seen: obs.seen ?? 'reply', ok: false, detail: `answered by ${obs.servedBy}, not ${probe.dst.netns}`}
  }
  const ok = obs.seen === probe.expect.seen
  const detail = !ok && obs.local && obs.local !== obs.seen ? `the client sent from ${obs.local}: rewritten on the way (NAT)` : undefined
  return {...base, expected, seen: obs.seen ?? 'reply', ok, ...(detail ? {detail} : {})}
}

/**
 * A Service without endpoints: refused (ECONNREFUSED), which only kube-proxy's REJECT makes: a
 * missing rule gives a timeout instead. The refusal is the evidence; how long it took is shown,
 * not judged (a loaded machine may take a while to hand it over, and it is still a refusal).
 */
function judgeRefused(base: Pick<ProbeResult, 'src' | 'dst'>, obs: Observation | undefined): ProbeResult {
  const expected = 'refused (ECONNREFUSED), not a timeout'
  if (!obs) return {...base, expected, seen: 'not probed', ok: false, detail: 'the probe did not run'}
  if (obs.reply)
    return {
      ...base,
      expected,
      seen: obs.seen ?? 'reply',
      ok: false,
      ...(obs.servedBy ? {servedBy: obs.servedBy} : {}),
      detail: `answered by ${obs.servedBy ?? 'something'}`,
    }
  // a node's own datagram meets the REJECT in its own OUTPUT chain: the send fails at once (EPERM), the ICMP error comes after
  const own = base.src.kind === 'node' && /not permitted/i.test(obs.detail ?? '')
  const refused = own || /refused/i.test(obs.detail ?? '')
  const how = own ? 'rejected by its own rule' : 'refused'
  const seen = refused ? `${how} after ${obs.ms ?? '?'} ms` : (obs.detail ?? 'no reply')
  return {
    ...base,
    expected,
    seen,
    ok: refused,
    ...(refused ? {} : {detail: 'not refused: dropped or lost, so the client waits for a timeout'}),
  }
}

/** A Service's probe that was answered: by one of its endpoints, which saw the source it must. */
function judgeServed(base: Pick<ProbeResult, 'src' | 'dst'>, by: Readonly<Record<string, string>>, obs: Observation): ProbeResult {
  const seen = obs.seen ?? 'reply'
  const served = obs.servedBy ? {servedBy: obs.servedBy} : {}
  const want = obs.servedBy === undefined ? undefined : by[obs.servedBy]
  if (want === undefined) {
    const some = [...new Set(Object.values(by))]
    const detail = obs.servedBy
      ? `answered by ${obs.servedBy}, which is no endpoint of the Service`
      : 'the answer did not say who served it'
    return {...base, expected: some.length === 1 ? some[0] : 'an endpoint', seen, ok: false, ...served, detail}
  }
  const ok = seen === want
  const detail = !ok && obs.local && obs.local !== seen ? `the client sent from ${obs.local}: rewritten on the way (NAT)` : undefined
  return {...base, expected: want, seen, ok, ...served, ...(detail ? {detail} : {})}
}

/** What the peers of one pod saw of it (no-nat-pod-pod): the source addresses, and the ones its kernel picked. */
export interface PeerView {
  seen: Map<string, number>
  used: Set<string>
  count: number
}

/** Add one no-nat-pod-pod observation to what the peers saw of its source pod (the self-address check reads them). */
export function notePeerView(views: Map<string, PeerView>, p: Probe, o: Observation | undefined): void {
  if (p.check !== 'no-nat-pod-pod' || !o?.reply || !o.seen) return
  const v = views.get(p.src.name) ?? {seen: new Map(), used: new Set(), count: 0}
  v.seen.set(o.seen, (v.seen.get(o.seen) ?? 0) + 1)
  if (o.local) v.used.add(o.local)
  v.count++
  views.set(p.src.name, v)
}
