// Topology file -> Topology. Pure: text in, data or a TopologyError out.
// We walk the YAML syntax tree ourselves instead of converting to plain JS first, so every
// complaint can point at the exact line and column of the value that causes it.
import {isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node as YamlNode, type YAMLError} from 'yaml'
import {TopologyError, type SourcePos} from './errors.js'
import {podName} from '../core/names.js'
import {YamlWalker} from './walker.js'
import {LIMITS, nameProblem} from './names.js'
import {namespaceRef, parseLabels, parseNamespaces, parsePolicies} from './policies.js'
import {checkBinDir, loadConflist, parseCni} from './cni.js'
import {parseBgp} from './bgp.js'
import {parsePodPorts, parseServices} from './services.js'
import {readRegularFile} from './files.js'
import {
  DEFAULT_PROXY_MODE,
  DEFAULT_ROUTING_MODE,
  PROXY_MODES,
  ROUTING_MODES,
  type ExternalSpec,
  type Located,
  type NodeSpec,
  type PodSpec,
  type PolicySpec,
  type ProxyMode,
  type RoutingMode,
  type Topology,
} from './types.js'

export const MAX_TOPOLOGY_BYTES = 1024 * 1024

export const DEFAULT_CLUSTER = {
  podCIDR: '10.244.0.0/16',
  nodeSubnetSize: 24,
  underlay: '192.168.50.0/24',
  routing: DEFAULT_ROUTING_MODE,
  ipMasq: true,
  serviceCIDR: '10.96.0.0/12',
  proxy: DEFAULT_PROXY_MODE,
}

/** Read and parse a topology file; every failure is a TopologyError with a position. */
export function loadTopologyFile(file: string): Topology {
  return loadTopologyText(file).topology
}

/** As loadTopologyFile, with the text as read: what `up` keeps as the lab's topology (src/state/topology-source.ts). */
export function loadTopologyText(file: string): {topology: Topology; text: string} {
  const bytes = readChecked(file)
  const topo = parseTopology(bytes, file)
  const cni = topo.cluster.cni
  if (cni?.conflist) cni.conflistFile = loadConflist(file, cni.conflist)
  if (cni?.binDir) checkBinDir(cni.binDir)
  // parseTopology refused anything that is not UTF-8: this is the file's text, byte for byte
  return {topology: topo, text: bytes.toString('utf8')}
}

/** A file's bytes, once it is known to be a regular file of a topology's size at most. */
function readChecked(file: string): Buffer {
  const at1 = {file, line: 1, col: 1}
  const read = readRegularFile(file, MAX_TOPOLOGY_BYTES)
  if (read.reason === 'read') return read.bytes
  if (read.reason === 'too-large')
    throw new TopologyError(at1, `file is too large (${(read.size / 1024 / 1024).toFixed(1)} MiB; a topology is at most 1 MiB)`)
  throw new TopologyError(
    at1,
    read.reason === 'missing'
      ? 'no such file'
      : read.reason === 'not-regular'
        ? 'not a regular file'
        : `cannot read the file (${read.code})`,
  )
}

/** The offset of the first byte that is not valid UTF-8, or -1. */
function firstInvalidUtf8(buf: Buffer): number {
  const roundTrip = Buffer.from(buf.toString('utf8'), 'utf8')
  if (roundTrip.equals(buf)) return -1
  const n = Math.min(buf.length, roundTrip.length)
  for (let i = 0; i < n; i++) if (buf[i] !== roundTrip[i]) return i
  return n
}

function posOfByte(buf: Buffer, offset: number, file: string): SourcePos {
  let line = 1
  let lineStart = 0
  for (let i = 0; i < offset; i++)
    if (buf[i] === 0x0a) {
      line++
      lineStart = i + 1
    }
  // Count characters, not bytes, like the columns of every other error (the line so far is valid UTF-8).
  return {file, line, col: buf.subarray(lineStart, offset).toString('utf8').length + 1}
}

export function parseTopology(input: string | Buffer, file = '<topology>'): Topology {
  return parseTopologyDocument(input, file).topology
}

/** As parseTopology, with the YAML document it was read from: where each value is, for an edit of the text (./edit.ts). */
export function parseTopologyDocument(input: string | Buffer, file = '<topology>'): {topology: Topology; doc: Document} {
  const {root, walker, doc} = parseYaml(input, file)
  return {topology: walker.topology(root), doc}
}

