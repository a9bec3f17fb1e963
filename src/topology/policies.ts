// Pod labels, the namespaces: list and the policies: list, as Kubernetes NetworkPolicy writes
// them: a policy in a namespace, a pod selector, ingress rules (from), egress rules (to) whose
// peers are pods (podSelector, namespaceSelector, or both) or address blocks (ipBlock, except),
// ports (TCP, UDP, by number or a pod port's name, endPort ranges; ICMP, a netlab extension) and
// policyTypes. Syntax only, with a position for every value; which pods a selector matches, and
// whether a named port is anyone's, is decided with the model (src/compile/policies.ts), which
// also warns about selectors that match no pod.
import {isMap, isScalar, isSeq, type Node as YamlNode} from 'yaml'
import {NAME_RE, portNameProblem} from './names.js'
import type {YamlWalker as Walker} from './walker.js'
import {DEFAULT_NAMESPACE} from '../core/names.js'
import {
  SELECTOR_OPERATORS,
  type ExpressionSpec,
  type Located,
  type NamespaceSpec,
  type PeerSpec,
  type PolicyProtocol,
  type PolicySpec,
  type PolicyType,
  type PortSpec,
  type RuleSpec,
  type SelectorOperator,
  type SelectorSpec,
} from './types.js'

type Entry = {key: YamlNode; value: YamlNode | null}

const POLICY_PROTOCOLS: readonly PolicyProtocol[] = ['TCP', 'UDP', 'SCTP', 'ICMP']
const POLICY_TYPES: readonly PolicyType[] = ['Ingress', 'Egress']
/** Kubernetes' limit on an object name (DNS label); a policy's name also goes into iptables comments. */
const POLICY_NAME_MAX = 63
/** more than a lab needs; each one is rules on every node */
const MAX_POLICIES = 200

// Kubernetes label syntax: an optional DNS-subdomain prefix and "/", then a name of at most 63
// characters; values are empty or like a name.
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/')
  const [prefix, name] = slash >= 0 ? [key.slice(0, slash), key.slice(slash + 1)] : [undefined, key]
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)))
    return `label key ${JSON.stringify(key)}: the prefix before "/" must be a DNS subdomain (example.com)`
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name))
    return (
      `label key ${JSON.stringify(key)} is not allowed: at most 63 letters, digits, "-", "_" and ` +
      `".", starting and ending with a letter or digit`
    )
  return undefined
}

export function labelValueProblem(value: string): string | undefined {
  if (value === '' || (value.length <= 63 && LABEL_NAME.test(value))) return undefined
  return (
    `label value ${JSON.stringify(value)} is not allowed: empty, or at most 63 letters, ` +
    `digits, "-", "_" and ".", starting and ending with a letter or digit`
  )
}

/** labels: {key: value, …}; values are strings, as in Kubernetes (quote a number: "2"). */
export function parseLabels(w: Walker, entry: Entry, where: string): Record<string, string> {
  const v = entry.value
  if (v === null) return {}
  return labelMap(w, v, where)
}

function labelMap(w: Walker, node: YamlNode, where: string): Record<string, string> {
  w.noAlias(node, where)
  if (!isMap(node)) w.fail(node, `${where} must be a mapping of labels (key: value)`)
  const out: Record<string, string> = {}
  for (const pair of node.items) {
    const key = pair.key as YamlNode
    w.noAlias(key, where)
    if (!isScalar(key) || typeof key.value !== 'string') w.fail(key, `${where}: label keys must be strings`)
    const name = key.value as string
    if (name === '<<') w.fail(key, `${where}: YAML merge keys (<<) are not supported in topology files`)
    const keyProblem = labelKeyProblem(name)
    if (keyProblem) w.fail(key, `${where}: ${keyProblem}`)
    const value = (pair.value ?? null) as YamlNode | null
    w.noAlias(value, `${where}.${name}`)
    if (!isScalar(value) || typeof value.value !== 'string') {
      const hint =
        isScalar(value) && (typeof value.value === 'number' || typeof value.value === 'boolean')
          ? `; quote it: "${String(value.value)}"`
          : ''
      w.fail(value ?? key, `${where}.${name}: a label value must be a string${hint}`)
    }
    const valueProblem = labelValueProblem(value.value as string)
    if (valueProblem) w.fail(value, `${where}.${name}: ${valueProblem}`)
    out[name] = value.value as string
  }
  return out
}

