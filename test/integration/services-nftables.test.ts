// Services in kube-proxy's nftables mode, proven from the kernel: a small lab brought up through
// the CLI with `proxy: nftables`, a server of our own on each endpoint (assets/netlab-probe.pl's
// HTTP echo: it names the namespace that answered and the client address it saw), and curl from
// inside the namespaces. Pod -> ClusterIP (no SNAT, every endpoint answers), node -> ClusterIP,
// NodePort from an external host and from another node (externalTrafficPolicy Cluster: seen as
// the node; Local: the client kept, only the node with the endpoint answers), ClientIP
// affinity, a Service without endpoints refused at once, and hairpin (a pod through its own
// Service). The checks are small functions of (lab facts) so services.test.ts can run them for
// each proxy mode.
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {execa, type ResultPromise} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {stringify} from 'yaml'
import {buildModel} from '../../src/compile/model.js'
import {parseTopology} from '../../src/topology/parse.js'
import type {LabModel, ServiceModel} from '../../src/model/types.js'
import {CLUSTER, INTERNET, ROOT} from '../helpers/constants.js'
import {isRoot, labNetns, labSandbox, netlab, rootSnapshot, uniqueLab} from '../helpers/lab.js'
import {upInProcess} from '../helpers/in-process.js'

const PORT = 8080

/** n0: web-0, api-0, client; n1: web-1, client-1; an external host. No pod declares ports: our server is the only one. */
function topology(lab: string, proxy: string): Record<string, unknown> {
  return {
    name: lab,
    cluster: {...CLUSTER, proxy, serviceCIDR: '10.96.0.0/16'},
    nodes: [
      {
        name: 'n0',
        pods: [
          {name: 'web-0', labels: {app: 'web'}},
          {name: 'api-0', labels: {app: 'api'}},
          {name: 'client', labels: {app: 'client'}},
        ],
      },
      {
        name: 'n1',
        pods: [
          {name: 'web-1', labels: {app: 'web'}},
          {name: 'client-1', labels: {app: 'client'}},
        ],
      },
    ],
    external: [{...INTERNET}],
    services: [
      {name: 'web', selector: {app: 'web'}, ports: [{port: 80, targetPort: PORT}]},
      {name: 'web-np', type: 'NodePort', selector: {app: 'web'}, ports: [{port: 81, targetPort: PORT}]},
      {name: 'api-local', type: 'NodePort', externalTrafficPolicy: 'Local', selector: {app: 'api'}, ports: [{port: 82, targetPort: PORT}]},
      {name: 'sticky', sessionAffinity: 'ClientIP', selector: {app: 'web'}, ports: [{port: 83, targetPort: PORT}]},
      {name: 'empty', type: 'NodePort', selector: {app: 'nobody'}, ports: [{port: 84}]},
    ],
  }
}

export interface Answer {
  /** curl's exit code: 0 answered, 7 refused, 28 timed out */
  exit: number
  ms: number
  seen?: string
  servedBy?: string
}

/** An HTTP GET from inside `netns` to ip:port, as curl sees it. */
export function get(netns: string, ip: string, port: number, timeoutS = 3): Answer {
  const started = performance.now()
  const r = spawnSync(
    'ip',
    ['netns', 'exec', netns, 'curl', '-s', '-m', String(timeoutS), '-D', '-', '-o', '/dev/null', `http://${ip}:${port}/`],
    {
      encoding: 'utf8',
    },
  )
  const header = (name: string) => new RegExp(`^${name}: *(\\S+)`, 'mi').exec(r.stdout)?.[1]
  return {exit: r.status ?? -1, ms: performance.now() - started, seen: header('X-Netlab-Seen'), servedBy: header('X-Netlab-Served-By')}
}

/** The lab's facts, as netlab computed them (the same topology through the same model). */
export interface Facts {
  model: LabModel
  netns: (member: string) => string
  service: (name: string) => ServiceModel
  /** the namespaces of a Service's endpoints (what X-Netlab-Served-By names) */
  endpointNetns: (s: ServiceModel) => string[]
}

