// What pods serve (ports:) and the services: list, as Kubernetes writes them: a Service selects
// pods by label and forwards its ports to theirs, by number or by a pod port's name. Syntax only,
// with a position for every value; which pods are endpoints, and which addresses and node ports
// are whose, is decided with the model (src/compile/services.ts).
import {isMap, isScalar, type Node as YamlNode} from 'yaml'
import {TopologyError} from './errors.js'
import {list, namespaceRef, parseLabels} from './policies.js'
import {portNameProblem} from './names.js'
import {DEFAULT_NAMESPACE} from '../core/names.js'
import type {YamlWalker as Walker} from './walker.js'
import type {Located, PodPortSpec, SelectorSpec, ServicePortSpec, ServiceProtocol, ServiceSpec, ServiceType} from './types.js'

type Entry = {key: YamlNode; value: YamlNode | null}

/** Kubernetes' default sessionAffinityConfig.clientIP.timeoutSeconds (3 hours), and its maximum (a day). */
const DEFAULT_AFFINITY_TIMEOUT = 10800
const MAX_AFFINITY_TIMEOUT = 86400
/** the node port range (kube-apiserver's --service-node-port-range default) */
export const NODE_PORT_RANGE = {first: 30000, last: 32767} as const
/** more than a lab needs (the bench's is 200); each one is rules on every node */
const MAX_SERVICES = 1000
const MAX_PORTS = 16
const SERVICE_NAME_MAX = 63
/** a DNS-1035 label: what Kubernetes takes as a Service's name */
const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/

const PROTOCOLS: readonly ServiceProtocol[] = ['TCP', 'UDP']
const TYPES: readonly ServiceType[] = ['ClusterIP', 'NodePort']

/** A scalar among `allowed`, with Kubernetes' capitalisation named when only the case is wrong. */
function oneOf<T extends string>(w: Walker, entry: Entry, where: string, allowed: readonly T[], why = ''): Located<T> {
  const v = entry.value
  if (!isScalar(v) || !allowed.includes(v.value as T)) {
    const said = isScalar(v) ? JSON.stringify(v.value) : 'this'
    const fixed =
      isScalar(v) && typeof v.value === 'string' ? allowed.find((a) => a.toLowerCase() === (v.value as string).toLowerCase()) : undefined
    w.fail(
      v ?? entry.key,
      `${where}: ${said} is not supported${why}: ${allowed.join(' or ')}${fixed ? ` (write it as Kubernetes does: ${fixed})` : ''}`,
    )
  }
  return {value: v.value as T, pos: w.pos(v)}
}

function portNumber(w: Walker, entry: Entry, where: string, range = {first: 1, last: 65535}): Located<number> {
  const v = entry.value
  if (!isScalar(v) || typeof v.value !== 'number' || !Number.isInteger(v.value) || v.value < range.first || v.value > range.last)
    w.fail(v ?? entry.key, `${where} must be a port number from ${range.first} to ${range.last}`)
  return {value: v.value as number, pos: w.pos(v)}
}

function portName(w: Walker, entry: Entry, where: string): Located<string> {
  const v = entry.value
  if (!isScalar(v) || typeof v.value !== 'string') w.fail(v ?? entry.key, `${where} must be a name (a string)`)
  const problem = portNameProblem(v.value as string)
  if (problem) w.fail(v, `${where}: ${problem}`)
  return {value: v.value as string, pos: w.pos(v)}
}

function protocol(w: Walker, entry: Entry | undefined, where: string, item: YamlNode): Located<ServiceProtocol> {
  if (!entry) return {value: 'TCP', pos: w.pos(item)} // Kubernetes' default
  const v = entry.value
  if (isScalar(v) && String(v.value).toUpperCase() === 'SCTP')
    w.fail(v, `${where}: SCTP is not supported: this kernel has no SCTP (TCP or UDP)`)
  return oneOf(w, entry, where, PROTOCOLS)
}

/** Two entries of a list may not share a name, nor a port and protocol. */
function unique<T extends {name?: Located<string>; port: Located<number>; protocol: Located<ServiceProtocol>}>(
  w: Walker,
  items: T[],
  where: string,
): void {
  const names = new Map<string, T>()
  const ports = new Map<string, T>()
  for (const p of items) {
    const prev = p.name && names.get(p.name.value)
    if (prev && p.name) throw new TopologyError(p.name.pos, `${where}: port name "${p.name.value}" is used twice`)
    if (p.name) names.set(p.name.value, p)
    const key = `${p.port.value}/${p.protocol.value}`
    const same = ports.get(key)
    if (same)
      throw new TopologyError(
        p.port.pos,
        `${where}: ${p.protocol.value} port ${p.port.value} is listed twice (first at line ${same.port.pos.line}, column ${same.port.pos.col})`,
      )
    ports.set(key, p)
  }
}

