// Policies as written -> policies resolved to the lab's pods. Pure. Kubernetes' semantics: a
// selector selects the pods that carry every one of its labels ({} selects every pod); policyTypes,
// when absent, is Ingress plus Egress when the policy has egress rules. A selector that matches no
// pod is valid (as in Kubernetes) but worth a warning.
import {effectiveTypes} from '../topology/policies.js'
import {throwAll, topologyWarning, type TopologyWarning, TopologyError} from '../topology/errors.js'
import type {PeerSpec, PolicySpec, RuleSpec, SelectorSpec} from '../topology/types.js'
import {parseCidr} from '../core/ipv4.js'
import type {PolicyModel, PolicyPeer, PolicyRule} from '../model/types.js'

interface Labelled {
  name: string
  labels?: Record<string, string>
}

function matches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v)
}

/** "{tier: db}", "{}" — a selector as the user wrote it */
function selectorText(selector: Record<string, string>): string {
  const entries = Object.entries(selector)
  return entries.length === 0 ? '{} (every pod)' : `{${entries.map(([k, v]) => `${k}: ${v}`).join(', ')}}`
}

export function resolvePolicies(specs: PolicySpec[], pods: Labelled[], warnings: TopologyWarning[] = []): PolicyModel[] {
  const select = (s: SelectorSpec) => pods.filter((p) => matches(s.labels, p.labels)).map((p) => p.name)
  // every bad block of every policy is reported, not the first (as the parser does)
  const errors: TopologyError[] = []
  const resolved = specs.map((spec) => {
    const name = spec.name.value
    const selected = select(spec.podSelector)
    if (selected.length === 0) {
      warnings.push(
        topologyWarning(
          spec.podSelector.pos,
          `policy ${name}: podSelector ${selectorText(spec.podSelector.labels)} matches no pod, so ` +
            `the policy isolates nothing (Kubernetes accepts such a policy too)`,
        ),
      )
    }
    const types = effectiveTypes(spec)
    const rules = (dir: 'ingress' | 'egress'): PolicyRule[] => {
      const given = spec[dir] ?? []
      const type = dir === 'ingress' ? 'Ingress' : 'Egress'
      if (!types.includes(type)) {
        if (given.length > 0)
          warnings.push(
            topologyWarning(
              spec[dir === 'ingress' ? 'ingressPos' : 'egressPos'] ?? spec.pos,
              `policy ${name}: its ${dir} rules are ignored: policyTypes does not list ${type}`,
            ),
          )
        return []
      }
      return given.map((r, k) => rule(r, `policy ${name}: ${dir}[${k}]`, dir === 'ingress' ? 'from' : 'to'))
    }
    const rule = (r: RuleSpec, where: string, key: string): PolicyRule => {
      const out: PolicyRule = {}
      // absent or empty: anyone, every port (Kubernetes)
      if (r.peers && r.peers.length > 0) out.peers = r.peers.map((p, k) => peer(p, `${where}.${key}[${k}]`))
      if (r.ports && r.ports.length > 0)
        out.ports = r.ports.map((p) => (p.port ? {protocol: p.protocol.value, port: p.port.value} : {protocol: p.protocol.value}))
      return out
    }
    const peer = (p: PeerSpec, where: string): PolicyPeer => {
      if ('ipBlock' in p) {
        const c = parseCidr(p.ipBlock.value)
        if (typeof c === 'string') errors.push(new TopologyError(p.ipBlock.pos, `${where}.ipBlock: ${c}`))
        return {kind: 'ipBlock', cidr: typeof c === 'string' ? '' : c.toString()}
      }
      const matched = select(p.podSelector)
      if (matched.length === 0)
        warnings.push(
          topologyWarning(
            p.podSelector.pos,
            `${where}.podSelector ${selectorText(p.podSelector.labels)} matches no pod: this peer ` + `allows nothing`,
          ),
        )
      return {kind: 'pods', selector: p.podSelector.labels, pods: matched}
    }
    return {name, selector: spec.podSelector.labels, pods: selected, types, ingress: rules('ingress'), egress: rules('egress')}
  })
  throwAll(errors)
  return resolved
}
