// cluster.cni, pure: the topology's checks (file:line:col, in the topology or in the conflist),
// the model's per-node conflists, and the plan's plugin calls — the runtime's side of the CNI
// spec (env, prevResult threading, DEL as undo in reverse chain order, the sh rendering).
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {buildModel} from '../../src/compile/model.js'
import {compilePlan} from '../../src/compile/plan.js'
import {commandLine, undoCommands} from '../../src/tools/command.js'
import {renderShell} from '../../src/plan/render.js'
import {loadTopologyFile} from '../../src/topology/parse.js'
import {checkConflist} from '../../src/topology/cni.js'
import {renderConflist} from '../../src/compile/cni-model.js'
import {CNI_PRESETS, cniPreset, cniPresets} from '../../src/cni/presets/index.js'
import {cacheFile} from '../../src/compile/cni-plan.js'
import {applyResults} from '../../src/lab/cni-results.js'
import {summarize} from '../../src/state/journal.js'
import {cni as cniDriver} from '../../src/tools/cni.js'
import {model, topologyError} from '../helpers/model.js'

const ENV = {binDir: '/usr/lib/cni', netlabDir: '/pkg/bin', bashDir: '/pkg/examples/bash-cni'}

function topo(cni: string, extra = ''): string {
  return `name: lab\ncluster:\n  routing: host-gw\n  cni: ${cni}\nnodes:\n  - name: a\n    pods: [p, q]\n  - name: b\n    pods: 1\n${extra}`
}

const cniModel = (text: string) => model(text, {file: 't.yaml', stateRoot: '/run/x', cniEnv: ENV})

describe('cluster.cni in the topology', () => {
  it('points at the offending value', () => {
    expect(topologyError(() => cniModel(topo('{preset: calico}'))).message).toBe(
      't.yaml:4:17: cluster.cni.preset: unknown preset "calico" (known: reference, netlab, bash)',
    )
    expect(topologyError(() => cniModel(topo('{preset: reference, conflist: x.conflist}'))).message).toMatch(
      /^t\.yaml:4:28: cluster\.cni: give either preset or conflist, not both/,
    )
    expect(topologyError(() => cniModel(topo('{binDir: /opt/cni/bin}'))).message).toMatch(
      /^t\.yaml:4:8: cluster\.cni: missing key "preset"/,
    )
    expect(topologyError(() => cniModel(topo('{preset: reference, binDir: bin}'))).message).toMatch(
      /^t\.yaml:4:36: cluster\.cni\.binDir must be an absolute/,
    )
    expect(topologyError(() => cniModel(topo('reference'))).message).toMatch(/^t\.yaml:4:8: cluster\.cni must be a mapping/)
  })

  it('refuses a mode whose pods are in the VPC subnet (aws-vpc), and policies', () => {
    const aws = 'name: lab\ncluster:\n  routing: aws-vpc\n  cni: {preset: reference}\nnodes:\n  - name: a\n    pods: 1\n'
    expect(topologyError(() => cniModel(aws)).message).toMatch(/^t\.yaml:4:8: cluster\.cni: routing aws-vpc wires pods into the VPC subnet/)
    const policies = topo('{preset: reference}', 'policies: []\n')
    expect(topologyError(() => cniModel(policies)).message).toMatch(
      /^t\.yaml:4:8: cluster\.cni: network policies need netlab's own pod wiring/,
    )
  })

  describe('a conflist file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netlab-cni-unit-'))
    afterAll(() => rmSync(dir, {recursive: true, force: true}))
    const load = (conflist: string) => {
      writeFileSync(join(dir, 'net.conflist'), conflist)
      writeFileSync(join(dir, 't.yaml'), topo('{conflist: net.conflist}'))
      return loadTopologyFile(join(dir, 't.yaml'))
    }

    it('is read relative to the topology, and its template filled in per node', () => {
      const m = buildModel(load(cniPreset('reference').conflist()), {stateRoot: '/run/x', cniEnv: ENV})
      expect(m.cni!.source).toBe(join(dir, 'net.conflist'))
      const b = JSON.parse(m.cni!.nodes[1].text)
      expect(b.plugins[1].ipam.ranges[0][0]).toEqual({subnet: '10.244.1.0/24', gateway: '10.244.1.1'})
      expect(b.plugins[1].ipam.dataDir).toBe('/run/x/lab/cni/ipam/b')
      expect(m.cni!.nodes[1].file).toBe('/run/x/lab/cni/net.d/b/10-netlab.conflist')
    })

    it('must exist, be JSON, be a conflist, and use only the fields netlab fills', () => {
      writeFileSync(join(dir, 't2.yaml'), topo('{conflist: nope.conflist}'))
      expect(topologyError(() => loadTopologyFile(join(dir, 't2.yaml'))).message).toMatch(
        /t2\.yaml:4:19: cluster\.cni\.conflist: no such file/,
      )
      const path = join(dir, 'net.conflist')
      expect(topologyError(() => load('{\n  "name": "x",\n  "plugins": [}\n')).message).toMatch(
        new RegExp(`^${path}:3:\\d+: not valid JSON`),
      )
      expect(topologyError(() => load('{"cniVersion": "1.0.0", "name": "x", "type": "bridge"}')).message).toMatch(
        /"plugins" must be a non-empty list \(this looks like a single-plugin \.conf/,
      )
      expect(
        topologyError(() => load('{"cniVersion": "1.0.0",\n "name": "x", "plugins": [{"type": "bridge", "x": "{{.Subnet}}"}]}')).message,
      ).toBe(`${path}:2:52: unknown template field (netlab fills {{.PodCIDR}}, {{.Gateway}}, {{.DataDir}})`)
      expect(() => checkConflist(cniPreset('bash').conflist(), 'x')).not.toThrow()
    })
  })

  it('has a preset module for every name the parser takes, in its order, each a valid conflist that takes the MTU', () => {
    expect(cniPresets().map((p) => p.name)).toEqual([...CNI_PRESETS])
    for (const p of cniPresets()) {
      expect(p.summary, p.name).toMatch(/^\S.*[^.]$/)
      expect(() => checkConflist(p.conflist(), p.name)).not.toThrow()
      const plugins = JSON.parse(p.conflist(1450)).plugins as {mtu?: number}[]
      expect(
        plugins.some((x) => x.mtu === 1450),
        p.name,
      ).toBe(true)
      expect(p.conflist(), p.name).not.toMatch(/"mtu"/)
    }
  })

  it('fills a template with JSON-safe values', () => {
    expect(renderConflist('{"a": "{{.PodCIDR}}", "b": "{{ .DataDir }}"}', {PodCIDR: '10.0.0.0/24', DataDir: 'a"b'})).toBe(
      '{"a": "10.0.0.0/24", "b": "a\\"b"}',
    )
  })
})