export function factsOf(topo: Record<string, unknown>): Facts {
  const model = buildModel(parseTopology(stringify(topo), 'services.yaml'))
  const netns = (member: string) => `netlab-${model.lab}.${member}`
  return {
    model,
    netns,
    service: (name) => model.services!.list.find((s) => s.name === name)!,
    endpointNetns: (s) => s.ports[0].endpoints.map((e) => netns(e.pod)),
  }
}

/** Pod -> ClusterIP: every answer from an endpoint, which saw the client pod's own address; over `tries`, every endpoint answers. */
export function checkClusterIP(f: Facts, client: string, s: ServiceModel, tries = 24): void {
  const clientIp = f.model.nodes.flatMap((n) => n.pods).find((p) => p.name === client)?.ip
  const served = new Set<string>()
  for (let i = 0; i < tries; i++) {
    const a = get(f.netns(client), s.clusterIP, s.ports[0].port)
    expect(a.exit, `${client} -> ${s.name}`).toBe(0)
    expect(f.endpointNetns(s)).toContain(a.servedBy)
    if (clientIp) expect(a.seen, `${client} -> ${s.name}: no SNAT`).toBe(clientIp)
    served.add(a.servedBy!)
  }
  expect([...served].sort()).toEqual([...new Set(f.endpointNetns(s))].sort())
}

/** A NodePort on `node`'s underlay address from `from`: answered by an endpoint that saw `seen` (one of them). */
export function checkNodePort(f: Facts, from: string, node: string, s: ServiceModel, seen: string[]): void {
  const n = f.model.nodes.find((x) => x.name === node)!
  const a = get(f.netns(from), n.ip, s.ports[0].nodePort!)
  expect(a.exit, `${from} -> ${node}:${s.ports[0].nodePort}`).toBe(0)
  expect(f.endpointNetns(s)).toContain(a.servedBy)
  expect(seen, `${from} -> ${node}:${s.ports[0].nodePort} seen as`).toContain(a.seen)
}

/** A NodePort that must not answer on `node` (externalTrafficPolicy Local, no endpoint there): dropped, so curl times out. */
export function checkNodePortSilent(f: Facts, from: string, node: string, s: ServiceModel): void {
  const n = f.model.nodes.find((x) => x.name === node)!
  expect(get(f.netns(from), n.ip, s.ports[0].nodePort!, 1).exit, `${from} -> ${node}:${s.ports[0].nodePort}`).toBe(28)
}

/**
 * An off-cluster client (an external host given a route for the service range via `node`, as a
 * real network may route it to any node) reaches a ClusterIP: kube-proxy masquerades a source
 * outside its cluster CIDR, so every endpoint, on any node, answers through `node` and sees it.
 */
export function checkOffCluster(f: Facts, external: string, node: string, s: ServiceModel, tries = 8): void {
  const n = f.model.nodes.find((x) => x.name === node)!
  execFileSync('ip', ['-n', f.netns(external), 'route', 'replace', f.model.services!.serviceCIDR, 'via', n.ip])
  for (let i = 0; i < tries; i++) {
    const a = get(f.netns(external), s.clusterIP, s.ports[0].port)
    expect(a.exit, `${external} -> ${s.name} via ${node}`).toBe(0)
    expect(f.endpointNetns(s)).toContain(a.servedBy)
    expect([n.ip, n.gateway], `${external} -> ${s.name} via ${node}: seen as`).toContain(a.seen)
  }
}

/** ClientIP affinity: one client, one endpoint, every try. */
export function checkAffinity(f: Facts, client: string, s: ServiceModel, tries = 12): void {
  const served = new Set(Array.from({length: tries}, () => get(f.netns(client), s.clusterIP, s.ports[0].port).servedBy))
  expect(served.size, `${client} -> ${s.name}: ${[...served].join(', ')}`).toBe(1)
  expect(f.endpointNetns(s)).toContain([...served][0])
}

/** No endpoints: refused (ECONNREFUSED: curl exit 7), which only the REJECT makes; a missing rule would time out (28). */
export function checkRefused(netns: string, ip: string, port: number): void {
  const a = get(netns, ip, port)
  expect(a.exit, `${netns} -> ${ip}:${port}`).toBe(7)
}

