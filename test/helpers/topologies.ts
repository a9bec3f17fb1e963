// Random topologies that are valid by construction, for the property tests (test/unit/
// topology-property.test.ts on the pure core, test/integration/topology-property.test.ts on real
// namespaces), and a runner that prints a failing topology, shrunk, as YAML to replay with
// `netlab up`.
//
// What is drawn: 1-6 nodes with 0-5 pods each (written as a count, a list of names, a list of
// {name, ip}, `pods: []`, `pods: 0` or no pods key at all; some names long enough that the
// node-side veth gets a hashed name), node subnets /22 to /29 in a cluster range of 2^3 to
// 2^10 of them, an underlay /24 to /29, 0-2 external hosts, ipMasq on, off or left to its
// default; a routing mode from the registry (every mode whose pods take their node's subnet),
// and, for the modes that allow it, a second underlay segment with nodes and hosts on either. Fixed node addresses, node subnets and pod addresses are mixed with automatic ones.
// Fixed pod addresses are only drawn on nodes whose subnet is fixed too: which subnet an
// automatic node gets is the model's business, and a generator that predicted it would only
// mirror the code under test.
import fc from 'fast-check'
import {stringify} from 'yaml'
import {ROUTING_MODES, routingMode} from '../../src/modes/index.js'

/** The modes these topologies suit: pods addressed from their node's subnet, outside the underlay. */
const GENERATED_MODES = ROUTING_MODES.filter((m) => !routingMode(m).podsInUnderlay)

const quad = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
export const toInt = (ip: string): number => ip.split('.').reduce((a, b) => a * 256 + Number(b), 0)
/** [first, last] address of a CIDR */
export function range(cidr: string): [number, number] {
  const [ip, len] = cidr.split('/')
  const size = 2 ** (32 - Number(len))
  return [toInt(ip), toInt(ip) + size - 1]
}

interface PodDoc {
  name: string
  ip?: string
  labels?: Record<string, string>
  ports?: {name: string; port: number; protocol?: 'UDP'}[]
}

export interface TopologyDoc {
  name: string
  cluster: {
    podCIDR: string
    nodeSubnetSize: number
    underlay: string | string[]
    routing: string
    ipMasq?: boolean
    serviceCIDR?: string
    proxy?: string
  }
  nodes: {name: string; ip?: string; podCIDR?: string; segment?: number; pods?: number | (string | PodDoc)[]}[]
  external?: {name: string; ip?: string; segment?: number}[]
  services?: ServiceDoc[]
}

interface ServiceDoc {
  name: string
  selector: Record<string, string>
  type?: 'NodePort'
  externalTrafficPolicy?: 'Local'
  sessionAffinity?: 'ClientIP'
  ports: {name: string; port: number; targetPort: number | string; protocol?: 'UDP'}[]
}

const POD_FORMS = ['count', 'names', 'objects'] as const
const EMPTY_FORMS = ['list', 'zero', 'missing'] as const

const nodeChoice = fc.record({
  pods: fc.integer({min: 0, max: 5}),
  form: fc.constantFrom(...POD_FORMS),
  emptyForm: fc.constantFrom(...EMPTY_FORMS),
  longNames: fc.boolean(),
  /** on the second segment, when there is one */
  second: fc.boolean(),
  ip: fc.option(fc.nat(), {nil: undefined}),
  subnet: fc.option(fc.nat(), {nil: undefined}),
  /** per pod: a fixed address (an offset into the node's subnet) or automatic */
  podIps: fc.array(fc.option(fc.nat(), {nil: undefined}), {minLength: 5, maxLength: 5}),
})

const choices = fc.record({
  size: fc.integer({min: 22, max: 29}),
  subnetBits: fc.integer({min: 3, max: 10}), // 2^3 = 8 node subnets at least: room for 6 nodes
  podBlock: fc.nat(),
  underlayPrefix: fc.integer({min: 24, max: 29}), // a /29 has 6 host addresses: room for 6 nodes
  underlayBlock: fc.nat(),
  ipMasq: fc.option(fc.boolean(), {nil: undefined}),
  nodes: fc.array(nodeChoice, {minLength: 1, maxLength: 6}),
  external: fc.array(fc.record({ip: fc.option(fc.nat(), {nil: undefined}), second: fc.boolean()}), {maxLength: 2}),
  mode: fc.constantFrom(...GENERATED_MODES),
  twoSegments: fc.boolean(),
})

/** Take `want` (modulo the range) from `free`, or the next free one after it: fixed values stay distinct. */
function take(free: number[], want: number): number {
  const i = want % free.length
  return free.splice(i, 1)[0]
}