/** A pod's ports: [{name, port, protocol}], as a container's are written. */
export function parsePodPorts(w: Walker, entry: Entry, where: string): PodPortSpec[] {
  const items = list(w, entry, where)
  if (items.length > MAX_PORTS) w.fail(entry.value, `${where}: too many ports (${items.length}; at most ${MAX_PORTS})`)
  const ports = items.map((item, k) => {
    const at = `${where}[${k}]`
    if (isScalar(item)) w.fail(item, `${at} must be a mapping: {port: 8080} or {name: http, port: 8080, protocol: TCP}`)
    const m = w.map(item, at, ['name', 'port', 'protocol', 'containerPort'])
    if (m.has('containerPort'))
      w.fail(m.get('containerPort')!.key, `${at}: write port (a pod in a lab has no containers), not containerPort`)
    const port = m.get('port')
    if (!port) w.fail(item, `${at}: missing key "port"`)
    const name = m.get('name')
    return {
      ...(name ? {name: portName(w, name, `${at}.name`)} : {}),
      port: portNumber(w, port, `${at}.port`),
      protocol: protocol(w, m.get('protocol'), `${at}.protocol`, item),
      pos: w.pos(item),
    }
  })
  unique(w, ports, where)
  return ports
}

export function parseServices(w: Walker, entry: Entry): ServiceSpec[] {
  const items = list(w, entry, 'services')
  if (items.length > MAX_SERVICES) w.fail(entry.value, `too many services (${items.length}; at most ${MAX_SERVICES})`)
  const seen = new Map<string, Located<string>>()
  return items.flatMap((item, i) => {
    const s = w.collect(() => {
      const s = service(w, item, `services[${i}]`)
      const key = `${s.namespace?.value ?? DEFAULT_NAMESPACE}/${s.name.value}` // unique per namespace
      const prev = seen.get(key)
      if (prev)
        w.fail(
          item,
          `services[${i}]: duplicate service name "${s.name.value}" (first used at line ${prev.pos.line}, column ${prev.pos.col})`,
        )
      seen.set(key, s.name)
      return s
    })
    return s ? [s] : []
  })
}

const SERVICE_KEYS = [
  'name',
  'namespace',
  'type',
  'selector',
  'ports',
  'clusterIP',
  'externalTrafficPolicy',
  'sessionAffinity',
  'sessionAffinityConfig',
] as const

function service(w: Walker, item: YamlNode, where: string): ServiceSpec {
  const m = w.map(item, where, SERVICE_KEYS)
  const nameEntry = m.get('name')
  if (!nameEntry) w.fail(item, `${where}: missing key "name"`)
  const name = serviceName(w, nameEntry, `${where}.name`)
  const at = `service ${name.value}`
  const typeEntry = m.get('type')
  if (typeEntry && isScalar(typeEntry.value) && ['LoadBalancer', 'ExternalName'].includes(String(typeEntry.value.value)))
    w.fail(
      typeEntry.value,
      `${at}: type ${String(typeEntry.value.value)} is not supported: a lab has no load balancer and no DNS (ClusterIP or NodePort)`,
    )
  const type: Located<ServiceType> = typeEntry ? oneOf(w, typeEntry, `${at}: type`, TYPES) : {value: 'ClusterIP', pos: w.pos(item)}
  const sel = m.get('selector')
  if (!sel)
    w.fail(item, `${at}: missing key "selector" (the labels of the pods that serve it; a lab has no other way to give a Service endpoints)`)
  const portsEntry = m.get('ports')
  if (!portsEntry) w.fail(item, `${at}: missing key "ports" (at least one: {port: 80, targetPort: 8080})`)
  const ports = servicePorts(w, portsEntry, `${at}: ports`, type.value)
  const clusterIP = m.get('clusterIP')
  if (clusterIP && isScalar(clusterIP.value) && clusterIP.value.value === 'None')
    w.fail(clusterIP.value, `${at}: clusterIP None (a headless Service) is not supported: it is DNS only, and a lab has no DNS`)
  const etp = m.get('externalTrafficPolicy')
  if (etp && type.value !== 'NodePort')
    w.fail(etp.key, `${at}: externalTrafficPolicy applies to traffic from outside the cluster, so only to type NodePort`)
  const affinity = m.get('sessionAffinity')
  const config = m.get('sessionAffinityConfig')
  const out: ServiceSpec = {
    name,
    type,
    selector: serviceSelector(w, sel, `${at}: selector`),
    ports,
    externalTrafficPolicy: etp
      ? oneOf(w, etp, `${at}: externalTrafficPolicy`, ['Cluster', 'Local'] as const)
      : {value: 'Cluster', pos: w.pos(item)},
    sessionAffinity: affinity
      ? oneOf(w, affinity, `${at}: sessionAffinity`, ['None', 'ClientIP'] as const)
      : {value: 'None', pos: w.pos(item)},
    affinityTimeout: config
      ? affinityTimeout(w, config, `${at}: sessionAffinityConfig`)
      : {value: DEFAULT_AFFINITY_TIMEOUT, pos: w.pos(item)},
    pos: w.pos(item),
  }
  if (config && out.sessionAffinity.value !== 'ClientIP')
    w.fail(config.key, `${at}: sessionAffinityConfig applies only with sessionAffinity: ClientIP`)
  if (clusterIP) out.clusterIP = w.str(clusterIP, `${at}: clusterIP`)
  const ns = m.get('namespace')
  if (ns) out.namespace = namespaceRef(w, ns, `${at}: namespace`)
  return out
}

