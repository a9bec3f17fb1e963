// Services on a real lab, for each kube-proxy mode in MODES, proven from inside the namespaces:
// a pod's connection to a ClusterIP is answered by an endpoint that sees the pod's own address;
// a same-node endpoint and a pod reaching itself (hairpin) answer, with br_netfilter handing
// bridged frames to iptables and without; the node's own connections; NodePort from an external
// host and from another node (Cluster: seen as the node; Local: the client's address kept, and a
// node without a local endpoint silent); ClientIP affinity; a Service without endpoints refused at
// once. The servers are the lab's own workload (an echo server on each port a pod declares, whose
// HTTP answer names the client address it saw and the namespace that answered); the clients are
// curl in the namespaces.
import {execFileSync, spawnSync} from 'node:child_process'
import {beforeAll, describe, expect, it} from 'vitest'
import {CLUSTER} from '../helpers/constants.js'
import {ipIn, isRoot, labSandbox, netlab, uniqueLab, writeTopology} from '../helpers/lab.js'
import {ROUTING_MODES, routingMode} from '../../src/modes/index.js'

/** kube-proxy's modes this file proves (services-nftables.test.ts adds checks of the nftables mode's own). */
const MODES = ['iptables', 'nftables']
/**
 * Each mode on netlab's own bridge wiring, and on pods wired by the CNI reference bridge plugin
 * (whose conflist gets hairpinMode in a lab with Services). A CNI lab's pods keep their subnet's
 * connected route (the plugin's), so a same-node reply crosses the node only through
 * br_netfilter: there, as in a real cluster, bridge-nf-call-iptables=1 is required.
 */
const VARIANTS = MODES.flatMap((proxy) => [
  {proxy, cni: undefined, bridgeNf: [1, 0] as const},
  {proxy, cni: 'reference', bridgeNf: [1] as const},
])
const title = (v: (typeof VARIANTS)[number]) => `${v.proxy} mode${v.cni ? `, pods wired by the CNI preset ${v.cni}` : ''}`

const N0 = {ip: '192.168.50.10', gateway: '10.244.0.1'}
const N1 = {ip: '192.168.50.11', gateway: '10.244.1.1'}
const POD = {web0: '10.244.0.10', client: '10.244.0.11', web1: '10.244.1.10', api1: '10.244.1.11'}
const VIP = {web: '10.96.0.10', webNp: '10.96.0.11', apiLocal: '10.96.0.12', sticky: '10.96.0.13', empty: '10.96.0.14', self: '10.96.0.15'}
const INTERNET = '203.0.113.10'

function topology(lab: string, proxy: string, cni?: string): Record<string, unknown> {
  const http = () => [{name: 'http', port: 8080}]
  return {
    name: lab,
    cluster: {
      podCIDR: '10.244.0.0/16',
      nodeSubnetSize: 24,
      underlay: '192.168.50.0/24',
      routing: 'host-gw',
      serviceCIDR: '10.96.0.0/16',
      proxy,
      ...(cni ? {cni: {preset: cni}} : {}),
    },
    nodes: [
      {
        name: 'n0',
        ip: N0.ip,
        pods: [
          {name: 'web-0', ip: POD.web0, labels: {app: 'web', solo: 'yes'}, ports: http()},
          {name: 'client', ip: POD.client},
        ],
      },
      {
        name: 'n1',
        ip: N1.ip,
        pods: [
          {name: 'web-1', ip: POD.web1, labels: {app: 'web'}, ports: http()},
          {name: 'api-1', ip: POD.api1, labels: {app: 'api'}, ports: [{port: 8443}]},
        ],
      },
    ],
    external: [{name: 'internet', ip: INTERNET}],
    services: [
      {name: 'web', clusterIP: VIP.web, selector: {app: 'web'}, ports: [{name: 'http', port: 80, targetPort: 'http'}]},
      {
        name: 'web-np',
        clusterIP: VIP.webNp,
        type: 'NodePort',
        selector: {app: 'web'},
        ports: [{port: 80, targetPort: 8080, nodePort: 30080}],
      },
      {
        name: 'api-local',
        clusterIP: VIP.apiLocal,
        type: 'NodePort',
        externalTrafficPolicy: 'Local',
        selector: {app: 'api'},
        ports: [{port: 443, targetPort: 8443, nodePort: 30443}],
      },
      {name: 'sticky', clusterIP: VIP.sticky, sessionAffinity: 'ClientIP', selector: {app: 'web'}, ports: [{port: 81, targetPort: 8080}]},
      {name: 'empty', clusterIP: VIP.empty, selector: {app: 'nothing'}, ports: [{port: 80}]},
      {name: 'self', clusterIP: VIP.self, selector: {solo: 'yes'}, ports: [{port: 82, targetPort: 8080}]},
    ],
  }
}