/**
 * A valid topology named `name`; with `services`, some of them (about half) get Services too
 * (withServices). Without it, the draws are what they always were.
 */
export function validTopology(name: string, opts: {services?: boolean} = {}): fc.Arbitrary<TopologyDoc> {
  const plain = plainTopology(name)
  if (!opts.services) return plain
  return fc
    .tuple(
      plain,
      fc.oneof(fc.constant(undefined), fc.array(serviceChoice, {minLength: 1, maxLength: 3})), // half of them, each half as likely
    )
    .map(([t, services]) => (services ? withServices(t, services) : t))
}

function plainTopology(name: string): fc.Arbitrary<TopologyDoc> {
  return choices.map((c) => {
    const podPrefix = c.size - c.subnetBits // 12 to 26: inside 10.0.0.0/8
    const podBase = 10 * 2 ** 24 + (c.podBlock % 2 ** (podPrefix - 8)) * 2 ** (32 - podPrefix)
    // a router takes an address of every segment: a /29 (6 hosts) then holds only 5 nodes
    const two = c.twoSegments && !routingMode(c.mode).oneSegment
    const underlayPrefix = routingMode(c.mode).router || two ? Math.min(c.underlayPrefix, 28) : c.underlayPrefix
    const underBase = toInt('192.168.0.0') + (c.underlayBlock % 2 ** (underlayPrefix - 16)) * 2 ** (32 - underlayPrefix)
    const underSize = 2 ** (32 - underlayPrefix)
    const subnetSize = 2 ** (32 - c.size)
    const freeHosts = Array.from({length: underSize - 2}, (_, k) => underBase + 1 + k)
    // a second segment (a /24 in 172.16.0.0/12) for the modes that allow nodes on several
    const secondBase = toInt('172.16.0.0') + (c.underlayBlock % 4096) * 256
    const freeSecond = Array.from({length: 254}, (_, k) => secondBase + 1 + k)
    const freeSubnets = Array.from({length: 2 ** c.subnetBits}, (_, k) => k)
    const nodes = c.nodes.map((n, i) => {
      const nodeName = n.longNames ? `node-${i}` : `n${i}`
      const node: TopologyDoc['nodes'][number] = {name: nodeName}
      const onSecond = two && n.second
      if (onSecond) node.segment = 1
      if (n.ip !== undefined) node.ip = quad(take(onSecond ? freeSecond : freeHosts, n.ip))
      let subnet: number | undefined
      if (n.subnet !== undefined) {
        subnet = podBase + take(freeSubnets, n.subnet) * subnetSize
        node.podCIDR = `${quad(subnet)}/${c.size}`
      }
      // a /29 holds 5 pods: its network, gateway (.1) and broadcast addresses are not for pods
      const hostOffsets = Array.from({length: subnetSize - 3}, (_, k) => k + 2)
      const podName = (k: number) => (n.longNames ? `${nodeName}-pod-with-a-long-name-${k}` : `${nodeName}-q${k}`)
      if (n.pods === 0) {
        if (n.emptyForm === 'list') node.pods = []
        else if (n.emptyForm === 'zero') node.pods = 0
      } else if (n.form === 'count') {
        node.pods = n.pods
      } else if (n.form === 'names') {
        node.pods = Array.from({length: n.pods}, (_, k) => podName(k))
      } else {
        node.pods = Array.from({length: n.pods}, (_, k) => {
          const want = n.podIps[k]
          return subnet !== undefined && want !== undefined
            ? {name: podName(k), ip: quad(subnet + take(hostOffsets, want))}
            : {name: podName(k)}
        })
      }
      return node
    })
    // fixed external addresses from TEST-NET-2; automatic ones are 203.0.113.10 and up (TEST-NET-3)
    const freeExternal = Array.from({length: 254}, (_, k) => toInt('198.51.100.1') + k)
    const external = c.external.map((x, i) => ({
      name: `x${i}`,
      ...(x.ip === undefined ? {} : {ip: quad(take(freeExternal, x.ip))}),
      ...(two && x.second ? {segment: 1} : {}),
    }))
    const first = `${quad(underBase)}/${underlayPrefix}`
    return {
      name,
      cluster: {
        podCIDR: `${quad(podBase)}/${podPrefix}`,
        nodeSubnetSize: c.size,
        underlay: two ? [first, `${quad(secondBase)}/24`] : first,
        routing: c.mode,
        ...(c.ipMasq === undefined ? {} : {ipMasq: c.ipMasq}),
      },
      nodes,
      ...(external.length > 0 ? {external} : {}),
    }
  })
}