/** A policy file (`netlab policy apply`): a mapping whose only key is policies:, a list like the topology's. */
export function parsePolicyFile(input: string | Buffer, file = '<policies>'): PolicySpec[] {
  const parsed = parseYaml(input, file)
  const root = parsed.root
  const walker: Walker = parsed.walker
  if (root === null || root === undefined)
    throw new TopologyError(
      {file, line: 1, col: 1},
      'the file is empty: a policy file holds "policies:", a list of policies (it may be empty)',
    )
  const top = walker.map(root, 'policy file', ['policies'])
  const entry = top.get('policies')
  if (!entry) walker.fail(root, 'missing key "policies" (a list of policies; [] removes them all)')
  const policies = parsePolicies(walker, entry)
  walker.throwCollected()
  return policies
}

export function loadPolicyFile(file: string): PolicySpec[] {
  return parsePolicyFile(readChecked(file), file)
}

/** YAML text -> its root node and a walker that knows where everything is; errors are TopologyErrors. */
function parseYaml(input: string | Buffer, file: string): {root: YamlNode | null; walker: Walker; doc: Document} {
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input
  const bad = firstInvalidUtf8(buf)
  if (bad >= 0) throw new TopologyError(posOfByte(buf, bad, file), 'the file is not valid UTF-8 text')
  // A byte-order mark is invisible in an editor; left in, it shifts every column of line 1.
  const text = buf.toString('utf8').replace(/^\uFEFF/, '')
  const lc = new LineCounter()
  const doc = parseDocument(text, {lineCounter: lc, uniqueKeys: true, prettyErrors: false, strict: true})
  const first = doc.errors[0]
  if (first) {
    // linePos is only filled in with prettyErrors; the offset is always there.
    const at = lc.linePos(openerOf(doc, first) ?? first.pos[0])
    // The library's advice for this one names its own API, which means nothing to the user.
    const msg =
      first.code === 'MULTIPLE_DOCS'
        ? 'a topology file holds one YAML document; this starts a second one'
        : first.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')
    throw new TopologyError({file, line: at.line, col: at.col}, `invalid YAML: ${msg}`)
  }
  return {root: doc.contents as YamlNode | null, walker: new Walker(file, lc), doc}
}