/**
 * A Service's selector is a plain map of labels in Kubernetes (no matchLabels, no
 * matchExpressions: those are a policy's); {} would select every pod.
 */
function serviceSelector(w: Walker, entry: Entry, where: string): SelectorSpec {
  const v = entry.value
  if (v === null || !isMap(v)) w.fail(v ?? entry.key, `${where} must be a mapping of labels (app: web)`)
  const key = v.items.map((p) => p.key).find((k) => isScalar(k) && ['matchLabels', 'matchExpressions'].includes(String(k.value)))
  if (key)
    w.fail(
      key as YamlNode,
      `${where}: a Service selects by labels only (app: web); ${String((key as {value: unknown}).value)} is a policy's selector`,
    )
  return {labels: parseLabels(w, entry, where), pos: w.pos(v)}
}

function serviceName(w: Walker, entry: Entry, where: string): Located<string> {
  const v = entry.value
  if (!isScalar(v) || typeof v.value !== 'string') w.fail(v ?? entry.key, `${where} must be a name (a string)`)
  const name = v.value as string
  if (name.length === 0 || name.length > SERVICE_NAME_MAX || !DNS_1035.test(name))
    w.fail(
      v,
      `${where}: service name ${JSON.stringify(name)} is not allowed: at most ${SERVICE_NAME_MAX} lower-case ` +
        `letters, digits and dashes, starting with a letter and ending with a letter or digit`,
    )
  return {value: name, pos: w.pos(v)}
}

/** sessionAffinityConfig: {clientIP: {timeoutSeconds: N}}, as Kubernetes writes it. */
function affinityTimeout(w: Walker, entry: Entry, where: string): Located<number> {
  const v = entry.value
  const m = w.map(v, where, ['clientIP'])
  const clientIP = m.get('clientIP')
  if (!clientIP) w.fail(v, `${where}: missing key "clientIP"`)
  const t = w.map(clientIP.value, `${where}.clientIP`, ['timeoutSeconds']).get('timeoutSeconds')
  if (!t) w.fail(clientIP.value, `${where}.clientIP: missing key "timeoutSeconds"`)
  const tv = t.value
  if (!isScalar(tv) || typeof tv.value !== 'number' || !Number.isInteger(tv.value) || tv.value < 1 || tv.value > MAX_AFFINITY_TIMEOUT)
    w.fail(tv ?? t.key, `${where}.clientIP.timeoutSeconds must be a whole number of seconds from 1 to ${MAX_AFFINITY_TIMEOUT}`)
  return {value: tv.value as number, pos: w.pos(tv)}
}

function servicePorts(w: Walker, entry: Entry, where: string, type: ServiceType): ServicePortSpec[] {
  const items = list(w, entry, where)
  if (items.length === 0) w.fail(entry.value ?? entry.key, `${where} must list at least one port`)
  if (items.length > MAX_PORTS) w.fail(entry.value, `${where}: too many ports (${items.length}; at most ${MAX_PORTS})`)
  const ports = items.map((item, k) => {
    const at = `${where}[${k}]`
    if (!isMap(item)) w.fail(item, `${at} must be a mapping: {port: 80, targetPort: 8080}`)
    const m = w.map(item, at, ['name', 'port', 'targetPort', 'nodePort', 'protocol'])
    const port = m.get('port')
    if (!port) w.fail(item, `${at}: missing key "port"`)
    const name = m.get('name')
    if (!name && items.length > 1)
      w.fail(item, `${at}: missing key "name" (a Service with more than one port names each, as Kubernetes requires)`)
    const target = m.get('targetPort')
    const nodePort = m.get('nodePort')
    if (nodePort && type !== 'NodePort') w.fail(nodePort.key, `${at}.nodePort: only a Service of type NodePort has node ports`)
    return {
      ...(name ? {name: portName(w, name, `${at}.name`)} : {}),
      port: portNumber(w, port, `${at}.port`),
      protocol: protocol(w, m.get('protocol'), `${at}.protocol`, item),
      ...(target ? {targetPort: targetPort(w, target, `${at}.targetPort`)} : {}),
      ...(nodePort ? {nodePort: portNumber(w, nodePort, `${at}.nodePort`, NODE_PORT_RANGE)} : {}),
      pos: w.pos(item),
    }
  })
  unique(w, ports, where)
  return ports
}

function targetPort(w: Walker, entry: Entry, where: string): Located<number | string> {
  const v = entry.value
  if (isScalar(v) && typeof v.value === 'string') return portName(w, entry, `${where} (a pod port's name)`)
  return portNumber(w, entry, where)
}
