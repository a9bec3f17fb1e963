// Pod labels and the policies: list, modelled on Kubernetes NetworkPolicy and kept small: a pod
// selector, ingress rules (from), egress rules (to), ports (TCP, UDP, ICMP) and policyTypes.
// Syntax only, with a position for every value; which pods a selector matches is decided with
// the model (src/compile/policies.ts), which also warns about selectors that match no pod.
import {isMap, isScalar, isSeq, type Node as YamlNode} from 'yaml'
import {NAME_RE} from './names.js'
import type {YamlWalker as Walker} from './walker.js'
import type {Located, PeerSpec, PolicyProtocol, PolicySpec, PolicyType, PortSpec, RuleSpec, SelectorSpec} from './types.js'

type Entry = {key: YamlNode; value: YamlNode | null}

const POLICY_PROTOCOLS: readonly PolicyProtocol[] = ['TCP', 'UDP', 'ICMP']
const POLICY_TYPES: readonly PolicyType[] = ['Ingress', 'Egress']
/** Kubernetes' limit on an object name (DNS label); a policy's name also goes into iptables comments. */
const POLICY_NAME_MAX = 63
/** more than a lab needs; each one is rules on every node */
const MAX_POLICIES = 200

// Kubernetes label syntax: an optional DNS-subdomain prefix and "/", then a name of at most 63
// characters; values are empty or like a name.
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

function labelKeyProblem(key: string): string | undefined {
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

function labelValueProblem(value: string): string | undefined {
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
 * A pod selector: a mapping of labels ({app: db}; {} selects every pod), or Kubernetes' own form
 * {matchLabels: {app: db}}. matchExpressions is not supported.
 */
export function selector(w: Walker, entry: Entry, where: string): SelectorSpec {
  const v = entry.value
  if (v === null || !isMap(v)) w.fail(v ?? entry.key, `${where} must be a mapping of labels ({} selects every pod)`)
  const keys = v.items.map((p) => (isScalar(p.key) ? p.key.value : undefined))
  if (keys.includes('matchLabels') || keys.includes('matchExpressions')) {
    const m = w.map(v, where, ['matchLabels', 'matchExpressions'])
    const expr = m.get('matchExpressions')
    if (expr) w.fail(expr.key, `${where}: matchExpressions is not supported; select by labels (matchLabels, or the labels ` + `themselves)`)
    const labels = m.get('matchLabels')!
    return {labels: labels.value === null ? {} : labelMap(w, labels.value, `${where}.matchLabels`), pos: w.pos(v)}
  }
  return {labels: labelMap(w, v, where), pos: w.pos(v)}
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
      const prev = seen.get(p.name.value)
      if (prev)
        w.fail(
          item,
          `policies[${i}]: duplicate policy name "${p.name.value}" (first used at line ` + `${prev.pos.line}, column ${prev.pos.col})`,
        )
      seen.set(p.name.value, p.name)
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
  const m = w.map(item, where, ['name', 'podSelector', 'policyTypes', 'ingress', 'egress'])
  const name = w.collect(() => policyName(w, item, m.get('name'), where))
  const at = name ? `policy ${name.value}` : where
  const sel = m.get('podSelector')
  const podSelector = w.collect(() => {
    if (!sel) w.fail(item, `${at}: missing key "podSelector" (the pods it isolates; {} selects every pod)`)
    return selector(w, sel, `${at}: podSelector`)
  })
  const out = {name, podSelector, pos: w.pos(item)} as PolicySpec
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
  const m = w.map(item, where, ['podSelector', 'ipBlock'])
  if (m.size !== 1) w.fail(item, `${where} must say either podSelector or ipBlock (one of them, not both)`)
  const sel = m.get('podSelector')
  if (sel) return {podSelector: selector(w, sel, `${where}.podSelector`)}
  const block = m.get('ipBlock')!
  const v = block.value
  if (isMap(v)) {
    // Kubernetes' own form, {cidr: …}; except is not supported
    const b = w.map(v, `${where}.ipBlock`, ['cidr', 'except'])
    const except = b.get('except')
    if (except) w.fail(except.key, `${where}.ipBlock: except is not supported; write the blocks you mean instead`)
    const cidr = b.get('cidr')
    if (!cidr) w.fail(v, `${where}.ipBlock: missing key "cidr"`)
    return {ipBlock: w.str(cidr, `${where}.ipBlock.cidr`)}
  }
  return {ipBlock: w.str(block, `${where}.ipBlock`)}
}

function port(w: Walker, item: YamlNode, where: string): PortSpec {
  const m = w.map(item, where, ['protocol', 'port'])
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
      w.fail(v ?? protoEntry.key, `${where}.protocol: ${said} is not supported: TCP, UDP or ICMP${upper}`)
    }
    protocol = {value: v.value as PolicyProtocol, pos: w.pos(v)}
  }
  const out: PortSpec = {protocol}
  const portEntry = m.get('port')
  if (portEntry) {
    const v = portEntry.value
    if (protocol.value === 'ICMP') w.fail(v ?? portEntry.key, `${where}.port: ICMP has no ports; leave port out`)
    if (isScalar(v) && typeof v.value === 'string')
      w.fail(v, `${where}.port: named ports (${JSON.stringify(v.value)}) are not supported; give the number`)
    if (!isScalar(v) || typeof v.value !== 'number' || !Number.isInteger(v.value) || v.value < 1 || v.value > 65535) {
      w.fail(v ?? portEntry.key, `${where}.port must be a port number from 1 to 65535`)
    }
    out.port = {value: v.value as number, pos: w.pos(v)}
  }
  return out
}

/** Kubernetes' default policyTypes: Ingress always, Egress when the policy has egress rules. */
export function effectiveTypes(p: PolicySpec): PolicyType[] {
  if (p.policyTypes) return p.policyTypes.value
  return (p.egress?.length ?? 0) > 0 ? ['Ingress', 'Egress'] : ['Ingress']
}