/** An unclosed quote or bracket is only noticed at the end of the input: point at where it was opened. */
function openerOf(doc: Document, err: YAMLError): number | undefined {
  const m = /^Missing closing (["'])quote|end with a ([\]}])$/.exec(err.message)
  if (!m) return undefined
  const want = m[1] === '"' ? 'QUOTE_DOUBLE' : m[1] === "'" ? 'QUOTE_SINGLE' : m[2] === ']' ? 'seq' : 'map'
  const pos = err.pos[0]
  let at: number | undefined
  visit(doc, (_key, node) => {
    const r = (node as YamlNode).range
    if (!r || !(r[0] < pos && pos <= r[2])) return
    const kind = isScalar(node) ? node.type : isSeq(node) && node.flow ? 'seq' : isMap(node) && node.flow ? 'map' : undefined
    if (kind === want && (at === undefined || r[0] > at)) at = r[0] // the innermost one
  })
  return at
}

class Walker extends YamlWalker {
  nameOf(
    entry: {key: YamlNode; value: YamlNode | null},
    where: string,
    kind: 'lab' | 'node' | 'pod' | 'external host',
    max: number,
  ): Located<string> {
    const v = entry.value
    if (!isScalar(v) || typeof v.value !== 'string') this.fail(v ?? entry.key, `${where} must be a name (a string)`)
    const name = String((v as {value: unknown}).value)
    const problem = nameProblem(kind, name, max)
    if (problem) this.fail(v, `${where}: ${problem}`)
    return {value: name, pos: this.pos(v)}
  }

  topology(root: YamlNode | null): Topology {
    if (root === null || root === undefined)
      throw new TopologyError({file: this.file, line: 1, col: 1}, 'the file is empty: a topology needs at least "name" and "nodes"')
    const top = this.map(root, 'topology', ['name', 'cluster', 'namespaces', 'nodes', 'external', 'policies', 'services'])
    // name, cluster, each node, each external host and the policies are checked on their own:
    // every problem among them is reported (the model's cross-checks then need them all valid)
    const name = this.collect(() => {
      const nameEntry = top.get('name')
      if (!nameEntry) this.fail(root, 'missing key "name" (the lab name)')
      return this.nameOf(nameEntry, 'name', 'lab', LIMITS.labName)
    })
    const cluster = this.collect(() => this.cluster(top.get('cluster'), root))
    const namespacesEntry = top.get('namespaces')
    const namespaces = namespacesEntry ? this.collect(() => ({namespaces: parseNamespaces(this, namespacesEntry)})) : {}
    const nodesEntry = top.get('nodes')
    if (!nodesEntry) this.collect(() => this.fail(root, 'missing key "nodes" (a list of nodes)'))
    const nodes = nodesEntry ? this.collect(() => this.nodes(nodesEntry)) : undefined
    const externalEntry = top.get('external')
    const external = externalEntry ? this.collect(() => this.externals(externalEntry)) : []
    const policiesEntry = top.get('policies')
    const policies = policiesEntry ? this.collect(() => ({policies: parsePolicies(this, policiesEntry)})) : {}
    const servicesEntry = top.get('services')
    const services = servicesEntry ? this.collect(() => ({services: parseServices(this, servicesEntry)})) : {}
    this.throwCollected()
    return {
      file: this.file,
      name: name!,
      cluster: cluster!,
      nodes: nodes!,
      nodesPos: this.pos(nodesEntry!.value ?? nodesEntry!.key),
      external: external!,
      ...namespaces!,
      ...policies!,
      ...services!,
    }
  }

  cluster(entry: {key: YamlNode; value: YamlNode | null} | undefined, root: YamlNode): Topology['cluster'] {
    const here = this.pos(entry?.value ?? entry?.key ?? root)
    const d = DEFAULT_CLUSTER
    const defaults = {
      podCIDR: {value: d.podCIDR, pos: here},
      nodeSubnetSize: {value: d.nodeSubnetSize, pos: here},
      underlay: [{value: d.underlay, pos: here}],
      routing: {value: d.routing, pos: here},
      ipMasq: {value: d.ipMasq, pos: here},
      serviceCIDR: {value: d.serviceCIDR, pos: here},
      proxy: {value: d.proxy, pos: here},
    }
    if (!entry || entry.value === null) return defaults
    const m = this.map(entry.value, 'cluster', [
      'podCIDR',
      'nodeSubnetSize',
      'underlay',
      'routing',
      'ipMasq',
      'cni',
      'serviceCIDR',
      'proxy',
      'bgp',
    ])
    const out: Topology['cluster'] = {...defaults, given: [...m.keys()]}
    const podCIDR = m.get('podCIDR')
    if (podCIDR) out.podCIDR = this.str(podCIDR, 'cluster.podCIDR')
    const underlay = m.get('underlay')
    if (underlay) {
      const v = underlay.value
      if (isSeq(v)) {
        if (v.items.length === 0) this.fail(v, 'cluster.underlay must be a CIDR or a non-empty list of CIDRs (one per segment)')
        if (v.items.length > LIMITS.segments)
          this.fail(v, `cluster.underlay: too many segments (${v.items.length}; at most ${LIMITS.segments})`)
        out.underlay = v.items.map((item, k) => this.str({key: item as YamlNode, value: item as YamlNode}, `cluster.underlay[${k}]`))
      } else out.underlay = [this.str(underlay, 'cluster.underlay')]
    }
    const size = m.get('nodeSubnetSize')
    if (size) {
      const v = size.value
      if (!isScalar(v) || typeof v.value !== 'number' || !Number.isInteger(v.value) || v.value < 1 || v.value > 30) {
        this.fail(v ?? size.key, 'cluster.nodeSubnetSize must be a whole number from 1 to 30 (a prefix length)')
      }
      out.nodeSubnetSize = {value: v.value as number, pos: this.pos(v)}
    }
    const routing = m.get('routing')
    if (routing) {
      const r = this.str(routing, 'cluster.routing')
      if (!(ROUTING_MODES as readonly string[]).includes(r.value)) {
        this.fail(routing.value, `cluster.routing: unknown routing mode "${r.value}" (supported: ${ROUTING_MODES.join(', ')})`)
      }
      out.routing = r as Located<RoutingMode>
    }
    const ipMasq = m.get('ipMasq')
    if (ipMasq) {
      const v = ipMasq.value
      if (!isScalar(v) || typeof v.value !== 'boolean') this.fail(v ?? ipMasq.key, 'cluster.ipMasq must be true or false')
      out.ipMasq = {value: v.value as boolean, pos: this.pos(v)}
    }
    const cni = m.get('cni')
    if (cni) out.cni = parseCni(this, cni)
    const serviceCIDR = m.get('serviceCIDR')
    if (serviceCIDR) out.serviceCIDR = this.str(serviceCIDR, 'cluster.serviceCIDR')
    const proxy = m.get('proxy')
    if (proxy) out.proxy = this.proxy(proxy)
    const bgp = m.get('bgp')
    if (bgp) {
      if (out.routing.value !== 'bgp')
        this.fail(bgp.key, `cluster.bgp applies only to routing bgp (this lab's routing is ${out.routing.value})`)
      out.bgp = parseBgp(this, bgp)
    }
    return out
  }

  /** kube-proxy's mode; ipvs is named and refused with its reason (it needs the kernel's IPVS). */
  proxy(entry: {key: YamlNode; value: YamlNode | null}): Located<ProxyMode> {
    const p = this.str(entry, 'cluster.proxy')
    if (p.value === 'ipvs')
      this.fail(
        entry.value,
        "cluster.proxy: ipvs is not supported: it needs the kernel's IP Virtual Server, which this kernel " +
          `does not have (no /proc/net/ip_vs), so netlab could not test it (supported: ${PROXY_MODES.join(', ')})`,
      )
    if (!(PROXY_MODES as readonly string[]).includes(p.value))
      this.fail(entry.value, `cluster.proxy: unknown proxy mode "${p.value}" (supported: ${PROXY_MODES.join(', ')})`)
    return p as Located<ProxyMode>
  }

  nodes(entry: {key: YamlNode; value: YamlNode | null}): NodeSpec[] {
    const v = entry.value
    if (!isSeq(v) || v.items.length === 0) this.fail(v ?? entry.key, 'nodes must be a non-empty list')
    if (v.items.length > LIMITS.nodes) this.fail(v, `too many nodes (${v.items.length}; netlab builds at most ${LIMITS.nodes})`)
    // The pod limit is for the whole lab: 1000 nodes of 20,000 pods each would be millions of namespaces.
    let total = 0
    const nodes: NodeSpec[] = []
    v.items.forEach((item, i) => {
      const node = this.collect(() => this.node(item as YamlNode, `nodes[${i}]`))
      if (!node) return
      total += node.pods.length
      if (total > LIMITS.pods)
        throw new TopologyError(
          node.podsPos,
          `nodes[${i}].pods: too many pods (${total} so far; netlab builds at most ${LIMITS.pods} in a lab)`,
        )
      nodes.push(node)
    })
    return nodes
  }

  node(item: YamlNode, where: string): NodeSpec {
    const m = this.map(item, where, ['name', 'ip', 'podCIDR', 'pods', 'segment'])
    const nameEntry = m.get('name')
    if (!nameEntry) this.fail(item, `${where}: missing key "name"`)
    const name = this.nameOf(nameEntry, `${where}.name`, 'node', LIMITS.nodeName)
    const ipEntry = m.get('ip')
    const cidrEntry = m.get('podCIDR')
    const podsEntry = m.get('pods')
    let pods: PodSpec[] = []
    if (podsEntry && podsEntry.value !== null) {
      const pv = podsEntry.value
      if (isScalar(pv) && typeof pv.value === 'number') {
        if (!Number.isInteger(pv.value) || pv.value < 0) this.fail(pv, `${where}.pods must be a list of pods or a whole number`)
        if (pv.value > LIMITS.pods)
          this.fail(pv, `${where}.pods: too many pods (${pv.value}; netlab builds at most ${LIMITS.pods} in a lab)`)
        const at = this.pos(pv)
        pods = Array.from({length: pv.value}, (_, k) => ({name: {value: `${name.value}-p${k}`, pos: at}}))
      } else if (isSeq(pv)) {
        if (pv.items.length > LIMITS.pods)
          this.fail(pv, `${where}.pods: too many pods (${pv.items.length}; netlab builds at most ${LIMITS.pods} in a lab)`)
        pods = pv.items.flatMap((p, k) => this.collect(() => this.pod(p as YamlNode, `${where}.pods[${k}]`)) ?? [])
      } else {
        this.fail(pv, `${where}.pods must be a list of pods or a whole number`)
      }
    }
    return {
      name,
      ip: ipEntry ? this.str(ipEntry, `${where}.ip`) : undefined,
      podCIDR: cidrEntry ? this.str(cidrEntry, `${where}.podCIDR`) : undefined,
      pods,
      podsPos: this.pos(podsEntry?.value ?? podsEntry?.key ?? item),
      segment: this.segment(m.get('segment'), where),
    }
  }

  /** A segment index: a whole number; whether that segment exists is checked against cluster.underlay later. */
  segment(entry: {key: YamlNode; value: YamlNode | null} | undefined, where: string): Located<number> | undefined {
    if (!entry) return undefined
    const v = entry.value
    if (!isScalar(v) || typeof v.value !== 'number' || !Number.isInteger(v.value) || v.value < 0) {
      this.fail(v ?? entry.key, `${where}.segment must be a whole number from 0 (an index into cluster.underlay)`)
    }
    return {value: v.value as number, pos: this.pos(v)}
  }

  pod(item: YamlNode, where: string): PodSpec {
    this.noAlias(item, where)
    if (isScalar(item)) return {name: this.nameOf({key: item, value: item}, where, 'pod', LIMITS.podName)}
    const m = this.map(item, where, ['name', 'namespace', 'ip', 'labels', 'ports'])
    const nameEntry = m.get('name')
    if (!nameEntry) this.fail(item, `${where}: missing key "name"`)
    const nsEntry = m.get('namespace')
    const namespace = nsEntry ? namespaceRef(this, nsEntry, `${where}.namespace`) : undefined
    const name = this.nameOf(nameEntry, `${where}.name`, 'pod', LIMITS.podName)
    const ipEntry = m.get('ip')
    const labelsEntry = m.get('labels')
    const labels = labelsEntry ? {labels: parseLabels(this, labelsEntry, `${where}.labels`)} : {}
    const portsEntry = m.get('ports')
    const ports = portsEntry ? parsePodPorts(this, portsEntry, `${where}.ports`) : []
    return {
      name: {value: podName(namespace?.value, name.value), pos: name.pos},
      ...(namespace ? {namespace} : {}),
      ip: ipEntry ? this.str(ipEntry, `${where}.ip`) : undefined,
      ...labels,
      ...(ports.length > 0 ? {ports} : {}),
    }
  }

  externals(entry: {key: YamlNode; value: YamlNode | null}): ExternalSpec[] {
    const v = entry.value
    if (v === null) return []
    if (!isSeq(v)) this.fail(v, 'external must be a list of hosts')
    if (v.items.length > 16) this.fail(v, `too many external hosts (${v.items.length}; at most 16)`)
    return v.items.flatMap((item, i) => {
      const where = `external[${i}]`
      const host = this.collect(() => this.external(item as YamlNode, where))
      return host ? [host] : []
    })
  }

  external(item: YamlNode, where: string): ExternalSpec {
    const m = this.map(item, where, ['name', 'ip', 'segment', 'vpc'])
    const nameEntry = m.get('name')
    if (!nameEntry) this.fail(item as YamlNode, `${where}: missing key "name"`)
    const ipEntry = m.get('ip')
    const vpc = m.get('vpc')
    if (vpc && (!isScalar(vpc.value) || typeof vpc.value.value !== 'boolean'))
      this.fail(vpc.value ?? vpc.key, `${where}.vpc must be true (a VM in the cluster's VPC) or false (the internet)`)
    return {
      name: this.nameOf(nameEntry, `${where}.name`, 'external host', LIMITS.externalName),
      ip: ipEntry ? this.str(ipEntry, `${where}.ip`) : undefined,
      segment: this.segment(m.get('segment'), where),
      ...(vpc ? {vpc: {value: (vpc.value as {value: boolean}).value, pos: this.pos(vpc.value)}} : {}),
    }
  }
}
