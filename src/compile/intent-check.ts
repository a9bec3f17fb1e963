// An interrupted policy apply's or label change's intent (policy-plan.json) is read back from disk
// and, once its actions are done, becomes the lab's model: so every label and policy in it is
// checked first, as the topology's parser would check them (names, label keys and values,
// operators, protocols, ports, address blocks), not trusted. Pure.
import {parseCidr} from '../core/ipv4.js'
import {NAME_RE, portNameProblem} from '../topology/names.js'
import {labelKeyProblem, labelValueProblem} from '../topology/policies.js'
import {isRecord} from '../core/record.js'

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist']
const PROTOCOLS = ['TCP', 'UDP', 'ICMP', 'SCTP']
const isPort = (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535

/** Why a map is not labels a topology could give (keys and values as Kubernetes takes them), or undefined. */
export function labelsProblem(v: unknown): string | undefined {
  if (!isRecord(v)) return 'labels that are not a map'
  for (const [k, x] of Object.entries(v)) {
    const problem = typeof x !== 'string' ? `label ${JSON.stringify(k)} is not a string` : (labelKeyProblem(k) ?? labelValueProblem(x))
    if (problem) return problem
  }
  return undefined
}

function expressionsProblem(v: unknown): string | undefined {
  if (v === undefined) return undefined
  if (!Array.isArray(v)) return 'matchExpressions that are not a list'
  for (const e of v) {
    if (!isRecord(e) || typeof e.key !== 'string' || !OPERATORS.includes(e.operator as string)) return 'an expression that is not one'
    const values = e.values ?? []
    if (!Array.isArray(values) || values.some((x) => typeof x !== 'string' || labelValueProblem(x)))
      return 'an expression with values that are not label values'
    const key = labelKeyProblem(e.key)
    if (key) return key
  }
  return undefined
}

function peerProblem(p: unknown): string | undefined {
  if (!isRecord(p)) return 'a peer that is not one'
  if (p.kind === 'ipBlock') {
    const blocks = [p.cidr, ...(Array.isArray(p.except) ? p.except : p.except === undefined ? [] : [null])]
    return blocks.every((b) => typeof b === 'string' && typeof parseCidr(b) !== 'string')
      ? undefined
      : 'an ipBlock that is not an address block'
  }
  if (p.kind !== 'pods' || !Array.isArray(p.pods) || !p.pods.every((x) => typeof x === 'string')) return 'a peer that is not one'
  const ns = p.namespaceSelector
  return (
    labelsProblem(p.selector) ??
    expressionsProblem(p.expressions) ??
    (ns === undefined
      ? undefined
      : isRecord(ns)
        ? (labelsProblem(ns.labels) ?? expressionsProblem(ns.expressions))
        : 'a namespaceSelector that is not one')
  )
}

function portProblem(p: unknown): string | undefined {
  if (!isRecord(p) || !PROTOCOLS.includes(p.protocol as string)) return 'a port with a protocol netlab does not know'
  if (p.port !== undefined && !isPort(p.port)) return 'a port number out of range'
  if (p.endPort !== undefined && (!isPort(p.endPort) || !isPort(p.port) || (p.endPort as number) < (p.port as number)))
    return 'an endPort that is not a range'
  if (p.name !== undefined && (typeof p.name !== 'string' || portNameProblem(p.name))) return 'a port name that is not one'
  return undefined
}

/** Why one policy of an intent is not one netlab's parser and model could have made, or undefined. */
export function policyProblem(p: unknown): string | undefined {
  if (!isRecord(p) || typeof p.name !== 'string' || !NAME_RE.test(p.name)) return 'a policy without a valid name'
  if (p.namespace !== undefined && (typeof p.namespace !== 'string' || !NAME_RE.test(p.namespace)))
    return `policy ${p.name}: a bad namespace`
  if (!Array.isArray(p.pods) || !p.pods.every((x) => typeof x === 'string')) return `policy ${p.name}: no list of pods`
  if (!Array.isArray(p.types) || !p.types.every((t) => t === 'Ingress' || t === 'Egress')) return `policy ${p.name}: bad policyTypes`
  const rules = [p.ingress, p.egress]
  if (!rules.every(Array.isArray)) return `policy ${p.name}: no lists of rules`
  for (const r of rules.flat() as unknown[]) {
    if (!isRecord(r)) return `policy ${p.name}: a rule that is not one`
    if (r.peers !== undefined && !Array.isArray(r.peers)) return `policy ${p.name}: peers that are not a list`
    if (r.ports !== undefined && !Array.isArray(r.ports)) return `policy ${p.name}: ports that are not a list`
    const problem = [...((r.peers as unknown[]) ?? []).map(peerProblem), ...((r.ports as unknown[]) ?? []).map(portProblem)].find(Boolean)
    if (problem) return `policy ${p.name}: ${problem}`
  }
  const own = labelsProblem(p.selector) ?? expressionsProblem(p.expressions)
  return own ? `policy ${p.name}: ${own}` : undefined
}