interface Answer {
  /** curl's exit code: 0 answered, 7 refused, 28 timed out */
  code: number
  seen?: string
  servedBy?: string
  ms: number
}

/** An HTTP GET from inside namespace `netns`: what the server saw and who answered. */
function fetchFrom(netns: string, host: string, port: number, timeout = 2): Answer {
  const t0 = Date.now()
  const r = spawnSync(
    'ip',
    ['netns', 'exec', netns, 'curl', '-s', '-m', String(timeout), '-D', '-', '-o', '/dev/null', `http://${host}:${port}/`],
    {
      encoding: 'utf8',
    },
  )
  const header = (name: string) => new RegExp(`^X-Netlab-${name}: *(\\S+)`, 'im').exec(r.stdout)?.[1]
  return {code: r.status ?? -1, seen: header('Seen'), servedBy: header('Served-By'), ms: Date.now() - t0}
}

const setBridgeNf = (netns: string, value: 0 | 1) =>
  execFileSync('ip', ['netns', 'exec', netns, 'sysctl', '-q', `net.bridge.bridge-nf-call-iptables=${value}`])

describe.skipIf(!isRoot).each(VARIANTS.map((v) => [title(v), v] as const))(
  'Services through kube-proxy (%s), proven from the namespaces',
  (_, {proxy, cni, bridgeNf}) => {
    const {stateDir, env, track} = labSandbox()
    const lab = track(uniqueLab(`svc-${proxy}${cni ? '-cni' : ''}`))
    const ns = (member: string) => `netlab-${lab}.${member}`

    const get = (member: string, host: string, port: number, timeout = 2) => fetchFrom(ns(member), host, port, timeout)
    const many = (n: number, member: string, host: string, port: number) => Array.from({length: n}, () => get(member, host, port))

    beforeAll(async () => {
      const up = netlab(['up', writeTopology(stateDir, topology(lab, proxy, cni)), '-q'], env)
      expect(up.code, up.stderr).toBe(0)
    }, 60_000)

    it("pod → ClusterIP: every answer from an endpoint of the Service, each endpoint in turn, the pod's own address seen (no SNAT)", () => {
      const answers = many(20, 'client', VIP.web, 80)
      expect(answers.map((a) => a.code)).toEqual(Array(20).fill(0))
      expect(new Set(answers.map((a) => a.servedBy))).toEqual(new Set([ns('web-0'), ns('web-1')]))
      expect(new Set(answers.map((a) => a.seen))).toEqual(new Set([POD.client]))
    })

    for (const nf of bridgeNf) {
      it(`an endpoint on the client's own node, and hairpin (a pod through its own Service), with bridge-nf-call-iptables=${nf} on the node`, () => {
        setBridgeNf(ns('n0'), nf)
        try {
          // "self" has one endpoint, web-0, on the client's node: every try goes there
          for (const a of many(5, 'client', VIP.self, 82)) expect(a).toMatchObject({code: 0, servedBy: ns('web-0'), seen: POD.client})
          // web-0 reaching itself: kube-proxy masquerades it (KUBE-SEP's -s rule), so it sees its node's address on cni0
          for (const a of many(5, 'web-0', VIP.self, 82)) expect(a).toMatchObject({code: 0, servedBy: ns('web-0'), seen: N0.gateway})
        } finally {
          setBridgeNf(ns('n0'), 1)
        }
      })
    }

    it('node → ClusterIP: answered, from either node', () => {
      for (const node of ['n0', 'n1']) {
        const answers = many(6, node, VIP.web, 80)
        expect(answers.map((a) => a.code)).toEqual(Array(6).fill(0))
        for (const a of answers) expect([ns('web-0'), ns('web-1')]).toContain(a.servedBy)
      }
    })

    it('NodePort, externalTrafficPolicy Cluster: answered via either node, from an external host and from the other node, seen as that node', () => {
      for (const [node, addrs] of [
        [N0.ip, [N0.ip, N0.gateway]],
        [N1.ip, [N1.ip, N1.gateway]],
      ] as const) {
        for (const client of ['internet', node === N0.ip ? 'n1' : 'n0']) {
          const answers = many(6, client, node, 30080)
          expect(answers.map((a) => a.code)).toEqual(Array(6).fill(0))
          for (const a of answers) expect(addrs).toContain(a.seen)
        }
      }
    })

    it('NodePort, externalTrafficPolicy Local: the client address kept on the node with the endpoint; a node without one does not answer', () => {
      for (const a of many(3, 'internet', N1.ip, 30443)) expect(a).toMatchObject({code: 0, servedBy: ns('api-1'), seen: INTERNET})
      const silent = get('internet', N0.ip, 30443, 1)
      expect(silent.code).toBe(28) // dropped (KUBE-EXTERNAL-SERVICES), not refused
    })

    it('ClientIP affinity: one client, one endpoint, every try', () => {
      const answers = many(10, 'client', VIP.sticky, 81)
      expect(answers.map((a) => a.code)).toEqual(Array(10).fill(0))
      expect(new Set(answers.map((a) => a.servedBy)).size).toBe(1)
    })

    it('a Service without endpoints is refused at once (ECONNREFUSED, not a timeout), from a pod and from a node', () => {
      for (const member of ['client', 'n1']) {
        const a = get(member, VIP.empty, 80)
        // curl's 7 is ECONNREFUSED (only the REJECT makes one); a missing rule would be a timeout, 28
        expect(a.code).toBe(7)
      }
    })
  },
)

