// Policies as written -> policies resolved to the lab's pods. Pure. Kubernetes' semantics: a
// policy lives in a namespace and selects pods of that namespace; a selector selects what carries
// every one of its labels and passes every one of its matchExpressions ({} selects everything); a
// peer's podSelector alone selects pods of the policy's namespace, a namespaceSelector the pods of
// the namespaces it selects (with a podSelector: those pods of them); policyTypes, when absent, is
// Ingress plus Egress when the policy has egress rules. A selector that matches nothing, or a
// named port no pod has, is valid (as in Kubernetes) but worth a warning.
// Which pods a selector matches is worked out again whenever labels change (reselect: netlab label).
// The verdict (src/model/verdict.ts) decides the same questions on its own, from the selectors.
import {effectiveTypes, policyLabel} from '../topology/policies.js'
import {throwAll, topologyWarning, type TopologyWarning, TopologyError} from '../topology/errors.js'
import type {ExpressionSpec, PeerSpec, PolicySpec, PortSpec, RuleSpec, SelectorSpec} from '../topology/types.js'
import {parseCidr} from '../core/ipv4.js'
import {DEFAULT_NAMESPACE} from '../core/names.js'
import {namespaceOf, namespacesOf} from '../model/namespaces.js'
import type {LabelExpression, LabModel, PodModel, PolicyModel, PolicyPeer, PolicyPort, PolicyRule} from '../model/types.js'

/** What resolving needs of the lab: its pods (labels, namespaces, ports) and its namespaces. */
type Lab = Pick<LabModel, 'nodes' | 'namespaces'>

interface Selector {
  labels: Record<string, string>
  expressions?: LabelExpression[]
}

/** A policy's or a pod peer's podSelector. */
const podSelector = (x: {selector: Record<string, string>; expressions?: LabelExpression[]}): Selector => ({
  labels: x.selector,
  expressions: x.expressions,
})

/** The pods (or namespaces) `sel` selects: the set of those matching, computed once per selector. */
function selected<T extends {labels?: Record<string, string>}>(sel: Selector, items: T[]): T[] {
  return items.filter((item) => {
    const labels = item.labels ?? {}
    if (!Object.entries(sel.labels).every(([k, v]) => labels[k] === v)) return false
    return (sel.expressions ?? []).every((e) => {
      const has = Object.hasOwn(labels, e.key)
      if (e.operator === 'Exists') return has
      if (e.operator === 'DoesNotExist') return !has
      const among = has && e.values!.includes(labels[e.key])
      return e.operator === 'In' ? among : !among
    })
  })
}

/** "{tier: db}", "{} (every pod)", "{tier: db, env NotIn (prod)}" — a selector as the user wrote it */
function selectorText(sel: Selector, every = 'every pod'): string {
  const parts = [
    ...Object.entries(sel.labels).map(([k, v]) => `${k}: ${v}`),
    ...(sel.expressions ?? []).map((e) => `${e.key} ${e.operator}${e.values ? ` (${e.values.join(', ')})` : ''}`),
  ]
  return parts.length === 0 ? `{} (${every})` : `{${parts.join(', ')}}`
}

const expressionsOf = (s: SelectorSpec): {expressions?: LabelExpression[]} =>
  s.expressions && s.expressions.length > 0
    ? {
        expressions: s.expressions.map((e: ExpressionSpec) => ({
          key: e.key,
          operator: e.operator,
          ...(e.values.length > 0 ? {values: e.values} : {}),
        })),
      }
    : {}

/**
 * Every policy's pods and every pod peer's pods, from the labels the lab's pods and namespaces
 * carry now: at build, and again after `netlab label`. Pure: new policies, the old untouched.
 */