describe('the plan of a CNI lab', () => {
  const m = cniModel(topo('{preset: reference}'))
  const plan = compilePlan(m)
  const calls = plan.actions.filter((a) => a.tool === 'cni')

  it("replaces the default pod wiring with the runtime's phases; routes and firewall stay the mode's", () => {
    const phases = plan.phases.map((p) => p.id)
    expect(phases).toEqual(expect.arrayContaining(['cni-config', 'cni', 'routes', 'firewall']))
    expect(phases).not.toContain('pod-links')
    expect(plan.actions.some((a) => a.args.includes('cni0'))).toBe(false) // the bridge plugin makes cni0
    expect(plan.actions.filter((a) => a.tool === 'file').map((a) => a.args)).toEqual([
      ['write', '/run/x/lab/cni/net.d/a/10-netlab.conflist'],
      ['write', '/run/x/lab/cni/net.d/b/10-netlab.conflist'],
    ])
  })

  it("calls each plugin of the chain per pod, in order, in its node, with the spec's variables", () => {
    expect(calls.map((a) => `${a.netns} ${a.cni!.pod} ${a.cni!.plugin}`)).toEqual([
      'netlab-lab.a p loopback',
      'netlab-lab.a p bridge',
      'netlab-lab.a q loopback',
      'netlab-lab.a q bridge',
      'netlab-lab.b b-p0 loopback',
      'netlab-lab.b b-p0 bridge',
    ])
    expect(calls[1].env).toEqual({
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'netlab-lab.p',
      CNI_NETNS: '/var/run/netns/netlab-lab.p',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=p;K8S_POD_INFRA_CONTAINER_ID=netlab-lab.p',
      CNI_PATH: '/usr/lib/cni',
    })
    expect(calls[1].args).toEqual(['/usr/lib/cni/bridge'])
    const conf = JSON.parse(calls[1].stdin!)
    expect(conf).toMatchObject({cniVersion: '1.0.0', name: 'netlab', type: 'bridge', ipMasq: false})
    // runtimeConfig only for declared capabilities: the MAC and address the model has for the pod
    expect(conf.runtimeConfig).toEqual({mac: m.nodes[0].pods[0].mac, ips: ['10.244.0.2/24']})
    expect(JSON.parse(calls[0].stdin!)).not.toHaveProperty('runtimeConfig')
    expect(calls.map((a) => a.cni!.prevResult)).toEqual(['none', 'previous', 'none', 'previous', 'none', 'previous'])
    expect(calls.map((a) => Boolean(a.cni!.last))).toEqual([false, true, false, true, false, true])
  })

  it("undoes each ADD by the same plugin's DEL with the cached result (rollback runs them newest first)", () => {
    for (const a of calls) {
      expect(a.undoFailed).toBe(true)
      const [del] = undoCommands(a.undo)
      expect(del.env!.CNI_COMMAND).toBe('DEL')
      expect(del.args).toEqual(a.args)
      expect(del.cni!.prevResult).toBe('cached')
      // the chain's first plugin runs the last DEL, which removes the cache
      expect(Boolean(del.cni!.last)).toBe(a.cni!.plugin === 'loopback')
    }
  })

  it('prints a call as a runnable command: the result threads through $cni_result', () => {
    const first = commandLine(calls[0])
    expect(first).toMatch(/^cni_result=\$\(CNI_COMMAND=ADD .* ip netns exec netlab-lab\.a \/usr\/lib\/cni\/loopback <<'NETLAB_EOF'\n\{/)
    const second = commandLine({...calls[1], stdin: '{"a":"$x`y\\\\"}'})
    expect(second).toBe(
      `cni_result=$(${second.slice(13, second.indexOf('<<'))}<<NETLAB_EOF\n{"a":"\\$x\\\`y\\\\\\\\","prevResult":\${cni_result}}\nNETLAB_EOF\n)`,
    )
  })

  it('as a script, every here-document ends on a line of its own (the why goes above the command)', () => {
    const sh = renderShell(plan)
    expect(sh).not.toMatch(/NETLAB_EOF[ \t]+#/)
    expect(sh).toMatch(/\n# CNI ADD, plugin 2\/2 \(bridge\) for pod p: [^\n]*\ncni_result=\$\(/)
  })

  it('vxlan: the preset gives the plugin the overlay MTU', () => {
    const v = cniModel(topo('{preset: netlab}').replace('host-gw', 'vxlan'))
    const add = compilePlan(v).actions.find((a) => a.cni?.plugin === 'netlab-cni')!
    expect(JSON.parse(add.stdin!).mtu).toBe(1450)
    expect(add.args).toEqual(['/pkg/bin/netlab-cni'])
    expect(add.env!.CNI_PATH).toBe('/usr/lib/cni:/pkg/bin')
  })
})

describe('a CNI lab too big to learn its neighbours by ARP', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netlab-cni-unit-big-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))
  const nodes = Array.from({length: 20}, (_, i) => `  - {name: n${i}, pods: 10}`).join('\n')
  const big = (preset: string) => {
    const m = cniModel(`name: lab\ncluster:\n  cni: {preset: ${preset}}\nnodes:\n${nodes}\n`)
    return {m, neigh: compilePlan(m).actions.filter((a) => a.phase === 'neighbours')}
  }

  it("writes the pods' entries when the chain takes the model's MACs (every preset), never the gateway's (the plugin picks cni0's)", () => {
    for (const preset of CNI_PRESETS) {
      const {m, neigh} = big(preset)
      expect(m.cni!.podMacs, preset).toBe(true)
      const pod = m.nodes[3].pods[0]
      const inPod = neigh.filter((a) => a.netns === pod.netns)
      expect(inPod, preset).toHaveLength(9) // the other pods on its bridge
      expect(inPod.some((a) => a.args.includes(m.nodes[3].gateway))).toBe(false)
      expect(neigh.some((a) => a.netns === m.nodes[3].netns && a.args.includes(pod.ip) && a.args.includes(pod.mac))).toBe(true)
    }
  })

  it("writes only the underlay's when the plugin picks the pods' MACs (a conflist without the mac capability)", () => {
    writeFileSync(
      join(dir, 'net.conflist'),
      cniPreset('bash')
        .conflist()
        .replace(/"capabilities": \{"mac": true\}, /, ''),
    )
    writeFileSync(join(dir, 't.yaml'), `name: lab\ncluster:\n  cni: {conflist: net.conflist}\nnodes:\n${nodes}\n`)
    const m = buildModel(loadTopologyFile(join(dir, 't.yaml')), {stateRoot: '/run/x', cniEnv: ENV})
    expect(m.cni!.podMacs).toBe(false)
    const neigh = compilePlan(m).actions.filter((a) => a.phase === 'neighbours')
    expect(neigh.length).toBeGreaterThan(0)
    const pods = new Set(m.nodes.flatMap((n) => n.pods.map((p) => p.ip)))
    expect(neigh.filter((a) => a.args.some((x) => pods.has(x)))).toEqual([])
  })
})

describe('the runtime at run time', () => {
  it("maps the chain runner's failure to the call that failed", () => {
    const plan = compilePlan(cniModel(topo('{preset: reference}')))
    const actions = plan.actions.filter((a) => a.tool === 'cni' && a.netns === 'netlab-lab.a')
    const p = cniDriver.prepare(actions, 'netlab-lab.a', {fault: -1, netlink: true})
    expect(p.steps).toHaveLength(1) // one chain runner for the node's batch
    const o = cniDriver.interpret(p, {step: 0, exitCode: 1, stderr: 'call 3 failed: plugin bridge (pod q, CNI_COMMAND=ADD): {"code":7}\n'})
    expect(o.applied).toEqual(actions.slice(0, 3))
    expect(o.failed).toBe(actions[3])
    expect(o.error!.stderr).toBe('plugin bridge (pod q, CNI_COMMAND=ADD): {"code":7}')
    expect(cniDriver.interpret(p, {step: 0, exitCode: 2, stderr: 'perl died'}).unknown).toEqual(actions)
  })

  it('the journal remembers failed actions, so a failed ADD still gets its DEL', () => {
    const s = summarize([
      {t: 'begin', ids: [1, 2, 3]},
      {t: 'failed', applied: [1], failed: 2, notRun: [3]},
    ])
    expect([...s.applied]).toEqual([1])
    expect([...s.failed]).toEqual([2])
    expect(s.maybe.size).toBe(0)
  })
})

describe("reading the plugins' results back (applyResults)", () => {
  const dir = mkdtempSync(join(tmpdir(), 'netlab-cni-results-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  /** node a's pods p and q, their cached ADD results as given; the model afterwards */
  function applied(results: Record<string, unknown>[], conflistBridge?: string) {
    const m = cniModel(topo('{preset: reference}'))
    m.cni!.dir = dir
    if (conflistBridge) for (const n of m.cni!.nodes) n.text = n.text.replace(/"bridge": *"cni0"/, `"bridge": "${conflistBridge}"`)
    mkdirSync(join(dir, 'cache', 'results'), {recursive: true})
    m.nodes[0].pods.forEach((pod, i) => writeFileSync(cacheFile(m.cni!, pod), JSON.stringify({result: results[i]})))
    rmSync(cacheFile(m.cni!, m.nodes[1].pods[0]), {force: true})
    applyResults(m)
    return m
  }
  const eth0 = (mac: string, ns: string) => ({name: 'eth0', mac, sandbox: `/run/netns/${ns}`})
  const ips = (ip: string, iface: number) => [{address: `${ip}/24`, interface: iface}]

  it("takes each pod's host cable from its result: not the bridge (the conflist's, or one every pod lists), not the sandbox's", () => {
    // the reference bridge plugin: the bridge, the host veth, eth0
    const ref = (veth: string, ip: string) => ({
      interfaces: [{name: 'cni0', mac: '0a:00:00:00:00:01'}, {name: veth}, eth0('0a:58:00:00:00:02', 'x')],
      ips: ips(ip, 2),
    })
    const m = applied([ref('veth1234abcd', '10.244.0.7'), ref('veth5678ef01', '10.244.0.8')])
    expect(m.nodes[0].pods.map((p) => [p.hostVeth, p.ip])).toEqual([
      ['veth1234abcd', '10.244.0.7'],
      ['veth5678ef01', '10.244.0.8'],
    ])
    expect(m.nodes[1].pods[0].hostVeth).toBe('veth-b-p0') // no result: the model's own name stays
    // a bridge named in the conflist, listed by one pod only
    const named = applied(
      [
        {interfaces: [{name: 'br-lab'}, {name: 'vethaaaa'}, eth0('0a:58:00:00:00:03', 'x')], ips: ips('10.244.0.9', 2)},
        {interfaces: [{name: 'vethbbbb'}, eth0('0a:58:00:00:00:04', 'y')], ips: ips('10.244.0.10', 1)},
      ],
      'br-lab',
    )
    expect(named.nodes[0].pods.map((p) => p.hostVeth)).toEqual(['vethaaaa', 'vethbbbb'])
    // a result naming no host interface (only eth0): the model's own name stays
    const bare = applied([{interfaces: [eth0('0a:58:00:00:00:05', 'x')], ips: ips('10.244.0.11', 0)}, {}])
    expect(bare.nodes[0].pods.map((p) => p.hostVeth)).toEqual(['veth-p', 'veth-q'])
  })
})