/**
 * A label selector: a mapping of labels ({app: db}; {} selects everything), or Kubernetes' own
 * form {matchLabels: {…}, matchExpressions: [{key, operator, values}]} (policies only: a Service's
 * selector is labels, as in Kubernetes).
 */
function selector(w: Walker, entry: Entry, where: string, opts: {expressions?: boolean} = {}): SelectorSpec {
  const v = entry.value
  if (v === null || !isMap(v)) w.fail(v ?? entry.key, `${where} must be a mapping of labels ({} selects every pod)`)
  const keys = v.items.map((p) => (isScalar(p.key) ? p.key.value : undefined))
  if (keys.includes('matchLabels') || keys.includes('matchExpressions')) {
    const m = w.map(v, where, ['matchLabels', 'matchExpressions'])
    const expr = m.get('matchExpressions')
    if (expr && !opts.expressions)
      w.fail(expr.key, `${where}: matchExpressions is not supported here; select by labels (matchLabels, or the labels themselves)`)
    const labels = m.get('matchLabels')
    const out: SelectorSpec = {labels: labels?.value ? labelMap(w, labels.value, `${where}.matchLabels`) : {}, pos: w.pos(v)}
    if (expr)
      out.expressions = list(w, expr, `${where}.matchExpressions`).map((e, k) => expression(w, e, `${where}.matchExpressions[${k}]`))
    return out
  }
  return {labels: labelMap(w, v, where), pos: w.pos(v)}
}

/** {key, operator, values}: In and NotIn need values, Exists and DoesNotExist take none (Kubernetes' rules). */
function expression(w: Walker, item: YamlNode, where: string): ExpressionSpec {
  const m = w.map(item, where, ['key', 'operator', 'values'])
  const keyEntry = m.get('key')
  if (!keyEntry) w.fail(item, `${where}: missing key "key"`)
  const key = w.str(keyEntry, `${where}.key`)
  const keyProblem = labelKeyProblem(key.value)
  if (keyProblem) w.fail(keyEntry.value, `${where}.key: ${keyProblem}`)
  const opEntry = m.get('operator')
  if (!opEntry) w.fail(item, `${where}: missing key "operator" (${SELECTOR_OPERATORS.join(', ')})`)
  const op = opEntry.value
  if (!isScalar(op) || !SELECTOR_OPERATORS.includes(op.value as SelectorOperator))
    w.fail(
      op ?? opEntry.key,
      `${where}.operator: ${isScalar(op) ? JSON.stringify(op.value) : 'this'} is not an operator (${SELECTOR_OPERATORS.join(', ')}, ` +
        `capitalised as in Kubernetes)`,
    )
  const operator = op.value as SelectorOperator
  const valuesEntry = m.get('values')
  const values: string[] = []
  if (valuesEntry) {
    const items = list(w, valuesEntry, `${where}.values`)
    for (const val of items) {
      w.noAlias(val, `${where}.values`)
      if (!isScalar(val) || typeof val.value !== 'string') w.fail(val, `${where}.values: a label value must be a string`)
      const problem = labelValueProblem(val.value as string)
      if (problem) w.fail(val, `${where}.values: ${problem}`)
      values.push(val.value as string)
    }
  }
  const withValues = operator === 'In' || operator === 'NotIn'
  if (withValues && values.length === 0) w.fail(valuesEntry?.value ?? item, `${where}: ${operator} needs a non-empty list of values`)
  if (!withValues && valuesEntry) w.fail(valuesEntry.key, `${where}: ${operator} takes no values; leave values out`)
  return {key: key.value, operator, values, pos: w.pos(item)}
}

/** A namespace's name where a pod, policy or Service says which it is in (declared or not: the model checks). */
export function namespaceRef(w: Walker, entry: Entry, where: string): Located<string> {
  const v = entry.value
  if (!isScalar(v) || typeof v.value !== 'string') w.fail(v ?? entry.key, `${where} must be a namespace name (a string)`)
  const problem = namespaceNameProblem(v.value as string)
  if (problem) w.fail(v, `${where}: ${problem}`)
  return {value: v.value as string, pos: w.pos(v)}
}

