// The versions of the protocols netlab speaks with its Perl helpers (docs/runner-protocol.md):
// each side has the same constant; a helper told another version refuses with one line and exit
// 2, and the TypeScript side turns that line into the error the user sees. Without root: the
// helpers that could touch a namespace run inside `unshare -rn`, and refuse before doing anything.
import {spawnSync} from 'node:child_process'
import {chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, afterEach, describe, expect, it, vi} from 'vitest'
import {NetlabError} from '../../src/core/errors.js'
import {CNI_WORKER_PROTOCOL, answer} from '../../src/cni/plugin/worker.js'
import {protocolRefusal} from '../../src/core/protocol.js'
import {NSEXEC, NSEXEC_PROTOCOL, readMarks, runInNamespaces} from '../../src/exec/fanout.js'
import {findTool} from '../../src/host/preflight.js'
import type {Action} from '../../src/core/actions.js'
import {ENGINE_SCRIPT, PROBE_PROTOCOL, runEngines} from '../../src/probe/engine.js'
import type {Probe} from '../../src/probe/types.js'
import {CNI_CHAIN, CNI_CHAIN_PROTOCOL} from '../../src/tools/cni.js'
import {startWorkload, WORKLOAD_PROTOCOL, WORKLOAD_SCRIPT} from '../../src/lab/workload.js'
import {model} from '../helpers/model.js'
import {ROOT} from '../helpers/constants.js'

