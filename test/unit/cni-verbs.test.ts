// CNI 1.1 on the runtime's side, pure: the version spoken with a conflist (its cniVersions, the
// highest netlab speaks too), the conflist's checks of that list (file:line:col), and the plan's
// network calls — STATUS of every plugin before a node's first ADD, each undone by the plugin's
// GC with no valid attachment (none with disableGC, none before 1.1.0) — and GC's input.
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {compilePlan} from '../../src/compile/plan.js'
import {attachmentOf, hasNetworkVerbs, networkCalls} from '../../src/compile/cni-plan.js'
import {checkConflist, negotiatedCniVersion, versionBefore} from '../../src/topology/cni.js'
import {commandLine, undoCommands} from '../../src/tools/command.js'
import {CNI_CHAIN, CNI_CHAIN_PROTOCOL} from '../../src/tools/cni.js'
import {model, topologyError} from '../helpers/model.js'

const ENV = {binDir: '/usr/lib/cni', netlabDir: '/pkg/bin', bashDir: '/pkg/examples/bash-cni'}

/** A lab of two nodes (two pods on a, none on b) with netlab-cni alone, at these conflist keys. */
function lab(keys: Record<string, unknown>) {
  const conflist = {
    cniVersion: '1.0.0',
    name: 'n',
    ...keys,
    plugins: [{type: 'netlab-cni', ipam: {type: 'host-local', subnet: '{{.PodCIDR}}'}}, {type: 'tuning'}],
  }
  const text = `name: lab\ncluster:\n  routing: host-gw\n  cni: {preset: netlab}\nnodes:\n  - name: a\n    pods: [p, q]\n  - name: b\n`
  const m = model(text, {file: 't.yaml', stateRoot: '/run/x', cniEnv: ENV})
  // the preset's conflist in the model, swapped for this one (what cniModel does with a file)
  const rendered = JSON.stringify(conflist)
  m.cni = {
    ...m.cni!,
    network: 'n',
    cniVersion: negotiatedCniVersion(conflist)!,
    ...(keys.disableGC ? {disableGC: true} : {}),
    chain: [
      {type: 'netlab-cni', file: '/pkg/bin/netlab-cni'},
      {type: 'tuning', file: '/usr/lib/cni/tuning'},
    ],
    nodes: m.cni!.nodes.map((n) => ({...n, text: rendered})),
  }
  return m
}

describe('the version a runtime speaks with a conflist', () => {
  it('orders versions as numbers', () => {
    expect(versionBefore('0.4.0', '1.0.0')).toBe(true)
    expect(versionBefore('1.0.0', '1.1.0')).toBe(true)
    expect(versionBefore('1.10.0', '1.9.0')).toBe(false)
    expect(versionBefore('1.1.0', '1.1.0')).toBe(false)
  })

  it('is cniVersion without cniVersions, else the highest of cniVersions that netlab speaks', () => {
    expect(negotiatedCniVersion({cniVersion: '0.4.0'})).toBe('0.4.0')
    expect(negotiatedCniVersion({cniVersion: '1.0.0', cniVersions: ['1.0.0', '1.1.0']})).toBe('1.1.0')
    expect(negotiatedCniVersion({cniVersion: '1.0.0', cniVersions: ['1.1.0', '0.3.1', '1.0.0']})).toBe('1.1.0')
    expect(negotiatedCniVersion({cniVersion: '1.0.0', cniVersions: ['2.0.0', '1.0.0']})).toBe('1.0.0')
    expect(negotiatedCniVersion({cniVersion: '1.0.0', cniVersions: ['2.0.0']})).toBeUndefined()
  })

  it('a conflist whose cniVersions is not a list of strings, or names no version netlab speaks, is refused at its line and column', () => {
    const text = (v: string) => `{"cniVersion": "1.0.0", "name": "x",\n  "cniVersions": ${v},\n  "plugins": [{"type": "bridge"}]}`
    expect(topologyError(() => checkConflist(text('"1.1.0"'), 'n.conflist')).message).toBe(
      'n.conflist:2:3: conflist: "cniVersions" must be a non-empty list of versions, e.g. ["1.0.0", "1.1.0"]',
    )
    expect(topologyError(() => checkConflist(text('[]'), 'n.conflist')).message).toMatch(/^n\.conflist:2:3: .* non-empty list/)
    expect(topologyError(() => checkConflist(text('["2.0.0"]'), 'n.conflist')).message).toBe(
      'n.conflist:2:3: conflist: "cniVersions" lists no version netlab speaks (0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)',
    )
    expect(() => checkConflist(text('["1.0.0", "1.1.0"]'), 'n.conflist')).not.toThrow()
  })
})