const serviceChoice = fc.record({
  /** its selector: app a0, a1 or a2 (pods take them in turn), or a3, which no pod has (no endpoints) */
  app: fc.integer({min: 0, max: 3}),
  nodePort: fc.boolean(),
  local: fc.boolean(),
  affinity: fc.boolean(),
  /** targetPort by a pod port's name (only pods that declare it are endpoints) or by number (every selected pod) */
  named: fc.boolean(),
  udp: fc.boolean(),
})

type ServiceChoice = typeof serviceChoice extends fc.Arbitrary<infer T> ? T : never

/** The kube-proxy modes the generated Services run on: a lab's mode follows from how many Services it drew. */
const GENERATED_PROXIES = ['iptables', 'nftables'] as const

/**
 * The topology with Services: every pod gets a label (app a0, a1, a2 in turn) and every other
 * one declares ports (http 8080, dns 5353/UDP: the workload serves them; on the others the probe
 * serves a numeric target port itself); each Service a ClusterIP or NodePort, externalTrafficPolicy
 * Local or not, ClientIP affinity or not, a TCP port and maybe a UDP one. The service range is
 * 100.64.0.0/16, outside every range drawn above.
 */
function withServices(t: TopologyDoc, choices: ServiceChoice[]): TopologyDoc {
  let g = 0
  const nodes = t.nodes.map((n) => {
    const count = typeof n.pods === 'number' ? n.pods : (n.pods?.length ?? 0)
    if (count === 0) return n
    const given = Array.isArray(n.pods) ? n.pods : []
    const pods = Array.from({length: count}, (_, k): PodDoc => {
      const p = given[k]
      const base = typeof p === 'object' ? p : {name: typeof p === 'string' ? p : `${n.name}-s${k}`}
      const i = g++
      return {
        ...base,
        labels: {app: `a${i % 3}`},
        ...(i % 2 === 0
          ? {
              ports: [
                {name: 'http', port: 8080},
                {name: 'dns', port: 5353, protocol: 'UDP' as const},
              ],
            }
          : {}),
      }
    })
    return {...n, pods}
  })
  const services = choices.map((c, i): ServiceDoc => ({
    name: `s${i}`,
    selector: {app: `a${c.app}`},
    ...(c.nodePort ? {type: 'NodePort' as const} : {}),
    ...(c.nodePort && c.local ? {externalTrafficPolicy: 'Local' as const} : {}),
    ...(c.affinity ? {sessionAffinity: 'ClientIP' as const} : {}),
    ports: [
      {name: 't', port: 80 + i, targetPort: c.named ? 'http' : 8080},
      ...(c.udp ? [{name: 'u', port: 53, protocol: 'UDP' as const, targetPort: c.named ? 'dns' : 5353}] : []),
    ],
  }))
  return {
    ...t,
    cluster: {...t.cluster, serviceCIDR: '100.64.0.0/16', proxy: GENERATED_PROXIES[choices.length % GENERATED_PROXIES.length]},
    nodes,
    services,
  }
}

export const toYaml = (t: TopologyDoc): string => stringify(t)

/** The seed of a property run: NETLAB_PROPERTY_SEED replays one that failed. */
export const propertySeed = (fallback: number): number =>
  process.env.NETLAB_PROPERTY_SEED ? Number(process.env.NETLAB_PROPERTY_SEED) : fallback

/**
 * Check a property of topologies; on failure, throw with the seed and the smallest failing
 * topology as YAML (save it and run `netlab up` on it to replay).
 */
export async function checkTopologies<T = TopologyDoc>(
  arb: fc.Arbitrary<T>,
  predicate: (t: T) => void | Promise<void>,
  params: fc.Parameters<[T]>,
): Promise<void> {
  const details = await fc.check(
    fc.asyncProperty(arb, async (t) => void (await predicate(t))),
    params,
  )
  if (details.failed) {
    const t = details.counterexample![0]
    const why = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
    throw new Error(
      `property failed after ${details.numRuns} run(s), ${details.numShrinks} shrink(s); seed ${details.seed}, path "${details.counterexamplePath}"` +
        `${details.interrupted ? ' (shrinking was cut short by the time limit)' : ''}\n${why}\n\nthe topology, shrunk:\n---\n${stringify(t)}---`,
    )
  }
  if (details.interrupted)
    throw new Error(
      `property interrupted by its time limit after ${details.numRuns} of ${params.numRuns} runs, all passed; the machine is too slow for this bound`,
    )
}