// Every routing mode: an endpoint on the client's own node and hairpin, with br_netfilter handing
// bridged frames to iptables and without (bridge modes: routed pods and hairpin mode; aws-vpc:
// point-to-point pods, which need neither).
describe.skipIf(!isRoot).each(ROUTING_MODES)('a same-node endpoint and hairpin in routing mode %s', (routing) => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab(`svc-${routing}`))
  const ns = (member: string) => `netlab-${lab}.${member}`
  const VIP_SELF = '10.96.0.10'
  const addr = (member: string) => /inet (\S+)\//.exec(ipIn(ns(member), ['-4', 'addr', 'show', 'dev', 'eth0']))![1]

  beforeAll(async () => {
    const {podCIDR, nodeSubnetSize, ...rest} = CLUSTER
    const http = [{name: 'http', port: 8080}]
    const topo = {
      name: lab,
      cluster: {...(routingMode(routing).podsInUnderlay ? rest : {podCIDR, nodeSubnetSize, ...rest}), routing},
      nodes: [
        {name: 'n0', pods: [{name: 'web-0', labels: {app: 'web'}, ports: http}, {name: 'client'}]},
        {name: 'n1', pods: ['other']},
      ],
      services: [{name: 'self', clusterIP: VIP_SELF, selector: {app: 'web'}, ports: [{port: 82, targetPort: 8080}]}],
    }
    const up = netlab(['up', writeTopology(stateDir, topo), '-q'], env)
    expect(up.code, up.stderr).toBe(0)
  }, 60_000)

  for (const nf of [1, 0] as const)
    it(`bridge-nf-call-iptables=${nf}: the client's own address seen by its node's endpoint; the endpoint reaches itself`, () => {
      setBridgeNf(ns('n0'), nf)
      try {
        for (let i = 0; i < 3; i++) {
          expect(fetchFrom(ns('client'), VIP_SELF, 82)).toMatchObject({code: 0, servedBy: ns('web-0'), seen: addr('client')})
          expect(fetchFrom(ns('web-0'), VIP_SELF, 82)).toMatchObject({code: 0, servedBy: ns('web-0')})
        }
      } finally {
        setBridgeNf(ns('n0'), 1)
      }
    })
})