/** Kubernetes' namespace names are DNS labels; here also at most 40, as a pod name's (it is part of the pod's netns name). */
const NAMESPACE_NAME_MAX = 40

function namespaceNameProblem(name: string): string | undefined {
  if (name.length > 0 && name.length <= NAMESPACE_NAME_MAX && NAME_RE.test(name)) return undefined
  return (
    `namespace name ${JSON.stringify(name)} is not allowed: at most ${NAMESPACE_NAME_MAX} lower-case letters, ` +
    `digits and dashes, starting and ending with a letter or digit`
  )
}

/** The label every namespace carries, as in Kubernetes (1.22 and later): its own name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name'

/** namespaces: [{name, labels}]; default exists whether it is listed or not. */
export function parseNamespaces(w: Walker, entry: Entry): NamespaceSpec[] {
  const items = list(w, entry, 'namespaces')
  if (items.length > MAX_POLICIES) w.fail(entry.value, `too many namespaces (${items.length}; at most ${MAX_POLICIES})`)
  const seen = new Map<string, NamespaceSpec>()
  return items.flatMap((item, i) => {
    const ns = w.collect(() => {
      const where = `namespaces[${i}]`
      if (isScalar(item)) w.fail(item, `${where} must be a mapping: {name: x} or {name: x, labels: {team: a}}`)
      const m = w.map(item, where, ['name', 'labels'])
      const nameEntry = m.get('name')
      if (!nameEntry) w.fail(item, `${where}: missing key "name"`)
      const name = namespaceRef(w, nameEntry, `${where}.name`)
      const prev = seen.get(name.value)
      if (prev)
        w.fail(nameEntry.value, `${where}: duplicate namespace "${name.value}" (first at line ${prev.pos.line}, column ${prev.pos.col})`)
      const labelsEntry = m.get('labels')
      const labels = labelsEntry ? parseLabels(w, labelsEntry, `${where}.labels`) : {}
      const own = labels[NAMESPACE_NAME_LABEL]
      if (own !== undefined && own !== name.value)
        w.fail(labelsEntry!.value, `${where}.labels: ${NAMESPACE_NAME_LABEL} is the namespace's own name (${name.value}), set by netlab`)
      const out: NamespaceSpec = {name, labels, pos: w.pos(item)}
      seen.set(name.value, out)
      return out
    })
    return ns ? [ns] : []
  })
}

export function list(w: Walker, entry: Entry, where: string): YamlNode[] {
  const v = entry.value
  if (v === null) return []
  if (!isSeq(v)) w.fail(v, `${where} must be a list`)
  return v.items as YamlNode[]
}

export function parsePolicies(w: Walker, entry: Entry): PolicySpec[] {
  const items = list(w, entry, 'policies')
  if (items.length > MAX_POLICIES) w.fail(entry.value, `too many policies (${items.length}; at most ${MAX_POLICIES})`)
  const seen = new Map<string, Located<string>>()
  // each policy is checked on its own: every bad one is reported
  return items.flatMap((item, i) => {
    const p = w.collect(() => {
      const p = policy(w, item, `policies[${i}]`)
      if (!p.name) return p // its name was wrong: that is reported already
      // unique per namespace, as in Kubernetes
      const ns = p.namespace?.value ?? DEFAULT_NAMESPACE
      const prev = seen.get(`${ns}/${p.name.value}`)
      if (prev)
        w.fail(
          item,
          `policies[${i}]: duplicate policy name "${p.name.value}"${ns === DEFAULT_NAMESPACE ? '' : ` in namespace ${ns}`} ` +
            `(first used at line ${prev.pos.line}, column ${prev.pos.col})`,
        )
      seen.set(`${ns}/${p.name.value}`, p.name)
      return p
    })
    return p ? [p] : []
  })
}

/**
 * One policy. Its name, its selector, its policyTypes and each of its rules are checked on their
 * own (collected), so a policy with two mistakes reports both; the result is only used when the
 * walk found no problem (throwCollected), so a part that failed may be missing from it.
 */