/** Hairpin: an endpoint reaches itself through its own Service (kube-proxy masquerades it, so it sees its node, not itself). */
export function checkHairpin(f: Facts, pod: string, s: ServiceModel): void {
  const a = get(f.netns(pod), s.clusterIP, s.ports[0].port)
  expect(a.exit, `${pod} -> ${s.name} (hairpin)`).toBe(0)
  expect(a.servedBy).toBe(f.netns(pod))
  const node = f.model.nodes.find((n) => n.pods.some((p) => p.name === pod))!
  expect([node.gateway, node.ip]).toContain(a.seen)
}

/**
 * Our own HTTP echo on `port` of every endpoint pod (not the workload's: this test proves the
 * rules, whatever serves): netlab-probe.pl told to serve, then to run no clients; it serves until
 * its input ends. Resolves once it is listening.
 */
export async function startServers(f: Facts, port: number): Promise<{proc: ResultPromise}> {
  const pods = [...new Set(f.model.services!.list.flatMap((s) => s.ports.flatMap((p) => p.endpoints)).map((e) => `${e.pod}\t${e.ip}`))]
  const lines = [...pods.map((p) => `serve\t${f.netns(p.split('\t')[0])}\t${p.split('\t')[1]}\ttcp\t${port}`), 'ready', 'end', 'go']
  const server = execa('perl', [join(ROOT, 'assets', 'netlab-probe.pl'), 'netlab-test-server'], {
    stdin: 'pipe',
    buffer: false,
    reject: false,
  })
  server.stdin!.write(`${lines.join('\n')}\n`)
  let out = ''
  await new Promise<void>((resolve, reject) => {
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      if (/^unbound/m.test(out)) reject(new Error(`server: ${out}`))
      if (/^done$/m.test(out)) resolve()
    })
    void server.then((r) => reject(new Error(`server exited: ${String(r.exitCode)} ${String(r.stderr)}`)))
  })
  // wrapped: an async function returning the process itself would wait for it to exit (it is a promise)
  return {proc: server}
}

/** Stop a server we started, by its PID. */
export function stopServer(server: {proc: ResultPromise} | undefined): void {
  if (server?.proc.pid) {
    try {
      process.kill(server.proc.pid, 'SIGTERM')
    } catch {
      // already gone
    }
  }
}