export function reselect(lab: Lab, policies: PolicyModel[]): PolicyModel[] {
  const pods = lab.nodes.flatMap((n) => n.pods)
  const namespaces = namespacesOf(lab)
  const podsOf = (ns: string[]) => pods.filter((p) => ns.includes(namespaceOf(p)))
  return policies.map((p) => {
    const own = podsOf([namespaceOf(p)])
    const peer = (x: PolicyPeer): PolicyPeer => {
      if (x.kind === 'ipBlock') return x
      const where = x.namespaceSelector ? selected(x.namespaceSelector, namespaces).map((n) => n.name) : [namespaceOf(p)]
      return {...x, pods: selected(podSelector(x), podsOf(where)).map((q) => q.name)}
    }
    const rules = (rs: PolicyRule[]) => rs.map((r) => (r.peers ? {...r, peers: r.peers.map(peer)} : r))
    return {...p, pods: selected(podSelector(p), own).map((q) => q.name), ingress: rules(p.ingress), egress: rules(p.egress)}
  })
}

/** Does some pod of the lab serve the port named so, with this protocol? */
const somePodServes = (pods: PodModel[], port: PortSpec) =>
  pods.some((p) => p.ports?.some((pp) => pp.name === port.port!.value && pp.protocol === port.protocol.value))

export function resolvePolicies(specs: PolicySpec[], lab: Lab, warnings: TopologyWarning[] = []): PolicyModel[] {
  const pods = lab.nodes.flatMap((n) => n.pods)
  const namespaces = namespacesOf(lab)
  // every bad block of every policy is reported, not the first (as the parser does)
  const errors: TopologyError[] = []
  const unresolved = specs.map((spec) => {
    const ns = spec.namespace?.value ?? DEFAULT_NAMESPACE
    if (spec.namespace && !namespaces.some((n) => n.name === ns))
      errors.push(new TopologyError(spec.namespace.pos, `policy ${spec.name.value}: namespace "${ns}" is not in namespaces:`))
    const ignored: Partial<Record<'ingress' | 'egress', TopologyWarning>> = {}
    return {spec, policy: policyModel(spec, errors, ignored), ignored}
  })
  throwAll(errors)
  const resolved = reselect(
    lab,
    unresolved.map((u) => u.policy),
  )
  // what matches nothing: valid, as in Kubernetes, but probably a mistake
  resolved.forEach((p, i) => {
    const spec = unresolved[i].spec
    const name = policyLabel(p.name, p.namespace)
    if (p.pods.length === 0)
      warnings.push(
        topologyWarning(
          spec.podSelector.pos,
          `policy ${name}: podSelector ${selectorText(podSelector(p))} matches no pod` +
            `${p.namespace ? ` of namespace ${p.namespace}` : ''}, so the policy isolates nothing (Kubernetes accepts such a policy too)`,
        ),
      )
    for (const dir of ['ingress', 'egress'] as const) {
      const ignored = unresolved[i].ignored[dir]
      if (ignored) warnings.push(ignored)
      const rules = p.types.includes(dir === 'ingress' ? 'Ingress' : 'Egress') ? (spec[dir] ?? []) : []
      rules.forEach((r, k) => {
        const where = `policy ${name}: ${dir}[${k}]`
        r.peers?.forEach((peerSpec, j) => {
          const peer = p[dir][k].peers?.[j]
          if (peer?.kind !== 'pods' || peer.pods.length > 0 || 'ipBlock' in peerSpec) return
          const sel = peerSpec.podSelector ?? peerSpec.namespaceSelector!
          const what = peerSpec.podSelector
            ? `podSelector ${selectorText(podSelector(peer))}${peer.namespaceSelector ? ` in namespaces ${selectorText(peer.namespaceSelector, 'every namespace')}` : ''}`
            : `namespaceSelector ${selectorText(peer.namespaceSelector!, 'every namespace')}`
          warnings.push(
            topologyWarning(
              sel.pos,
              `${where}.${dir === 'ingress' ? 'from' : 'to'}[${j}].${what} matches no pod: this peer allows nothing`,
            ),
          )
        })
        r.ports?.forEach((port, j) => {
          if (port.protocol.value === 'SCTP')
            warnings.push(
              topologyWarning(
                port.protocol.pos,
                `${where}.ports[${j}]: SCTP: netlab's rules carry no SCTP (this kernel has none): this port allows nothing, ` +
                  'and the pods the policy selects stay isolated',
              ),
            )
          else if (typeof port.port?.value === 'string' && !somePodServes(pods, port))
            warnings.push(
              topologyWarning(
                port.port.pos,
                `${where}.ports[${j}]: no pod has a ${port.protocol.value} port named "${port.port.value}": this port allows nothing`,
              ),
            )
        })
      })
    }
  })
  return resolved
}