describe("the plan's CNI 1.1 network calls", () => {
  it('before 1.1.0: no STATUS, no GC', () => {
    const m = lab({})
    expect(hasNetworkVerbs(m.cni!)).toBe(false)
    expect(compilePlan(m).actions.filter((a) => a.env?.CNI_COMMAND === 'STATUS')).toEqual([])
  })

  it("1.1.0: STATUS of every plugin in chain order before the node's first ADD (not on a node without pods), each undone by its GC", () => {
    const m = lab({cniVersions: ['1.0.0', '1.1.0']})
    const calls = compilePlan(m).actions.filter((a) => a.tool === 'cni')
    expect(calls.map((a) => `${a.env!.CNI_COMMAND} ${a.cni!.node ?? a.cni!.pod} ${a.cni!.plugin}`)).toEqual([
      'STATUS a netlab-cni',
      'STATUS a tuning',
      'ADD p netlab-cni',
      'ADD p tuning',
      'ADD q netlab-cni',
      'ADD q tuning',
    ])
    const [status] = calls
    // no container: only CNI_COMMAND and CNI_PATH; the plugin's config at the negotiated version
    expect(status.env).toEqual({CNI_COMMAND: 'STATUS', CNI_PATH: '/usr/lib/cni:/pkg/bin'})
    expect(JSON.parse(status.stdin!)).toMatchObject({cniVersion: '1.1.0', name: 'n', type: 'netlab-cni'})
    expect(status.cni).toEqual({plugin: 'netlab-cni', node: 'a', prevResult: 'none'})
    // a STATUS that failed added nothing: no GC for it (only the applied ones are undone)
    expect(status.undoFailed).toBeFalsy()
    const [gc] = undoCommands(status.undo)
    expect(gc.env).toEqual({CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni:/pkg/bin'})
    expect(JSON.parse(gc.stdin!)['cni.dev/valid-attachments']).toEqual([])
    // in the plan's script: nothing of STATUS is kept as the next plugin's prevResult
    expect(commandLine(status)).not.toContain('cni_result=')
    expect(commandLine(calls[2])).toContain('cni_result=$(')
  })

  it('disableGC: STATUS still, but nothing undoes it', () => {
    const m = lab({cniVersions: ['1.1.0'], disableGC: true})
    const status = compilePlan(m).actions.filter((a) => a.env?.CNI_COMMAND === 'STATUS')
    expect(status).toHaveLength(2)
    for (const s of status) expect(undoCommands(s.undo)).toEqual([])
  })

  it('GC (netlab cni gc) passes the attachments still valid as cni.dev/valid-attachments, to every plugin', () => {
    const m = lab({cniVersions: ['1.1.0']})
    const valid = m.nodes[0].pods.map(attachmentOf)
    expect(valid).toEqual([
      {containerID: 'netlab-lab.p', ifname: 'eth0'},
      {containerID: 'netlab-lab.q', ifname: 'eth0'},
    ])
    const calls = networkCalls(m, m.nodes[1], 'GC', valid)
    expect(calls.map((c) => [c.netns, c.args[0]])).toEqual([
      ['netlab-lab.b', '/pkg/bin/netlab-cni'],
      ['netlab-lab.b', '/usr/lib/cni/tuning'],
    ])
    for (const c of calls) expect(JSON.parse(c.stdin!)['cni.dev/valid-attachments']).toEqual(valid)
  })
})

describe('the cni-chain with network calls (protocol 2): no root, a fake plugin', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netlab-cni-chain-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))
  // answers STATUS and GC with the error code FAKE_CODE (0: success); leaves ran-$MARK behind, and `added` on ADD
  const plugin = join(dir, 'fake')
  writeFileSync(
    plugin,
    `#!/bin/sh\ncat >/dev/null\ntouch "${dir}/ran-$MARK"\ncase "$CNI_COMMAND" in\n  ADD) touch "${dir}/added"; echo '{"cniVersion":"1.1.0"}' ;;\n` +
      `  *) [ "$FAKE_CODE" = 0 ] && exit 0; echo "{\\"cniVersion\\":\\"1.1.0\\",\\"code\\":$FAKE_CODE,\\"msg\\":\\"$CNI_COMMAND says no\\"}"; exit 1 ;;\nesac\n`,
  )
  chmodSync(plugin, 0o755)
  const call = (cmd: string, code: number, extra: Record<string, unknown> = {}) => ({
    file: plugin,
    env: {CNI_COMMAND: cmd, CNI_PATH: dir, FAKE_CODE: String(code)},
    config: '{"cniVersion":"1.1.0","name":"n","type":"fake"}',
    plugin: 'fake',
    prevResult: 'none',
    ...extra,
  })
  const chain = (calls: unknown[]) =>
    spawnSync('perl', [CNI_CHAIN], {
      input: JSON.stringify(calls),
      encoding: 'utf8',
      env: {...process.env, NETLAB_CNI_CHAIN_PROTOCOL: String(CNI_CHAIN_PROTOCOL)},
    })
  const add = call('ADD', 0, {
    pod: 'p',
    cache: join(dir, 'cache', 'p'),
    last: true,
    env: {CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c', CNI_NETNS: '/x', CNI_IFNAME: 'eth0'},
  })

  it.each([
    [50, 'the plugin is not available (STATUS error 50: it cannot serve an ADD now), so no pod of node n1 was added: '],
    [
      51,
      'the plugin is not available, and pods already on its network may have limited connectivity (STATUS error 51), so no pod of node n1 was added: ',
    ],
    [7, 'STATUS failed, so no pod of node n1 was added: '],
  ])('STATUS error %i stops the chain before the ADD, saying what the code means, then the error verbatim', (code, meaning) => {
    rmSync(join(dir, 'added'), {force: true})
    const r = chain([call('STATUS', code, {node: 'n1'}), add])
    expect(r.status).toBe(1)
    expect(r.stderr).toBe(
      `call 0 failed: plugin fake (node n1, CNI_COMMAND=STATUS): ${meaning}{"cniVersion":"1.1.0","code":${code},"msg":"STATUS says no"}\n`,
    )
    expect(existsSync(join(dir, 'added'))).toBe(false)
  })

  it('a STATUS that passes lets the ADD run; a failing GC does not stop the next GC (it cleans up, as DEL does)', () => {
    rmSync(join(dir, 'added'), {force: true})
    expect(chain([call('STATUS', 0, {node: 'n1'}), add]).status).toBe(0)
    expect(existsSync(join(dir, 'added'))).toBe(true)
    const gc = (code: number, mark: string) => ({
      ...call('GC', code, {node: 'n1'}),
      env: {CNI_COMMAND: 'GC', CNI_PATH: dir, FAKE_CODE: String(code), MARK: mark},
    })
    const r = chain([gc(999, 'gc1'), gc(0, 'gc2')])
    expect(r.status).toBe(1)
    expect(r.stderr).toBe('call 0 failed: plugin fake (node n1, CNI_COMMAND=GC): {"cniVersion":"1.1.0","code":999,"msg":"GC says no"}\n')
    expect(existsSync(join(dir, 'ran-gc2'))).toBe(true)
  })
})