function policy(w: Walker, item: YamlNode, where: string): PolicySpec {
  const m = w.map(item, where, ['name', 'namespace', 'podSelector', 'policyTypes', 'ingress', 'egress'])
  const name = w.collect(() => policyName(w, item, m.get('name'), where))
  const nsEntry = m.get('namespace')
  const namespace = nsEntry ? w.collect(() => namespaceRef(w, nsEntry, `${where}.namespace`)) : undefined
  const at = name ? `policy ${policyLabel(name.value, namespace?.value)}` : where
  const sel = m.get('podSelector')
  const podSelector = w.collect(() => {
    if (!sel) w.fail(item, `${at}: missing key "podSelector" (the pods it isolates; {} selects every pod)`)
    return selector(w, sel, `${at}: podSelector`, {expressions: true})
  })
  const out = {name, ...(namespace ? {namespace} : {}), podSelector, pos: w.pos(item)} as PolicySpec
  const types = m.get('policyTypes')
  if (types) out.policyTypes = w.collect(() => policyTypes(w, types, `${at}: policyTypes`))
  for (const dir of ['ingress', 'egress'] as const) {
    const e = m.get(dir)
    if (!e) continue
    const items = w.collect(() => list(w, e, `${at}: ${dir}`)) ?? []
    const key = dir === 'ingress' ? 'from' : 'to'
    out[dir] = items.flatMap((r, k) => w.collect(() => rule(w, r, `${at}: ${dir}[${k}]`, key)) ?? [])
    out[dir === 'ingress' ? 'ingressPos' : 'egressPos'] = w.pos(e.value ?? e.key)
  }
  return out
}

function policyName(w: Walker, item: YamlNode, nameEntry: Entry | undefined, where: string): Located<string> {
  if (!nameEntry) w.fail(item, `${where}: missing key "name"`)
  const nv = nameEntry.value
  if (!isScalar(nv) || typeof nv.value !== 'string') w.fail(nv ?? nameEntry.key, `${where}.name must be a name (a string)`)
  const name = nv.value as string
  if (name.length === 0 || name.length > POLICY_NAME_MAX || !NAME_RE.test(name)) {
    w.fail(
      nv,
      `${where}.name: policy name ${JSON.stringify(name)} is not allowed: at most ` +
        `${POLICY_NAME_MAX} lower-case letters, digits and dashes, starting and ending with a ` +
        `letter or digit`,
    )
  }
  return {value: name, pos: w.pos(nv)}
}

function policyTypes(w: Walker, entry: Entry, where: string): Located<PolicyType[]> {
  const v = entry.value
  if (!isSeq(v) || v.items.length === 0) w.fail(v ?? entry.key, `${where} must be a non-empty list of Ingress and Egress`)
  const out: PolicyType[] = []
  for (const item of v.items as YamlNode[]) {
    w.noAlias(item, where)
    if (!isScalar(item) || !POLICY_TYPES.includes(item.value as PolicyType)) {
      w.fail(
        item,
        `${where}: ${isScalar(item) ? JSON.stringify(item.value) : 'this'} is not a policy type ` +
          `(Ingress or Egress, capitalised as in Kubernetes)`,
      )
    }
    if (out.includes(item.value as PolicyType)) w.fail(item, `${where}: ${String(item.value)} is listed twice`)
    out.push(item.value as PolicyType)
  }
  return {value: out, pos: w.pos(v)}
}

function rule(w: Walker, item: YamlNode, where: string, peersKey: 'from' | 'to'): RuleSpec {
  const m = w.map(item, where, [peersKey, 'ports'])
  const out: RuleSpec = {pos: w.pos(item)}
  const peers = m.get(peersKey)
  // each peer and each port on its own, like the rules
  if (peers)
    out.peers = list(w, peers, `${where}.${peersKey}`).flatMap((p, k) => w.collect(() => peer(w, p, `${where}.${peersKey}[${k}]`)) ?? [])
  const ports = m.get('ports')
  if (ports) out.ports = list(w, ports, `${where}.ports`).flatMap((p, k) => w.collect(() => port(w, p, `${where}.ports[${k}]`)) ?? [])
  return out
}