const canUnshare = spawnSync('unshare', ['-rn', 'true']).status === 0
const dir = mkdtempSync(join(tmpdir(), 'netlab-protocol-test-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
afterEach(() => vi.unstubAllEnvs())

const helpers = [
  {name: 'nsexec', script: NSEXEC, variable: 'NETLAB_NSEXEC_PROTOCOL', constant: 'NSEXEC_PROTOCOL', version: NSEXEC_PROTOCOL},
  {name: 'probe', script: ENGINE_SCRIPT, variable: 'NETLAB_PROBE_PROTOCOL', constant: 'PROBE_PROTOCOL', version: PROBE_PROTOCOL},
  {
    name: 'cni-chain',
    script: CNI_CHAIN,
    variable: 'NETLAB_CNI_CHAIN_PROTOCOL',
    constant: 'CNI_CHAIN_PROTOCOL',
    version: CNI_CHAIN_PROTOCOL,
  },
  {
    name: 'workload',
    script: WORKLOAD_SCRIPT,
    variable: 'NETLAB_WORKLOAD_PROTOCOL',
    constant: 'WORKLOAD_PROTOCOL',
    version: WORKLOAD_PROTOCOL,
  },
]

/** What each helper is given when it is told the right version: nothing to do, done at once. */
const idle: Record<string, {args: string[]; input: string}> = {
  nsexec: {args: ['1', dir], input: ''},
  probe: {args: ['netlab-protocol-test'], input: ''},
  'cni-chain': {args: [], input: '[]'},
  workload: {args: ['netlab-protocol-test'], input: ''}, // nothing to serve: "ready", and it exits
}

/** Run a helper in a fresh user and network namespace, with its protocol variable set (or unset). */
function runHelper(h: (typeof helpers)[number], version: string | undefined) {
  const env: Record<string, string | undefined> = {...process.env, [h.variable]: version}
  if (version === undefined) delete env[h.variable]
  const {args, input} = idle[h.name]
  return spawnSync('unshare', ['-rn', 'perl', h.script, ...args], {env, input, encoding: 'utf8'})
}

/**
 * A `perl` first on PATH that notes the version netlab named, then tells the helper another one
 * (and runs it inside `unshare -rn`). Returns the PATH, and what netlab named (the last run's).
 */
function wrongPerl(variable: string): {path: string; named: () => string} {
  const bin = mkdtempSync(join(dir, 'bin-'))
  const perl = findTool('perl')!
  writeFileSync(
    join(bin, 'perl'),
    `#!/bin/sh\necho "\${${variable}-unset}" > ${bin}/named\nexport ${variable}=99\nexec unshare -rn ${perl} "$@"\n`,
  )
  chmodSync(join(bin, 'perl'), 0o755)
  return {path: `${bin}:${process.env.PATH}`, named: () => readFileSync(join(bin, 'named'), 'utf8').trim()}
}

/** An error message that is this text and nothing more. */
const exactly = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)

describe('each protocol has one version, the same constant on both sides', () => {
  it.each(helpers)('$name: the script and netlab name the same version', (h) => {
    const m = new RegExp(`^use constant ${h.constant} => (\\d+);$`, 'm').exec(readFileSync(h.script, 'utf8'))
    expect(Number(m?.[1])).toBe(h.version)
  })

  it('cni worker: bin/netlab-cni and the worker name the same version', () => {
    const m = /^sub CNI_WORKER_PROTOCOL \(\) \{ (\d+) \}$/m.exec(readFileSync(join(ROOT, 'bin', 'netlab-cni'), 'utf8'))
    expect(Number(m?.[1])).toBe(CNI_WORKER_PROTOCOL)
  })
})

describe.skipIf(!canUnshare)('a helper refuses another version with one line and exit 2', () => {
  it.each(helpers)('$name', (h) => {
    const r = runHelper(h, '99')
    const line = `${h.script} speaks protocol ${h.version}, netlab expects 99: reinstall netlab`
    expect([r.status, r.stdout, r.stderr]).toEqual([2, '', `${line}\n`])
    expect(protocolRefusal(r.stderr)).toBe(line)
    expect(protocolRefusal(`some noise\n${r.stderr}`)).toBe(line)
  })

  it.each(helpers)('$name: works when told its version, or none (counted as 1, the protocol before it had a number)', (h) => {
    for (const version of [String(h.version), ...(h.version === 1 ? [undefined] : [])]) {
      const r = runHelper(h, version)
      expect([r.status, r.stderr], `${h.variable}=${version}`).toEqual([0, ''])
    }
  })

  it('nothing else reads as a refusal', () => {
    expect(protocolRefusal('')).toBeUndefined()
    expect(protocolRefusal('netlab-probe: bad serve line: x')).toBeUndefined()
    expect(protocolRefusal('call 0 failed: plugin p (pod q, CNI_COMMAND=ADD): {"msg":"speaks protocol 1"}')).toBeUndefined()
  })
})

describe.skipIf(!canUnshare)('netlab turns a refusal into a clear error', () => {
  it('nsexec: a NetlabError naming both versions', async () => {
    const perl = wrongPerl('NETLAB_NSEXEC_PROTOCOL')
    vi.stubEnv('PATH', perl.path)
    const read = readMarks(['.'], {parallel: 1, workDir: dir})
    await expect(read).rejects.toThrow(NetlabError)
    await expect(read).rejects.toThrow(exactly(`${NSEXEC} speaks protocol ${NSEXEC_PROTOCOL}, netlab expects 99: reinstall netlab`))
    expect(perl.named()).toBe(String(NSEXEC_PROTOCOL))
  })

  it('probe: a NetlabError naming both versions, before any probe runs', async () => {
    const perl = wrongPerl('NETLAB_PROBE_PROTOCOL')
    vi.stubEnv('PATH', perl.path)
    vi.stubEnv('NETLAB_STATE_DIR', mkdtempSync(join(dir, 'state-')))
    const endpoint = {kind: 'pod', name: 'p', netns: 'netlab-protocol-test-nowhere', ip: '10.255.0.1'} as const
    const probe = {id: 0, check: 'pod-pod-same-node', tool: 'ping', src: endpoint, dst: endpoint, expect: {reply: true}} as Probe
    const results: number[] = []
    const run = runEngines({
      lab: 'protocol-test',
      probes: [probe],
      addrs: [],
      onResult: (id) => results.push(id),
      signal: new AbortController().signal,
    })
    await expect(run).rejects.toThrow(NetlabError)
    await expect(run).rejects.toThrow(exactly(`${ENGINE_SCRIPT} speaks protocol ${PROBE_PROTOCOL}, netlab expects 99: reinstall netlab`))
    expect(results).toEqual([])
    expect(perl.named()).toBe(String(PROBE_PROTOCOL))
  })

  it('workload: a NetlabError naming both versions; up fails with it (and its rollback stops the process, if any)', async () => {
    const perl = wrongPerl('NETLAB_WORKLOAD_PROTOCOL')
    vi.stubEnv('PATH', perl.path)
    vi.stubEnv('NETLAB_STATE_DIR', mkdtempSync(join(dir, 'state-')))
    const lab = model('name: protocol-test\nnodes: [{name: n0, pods: [{name: p, ports: [{port: 8080}]}]}]\n')
    const start = startWorkload(lab)
    await expect(start).rejects.toThrow(NetlabError)
    await expect(start).rejects.toThrow(
      exactly(`${WORKLOAD_SCRIPT} speaks protocol ${WORKLOAD_PROTOCOL}, netlab expects 99: reinstall netlab`),
    )
    expect(perl.named()).toBe(String(WORKLOAD_PROTOCOL))
  })

  it('cni-chain: the batch failed with the refusal, and none of its calls ran (nothing for rollback to undo)', async () => {
    const perl = wrongPerl('NETLAB_CNI_CHAIN_PROTOCOL')
    vi.stubEnv('PATH', perl.path)
    const call = (id: number): Action => ({
      id,
      tool: 'cni',
      netns: '.',
      args: ['/bin/false'],
      env: {CNI_COMMAND: 'ADD'},
      stdin: '{}',
      cni: {plugin: 'false', pod: 'p', prevResult: id === 0 ? 'none' : 'previous', cache: join(dir, 'cache', 'p'), last: id === 1},
      phase: 'pods',
      why: 'test',
      undo: {kind: 'commands', commands: []},
    })
    const actions = [call(0), call(1)]
    const r = await runInNamespaces([{netns: '.', batches: [{netns: '.', tool: 'cni', actions}]}], {parallel: 1, workDir: dir})
    const line = `${CNI_CHAIN} speaks protocol ${CNI_CHAIN_PROTOCOL}, netlab expects 99: reinstall netlab`
    expect(r.outcomes).toEqual([[{applied: [], notRun: actions, unknown: [], error: {command: `perl ${CNI_CHAIN}`, stderr: line}}]])
    // the last perl run was the chain's (the first, nsexec's, was told nothing about the chain)
    expect(perl.named()).toBe(String(CNI_CHAIN_PROTOCOL))
  })
})

describe('the cni worker refuses a client of another version', () => {
  const request = (version: string | undefined, env: Record<string, string>, stdin: string) =>
    Buffer.from(
      (version === undefined ? '' : `NETLAB_CNI_WORKER_PROTOCOL=${version}\0`) +
        Object.entries(env)
          .map(([k, v]) => `${k}=${v}\0`)
          .join('') +
        `\0${stdin}`,
    )
  const bad = {CNI_COMMAND: 'ADD'} // a call the worker answers without touching anything: CNI_NETNS and more missing

  it('another version: status 1 and a CNI error result that says so; the call is not run', () => {
    const reply = answer(request('99', bad, '{"cniVersion":"0.4.0"}'))
    expect(reply.startsWith('1\n')).toBe(true)
    expect(JSON.parse(reply.slice(2))).toEqual({
      cniVersion: '0.4.0',
      code: 999,
      msg: `bin/netlab-cni speaks worker protocol 99, its worker (dist/netlab-cni.mjs) expects ${CNI_WORKER_PROTOCOL}: reinstall netlab`,
    })
  })

  it('its own version, or none (counted as 1): the call is answered as ever', () => {
    for (const version of [String(CNI_WORKER_PROTOCOL), ...(CNI_WORKER_PROTOCOL === 1 ? [undefined] : [])]) {
      const reply = answer(request(version, bad, '{"cniVersion":"1.0.0"}'))
      expect(reply.startsWith('1\n'), String(version)).toBe(true)
      expect(JSON.parse(reply.slice(2)), String(version)).toMatchObject({code: 4, msg: expect.stringContaining('missing')})
    }
  })
})