describe.skipIf(!isRoot)("Services in kube-proxy's nftables mode, from the kernel", () => {
  const box = labSandbox()
  const lab = box.track(uniqueLab('svc-nft'))
  const topo = topology(lab, 'nftables')
  const f = factsOf(topo)
  let server: {proc: ResultPromise} | undefined

  beforeAll(async () => {
    const file = join(box.stateDir, `${lab}.yaml`)
    writeFileSync(file, stringify(topo))
    const up = netlab(['up', file], box.env)
    expect(up.code, up.stderr).toBe(0)
    server = await startServers(f, PORT)
  }, 120_000)
  afterAll(() => stopServer(server))

  it("each node holds kube-proxy's table", () => {
    for (const n of f.model.nodes) {
      const table = execFileSync('ip', ['netns', 'exec', n.netns, 'nft', 'list', 'table', 'ip', 'kube-proxy'], {encoding: 'utf8'})
      expect(table).toMatch(/chain nat-prerouting \{\n\s+type nat hook prerouting priority dstnat; policy accept;/)
      expect(table).toContain(`elements = { ${n.ip} }`)
      expect(table).toMatch(/numgen random mod 2 vmap \{ 0 : goto endpoint-\w{8}-default\/web\/tcp\/__10\.244\./)
    }
  })

  it('pod -> ClusterIP: answered by every endpoint, each seeing the client pod itself (no SNAT)', () => {
    checkClusterIP(f, 'client', f.service('web'))
    checkClusterIP(f, 'client-1', f.service('web'))
  })

  it('node -> ClusterIP, from each node', () => {
    for (const n of f.model.nodes) {
      const a = get(n.netns, f.service('web').clusterIP, 80)
      expect(a.exit, n.name).toBe(0)
      expect(f.endpointNetns(f.service('web'))).toContain(a.servedBy)
    }
  })

  it('NodePort, externalTrafficPolicy Cluster: answered on every node, from outside and from another node, seen as the node', () => {
    const s = f.service('web-np')
    for (const n of f.model.nodes)
      for (const from of [INTERNET.name, ...f.model.nodes.filter((m) => m !== n).map((m) => m.name)])
        for (let i = 0; i < 4; i++) checkNodePort(f, from, n.name, s, [n.ip, n.gateway])
  })

  it("NodePort, externalTrafficPolicy Local: the client's address kept where the endpoint is, silence elsewhere", () => {
    const s = f.service('api-local')
    const internet = f.model.external.find((e) => e.name === INTERNET.name)!
    const [n0, n1] = f.model.nodes
    checkNodePort(f, INTERNET.name, 'n0', s, [internet.ip])
    checkNodePort(f, 'n1', 'n0', s, [n1.ip])
    checkNodePortSilent(f, INTERNET.name, 'n1', s)
    checkNodePortSilent(f, 'n0', 'n1', s)
    expect(n0.pods.map((p) => p.name)).toContain('api-0')
  })

  it('an off-cluster client routed to a node reaches a ClusterIP, masqueraded by that node (the cluster CIDR rule)', () => {
    checkOffCluster(f, INTERNET.name, 'n0', f.service('web'))
  })

  it('ClientIP affinity: one client, one endpoint', () => {
    checkAffinity(f, 'client', f.service('sticky'))
    checkAffinity(f, 'n1', f.service('sticky'))
  })

  it('a Service without endpoints is refused at once: ClusterIP from a pod and a node, NodePort from outside', () => {
    const s = f.service('empty')
    checkRefused(f.netns('client'), s.clusterIP, s.ports[0].port)
    checkRefused(f.netns('n1'), s.clusterIP, s.ports[0].port)
    checkRefused(f.netns(INTERNET.name), f.model.nodes[0].ip, s.ports[0].nodePort!)
  })

  it('a port a Service does not have, on its ClusterIP, is refused too (cluster-ips-check)', () => {
    checkRefused(f.netns('client'), f.service('web').clusterIP, 9999)
  })

  it('hairpin: a pod reaches itself through its own Service', () => {
    checkHairpin(f, 'api-0', f.service('api-local'))
  })

  it('down removes it all', () => {
    stopServer(server)
    const down = netlab(['down', lab], box.env)
    expect(down.code, down.stderr).toBe(0)
    expect(labNetns(lab)).toEqual([])
  })
})

// A fault at each step of the services phase of an nftables lab (the route, hairpin modes, each
// node's six frame inputs and one input per Service, all of a node's nft inputs one `nft -f -`
// transaction): `up` fails naming that step, and nothing of the lab is left.
describe.skipIf(!isRoot)('nftables mode: rollback at every step of the services phase', () => {
  const box = labSandbox()
  const lab = box.track(uniqueLab('svc-nft-rb'))

  it('a fault injected at each step is rolled back completely, and blamed on its own step', async () => {
    const file = join(box.stateDir, `${lab}.yaml`)
    writeFileSync(file, stringify(topology(lab, 'nftables')))
    const plan = JSON.parse(netlab(['plan', file, '--format', 'json'], box.env).stdout) as {
      actions: {id: number; phase: string; command: string}[]
    }
    const steps = plan.actions.filter((a) => a.phase === 'services')
    expect(steps.filter((a) => / nft -f - /.test(a.command)).length).toBe(2 * (6 + 5))
    const before = rootSnapshot()
    for (const step of steps) {
      const r = await upInProcess(file, {...box.env, NETLAB_TEST_FAULT_AT: String(step.id)})
      expect(r.code, `fault at step ${step.id}: ${r.stderr}`).toBe(1)
      expect(r.stderr).toContain(`step ${step.id + 1}/`)
      expect(r.stderr).toContain('nothing of lab')
      expect(labNetns(lab), `namespaces left after a fault at step ${step.id}`).toEqual([])
      expect(existsSync(join(box.stateDir, lab)), `state left after a fault at step ${step.id}`).toBe(false)
    }
    expect(rootSnapshot()).toBe(before)
  }, 300_000)
})