function peer(w: Walker, item: YamlNode, where: string): PeerSpec {
  const m = w.map(item, where, ['podSelector', 'namespaceSelector', 'ipBlock'])
  const block = m.get('ipBlock')
  if (m.size === 0 || (block && m.size > 1)) w.fail(item, `${where} must say podSelector, namespaceSelector (or both), or ipBlock (alone)`)
  if (!block) {
    const out: PeerSpec = {pos: w.pos(item)}
    for (const key of ['podSelector', 'namespaceSelector'] as const) {
      const e = m.get(key)
      if (e) out[key] = selector(w, e, `${where}.${key}`, {expressions: true})
    }
    return out
  }
  const v = block.value
  if (!isMap(v)) return {ipBlock: w.str(block, `${where}.ipBlock`)}
  // Kubernetes' own form, {cidr: …, except: […]}
  const b = w.map(v, `${where}.ipBlock`, ['cidr', 'except'])
  const cidr = b.get('cidr')
  if (!cidr) w.fail(v, `${where}.ipBlock: missing key "cidr"`)
  const out: PeerSpec = {ipBlock: w.str(cidr, `${where}.ipBlock.cidr`)}
  const except = b.get('except')
  if (except)
    out.except = list(w, except, `${where}.ipBlock.except`).map((e, k) => w.str({key: e, value: e}, `${where}.ipBlock.except[${k}]`))
  return out
}

function port(w: Walker, item: YamlNode, where: string): PortSpec {
  const m = w.map(item, where, ['protocol', 'port', 'endPort'])
  const protoEntry = m.get('protocol')
  let protocol: Located<PolicyProtocol> = {value: 'TCP', pos: w.pos(item)} // Kubernetes' default
  if (protoEntry) {
    const v = protoEntry.value
    if (!isScalar(v) || !POLICY_PROTOCOLS.includes(v.value as PolicyProtocol)) {
      const said = isScalar(v) ? JSON.stringify(v.value) : 'this'
      const upper =
        isScalar(v) && typeof v.value === 'string' && POLICY_PROTOCOLS.includes(v.value.toUpperCase() as PolicyProtocol)
          ? ` (write it in capitals: ${v.value.toUpperCase()})`
          : ''
      w.fail(v ?? protoEntry.key, `${where}.protocol: ${said} is not supported: TCP, UDP, SCTP or ICMP${upper}`)
    }
    protocol = {value: v.value as PolicyProtocol, pos: w.pos(v)}
  }
  const out: PortSpec = {protocol}
  const portEntry = m.get('port')
  if (portEntry) {
    const v = portEntry.value
    if (protocol.value === 'ICMP') w.fail(v ?? portEntry.key, `${where}.port: ICMP has no ports; leave port out`)
    if (isScalar(v) && typeof v.value === 'string') {
      // a pod port's name (an IANA service name, as pods' ports: are named)
      const problem = portNameProblem(v.value)
      if (problem) w.fail(v, `${where}.port: ${problem}`)
      out.port = {value: v.value, pos: w.pos(v)}
    } else {
      if (!isScalar(v) || typeof v.value !== 'number' || !Number.isInteger(v.value) || v.value < 1 || v.value > 65535)
        w.fail(v ?? portEntry.key, `${where}.port must be a port number from 1 to 65535, or a pod port's name`)
      out.port = {value: v.value as number, pos: w.pos(v)}
    }
  }
  const endEntry = m.get('endPort')
  if (endEntry) {
    const v = endEntry.value
    if (!out.port) w.fail(endEntry.key, `${where}.endPort needs a port: the range is port..endPort`)
    if (typeof out.port.value === 'string')
      w.fail(endEntry.key, `${where}.endPort: a range needs a port number, not a named port (${JSON.stringify(out.port.value)})`)
    if (!isScalar(v) || typeof v.value !== 'number' || !Number.isInteger(v.value) || v.value < out.port.value || v.value > 65535)
      w.fail(v ?? endEntry.key, `${where}.endPort must be a port number from port (${out.port.value}) to 65535`)
    out.endPort = {value: v.value as number, pos: w.pos(v)}
  }
  return out
}

/** Kubernetes' default policyTypes: Ingress always, Egress when the policy has egress rules. */
export function effectiveTypes(p: PolicySpec): PolicyType[] {
  if (p.policyTypes) return p.policyTypes.value
  return (p.egress?.length ?? 0) > 0 ? ['Ingress', 'Egress'] : ['Ingress']
}

/** "db-in", or "x/db-in" for a policy of namespace x: how messages and reports name a policy. */
export function policyLabel(name: string, namespace: string | undefined): string {
  return namespace === undefined || namespace === DEFAULT_NAMESPACE ? name : `${namespace}/${name}`
}
