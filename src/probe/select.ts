// Which probes to run. Pure: the lab model and the options in, the list of probes out. Each
// check of the registry (checks/) plans its own (see ProbeCheck's plan), over pairs all or
// representative (pairs.ts); this file runs the plans and gives each probe what it must see.
import {type Endpoint, type LabModel} from '../model/types.js'
import {CHECKS} from './checks/index.js'
import type {AddProbe, ProbePlanContext, ProbeCheck, Walk} from './checks/types.js'
import {expectHttp, expectPing, externalEndpoint, nodeEndpoint, podEndpoint} from './expect.js'
import {withPolicy} from './policy.js'
import {SECTIONS, type CheckId, type Coverage, type Only, type Probe, type Section} from './types.js'

export const ALL_PAIRS_MAX_PODS = 100

export interface SelectOptions {
  full?: boolean
  only?: Only[]
  /** the no-NAT checks by UDP datagram (ProbePlanContext.echo) */
  udp?: boolean
}

export function coverageFor(model: LabModel, full = false): Coverage {
  const pods = model.nodes.reduce((n, node) => n + node.pods.length, 0)
  return full || pods <= ALL_PAIRS_MAX_PODS ? 'all-pairs' : 'representative'
}

/** The report sections a run covers: everything, or what --only picked (self-address comes with no-nat). */
export function sectionsFor(only?: Only[]): Section[] {
  if (!only || only.length === 0) return [...SECTIONS]
  const picked = new Set<Section>(only)
  if (picked.has('no-nat')) picked.add('self-address')
  return SECTIONS.filter((s) => picked.has(s))
}

/**
 * The checks that plan probes, in runs of registry neighbours that walk the same list: a run's
 * checks are planned together, item by item (pod → pod on the same node and on other nodes: pair
 * by pair), so the probes keep the order of the pairs.
 */
const PLANNED: ProbeCheck[][] = CHECKS.reduce<ProbeCheck[][]>((runs, c, i) => {
  if (!c.plan) return runs
  const before = CHECKS[i - 1]?.plan?.over
  if (before === c.plan.over) runs.at(-1)!.push(c)
  else runs.push([c])
  return runs
}, [])

export function selectProbes(model: LabModel, opts: SelectOptions = {}): Probe[] {
  const sections = new Set(sectionsFor(opts.only))
  const probes: Probe[] = []
  const ctx = planContext(model, coverageFor(model, opts.full), opts.udp ? 'udp' : 'http')
  const adder = probeAdder(model, probes)
  for (const run of PLANNED) {
    const plans = run.filter((c) => sections.has(c.section)).map((c) => ({plan: c.plan!, add: adder(c.id)}))
    if (plans.length === 0) continue
    for (const item of ctx.items(plans[0].plan.over)) for (const {plan, add} of plans) plan.probe(item, add, ctx)
  }
  return probes
}

function planContext(model: LabModel, coverage: Coverage, echo: ProbePlanContext['echo']): ProbePlanContext {
  // one endpoint object per pod, node and host, shared by all its probes (--full: 500k probes)
  const endpoints = new Map<object, Endpoint>()
  const ep =
    <T extends object>(make: (x: T) => Endpoint) =>
    (x: T): Endpoint => {
      let e = endpoints.get(x)
      if (!e) endpoints.set(x, (e = make(x)))
      return e
    }
  // and each list walked once, whichever check asks first (pod pairs: pod-pod, no-nat and policy)
  const lists = new Map<Walk<unknown>, readonly unknown[]>()
  const ctx: ProbePlanContext = {
    model,
    coverage,
    echo,
    pod: ep(podEndpoint),
    node: ep(nodeEndpoint),
    external: ep(externalEndpoint),
    items: <T>(walk: Walk<T>): readonly T[] => {
      let list = lists.get(walk) as readonly T[] | undefined
      if (!list) lists.set(walk, (list = walk.list(ctx)))
      return list
    },
  }
  return ctx
}

/** A check's AddProbe: each probe with what the model and the policies say it must see. */
function probeAdder(model: LabModel, probes: Probe[]): (check: CheckId) => AddProbe {
  // one expectation object per distinct expectation: a --full run has a handful of them
  const expectations = new Map<string, Probe['expect']>()
  return (check) => (tool, src, dst, port, service) => {
    if (service) {
      // a Service's: what it must see is worked out with the Service (services.ts); no policy verdict (policies/services section)
      probes.push({
        id: probes.length,
        check,
        tool,
        src,
        dst,
        expect: service.expect,
        serves: service.serves,
        ...(port === undefined ? {} : {port}),
      })
      return
    }
    const base = tool === 'ping' ? expectPing(model, src, dst) : expectHttp(model, src, dst)
    const {expect, policy} = withPolicy(model, tool, src, dst, port, base)
    const key = expect.reply ? `+${expect.seen ?? ''}` : `-${expect.why}`
    const shared = expectations.get(key) ?? expectations.set(key, expect).get(key)!
    // port and policy only where they apply: most probes keep the small shape of the literal
    const probe: Probe = {id: probes.length, check, tool, src, dst, expect: shared}
    if (port !== undefined) probe.port = port
    if (policy) probe.policy = policy
    probes.push(probe)
  }
}

/**
 * Every address that belongs to the lab's own namespaces, and its Services' ClusterIPs (which the
 * nodes' kube-proxy rules translate to pods of the lab): the only addresses a probe may target.
 */
export function labAddresses(model: LabModel): Set<string> {
  return new Set([...model.members.flatMap((m) => m.ips), ...(model.services?.list.map((s) => s.clusterIP) ?? [])])
}