/** One policy's model, its selectors as written and no pod resolved yet (reselect does that). */
function policyModel(
  spec: PolicySpec,
  errors: TopologyError[],
  ignored: Partial<Record<'ingress' | 'egress', TopologyWarning>>,
): PolicyModel {
  const name = spec.name.value
  const label = policyLabel(name, spec.namespace?.value)
  const types = effectiveTypes(spec)
  const rules = (dir: 'ingress' | 'egress'): PolicyRule[] => {
    const type = dir === 'ingress' ? 'Ingress' : 'Egress'
    if (!types.includes(type)) {
      if ((spec[dir]?.length ?? 0) > 0)
        ignored[dir] = topologyWarning(
          spec[dir === 'ingress' ? 'ingressPos' : 'egressPos'] ?? spec.pos,
          `policy ${label}: its ${dir} rules are ignored: policyTypes does not list ${type}`,
        )
      return []
    }
    return (spec[dir] ?? []).map((r, k) => rule(r, `policy ${label}: ${dir}[${k}].${dir === 'ingress' ? 'from' : 'to'}`, errors))
  }
  return {
    name,
    ...(spec.namespace && spec.namespace.value !== DEFAULT_NAMESPACE ? {namespace: spec.namespace.value} : {}),
    selector: spec.podSelector.labels,
    ...expressionsOf(spec.podSelector),
    pods: [],
    types,
    ingress: rules('ingress'),
    egress: rules('egress'),
  }
}

function rule(r: RuleSpec, where: string, errors: TopologyError[]): PolicyRule {
  const out: PolicyRule = {}
  // absent or empty: anyone, every port (Kubernetes)
  if (r.peers && r.peers.length > 0) out.peers = r.peers.map((p, k) => peer(p, `${where}[${k}]`, errors))
  if (r.ports && r.ports.length > 0) out.ports = r.ports.map(port)
  return out
}

function port(p: PortSpec): PolicyPort {
  const v = p.port?.value
  if (typeof v === 'string') return {protocol: p.protocol.value, name: v}
  return {protocol: p.protocol.value, ...(v !== undefined ? {port: v} : {}), ...(p.endPort ? {endPort: p.endPort.value} : {})}
}

function peer(p: PeerSpec, where: string, errors: TopologyError[]): PolicyPeer {
  if (!('ipBlock' in p)) {
    const pods = p.podSelector ?? {labels: {}, pos: p.pos}
    return {
      kind: 'pods',
      selector: pods.labels,
      ...expressionsOf(pods),
      ...(p.namespaceSelector ? {namespaceSelector: {labels: p.namespaceSelector.labels, ...expressionsOf(p.namespaceSelector)}} : {}),
      pods: [],
    }
  }
  const c = parseCidr(p.ipBlock.value)
  if (typeof c === 'string') {
    errors.push(new TopologyError(p.ipBlock.pos, `${where}.ipBlock: ${c}`))
    return {kind: 'ipBlock', cidr: ''}
  }
  const except = (p.except ?? []).flatMap((e) => {
    const x = parseCidr(e.value)
    // Kubernetes: each except is a block strictly inside cidr
    const problem = typeof x === 'string' ? x : !c.covers(x) || x.prefix <= c.prefix ? `is not strictly inside cidr ${c}` : undefined
    if (problem) errors.push(new TopologyError(e.pos, `${where}.ipBlock.except: ${typeof x === 'string' ? x : `${e.value} ${problem}`}`))
    return problem ? [] : [String(x)]
  })
  return {kind: 'ipBlock', cidr: c.toString(), ...(except.length > 0 ? {except} : {})}
}
