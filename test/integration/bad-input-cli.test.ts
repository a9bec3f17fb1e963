// Bad input through the real CLI: every file of the corpus gets exit code 2, one line of error
// with file:line:column, nothing created on the machine. How fast (docs/safety.md's "under a
// second") is measured by bench/bad-input.ts, not here: a loaded machine would make it flaky.
import {spawn} from 'node:child_process'
import {chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {BIN, cliEnv, isRoot, labNetns, labSandbox, makeStateDir, netlab, removeDir, ROOT, uniqueLab} from '../helpers/lab.js'

const CORPUS = join(ROOT, 'test', 'fixtures', 'bad')
const expected = JSON.parse(readFileSync(join(CORPUS, 'expected.json'), 'utf8')) as Record<
  string,
  {line: number; col: number; file?: string; match: string}
>
const files = readdirSync(CORPUS)
  .filter((f) => f.endsWith('.yaml'))
  .sort()

function runUp(file: string, env: Record<string, string>): Promise<{code: number | null; stdout: string; stderr: string; ms: number}> {
  const started = performance.now()
  return new Promise((res) => {
    const child = spawn(process.execPath, [BIN, 'up', file], {cwd: ROOT, env: cliEnv(env)})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => res({code, stdout, stderr, ms: performance.now() - started}))
  })
}

const netnsNow = () => {
  try {
    return readdirSync('/run/netns').sort()
  } catch {
    return []
  }
}

describe('bad topologies through `netlab up`', () => {
  const stateDir = makeStateDir()
  const env = {NETLAB_STATE_DIR: stateDir}
  const huge = join(stateDir, 'huge.yaml')
  afterAll(() => removeDir(stateDir))

  it('the corpus has at least 30 files', () => expect(files.length).toBeGreaterThanOrEqual(30))

  // Every file's message and position are checked in-process (test/unit/bad-input.test.ts); what
  // the CLI adds (exit 2, one line on stderr, nothing on stdout, nothing made) is the same path for
  // each, so a third of the corpus goes through it, plus every file whose error points into
  // another file (a conflist): about 45 processes instead of 123, 20 s less of the suite.
  const throughCli = files.filter((f, i) => i % 3 === 0 || expected[f]?.file !== undefined)

  it(`a third of them (${throughCli.length}) give exit 2 and one line file:line:col, and create nothing`, async () => {
    const before = netnsNow()
    expect(throughCli.length).toBeGreaterThanOrEqual(30)
    // two at a time (two cores): the timing is bench/bad-input.ts's business, not this test's
    for (let i = 0; i < throughCli.length; i += 2) {
      const pair = throughCli.slice(i, i + 2)
      const results = await Promise.all(pair.map((f) => runUp(join(CORPUS, f), env)))
      pair.forEach((f, k) => {
        const r = results[k]
        const e = expected[f]
        expect(r.code, `${f}: ${r.stderr}`).toBe(2)
        expect(r.stdout, f).toBe('')
        const lines = r.stderr.trimEnd().split('\n')
        expect(lines, f).toHaveLength(1)
        expect(lines[0].startsWith(`${join(CORPUS, e.file ?? f)}:${e.line}:${e.col}: `), `${f}: ${lines[0]}`).toBe(true)
        expect(lines[0].slice(lines[0].indexOf(': ') + 2), f).toMatch(new RegExp(e.match))
      })
    }
    // no namespace of any lab named in the corpus appeared (other labs on the machine may come and go)
    const corpusLabs = new Set(
      files.map((f) => /^name:\s*"?([^"\s#]+)/m.exec(readFileSync(join(CORPUS, f), 'latin1'))?.[1]).filter(Boolean),
    )
    const appeared = netnsNow().filter((ns) => !before.includes(ns))
    expect(appeared.filter((ns) => corpusLabs.has(ns.replace(/^netlab-/, '').split('.')[0]))).toEqual([])
    expect(readdirSync(stateDir)).toEqual([]) // no lab state, no lock left
  }, 300_000)

  it('a 10 MB file is refused by its size with file:1:1', async () => {
    writeFileSync(huge, `name: huge\nnodes:\n${'  # padding\n'.repeat(1_000_000)}`)
    const r = await runUp(huge, env)
    rmSync(huge)
    expect(r.code).toBe(2)
    // refused by its size, before the YAML parser ever saw it
    expect(r.stderr.trim()).toMatch(new RegExp(`^${huge}:1:1: file is too large`))
  })

  it('nothing ever goes through a shell: no source file asks for one', () => {
    const walk = (dir: string): string[] =>
      readdirSync(dir, {withFileTypes: true}).flatMap((d) =>
        d.isDirectory() ? walk(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
      )
    const sources = walk(join(ROOT, 'src'))
    expect(sources.length).toBeGreaterThan(10)
    for (const f of sources) {
      const text = readFileSync(f, 'utf8')
      expect(text, f).not.toMatch(/\bshell\s*:(?!\s*Shell\b)/) // no shell option anywhere (the shell command's registry entry is not one)
      expect(text, f).not.toMatch(/execaCommand|\bexecSync\(|\bexecFile/) // no command-line strings
      // programs are started only by src/exec/runner.ts, which passes argument arrays
      if (!f.endsWith(join('exec', 'runner.ts')))
        expect(text, f).not.toMatch(/from 'execa'|import \{[^}]*\bspawn\b[^}]*\} from 'node:child_process'/)
    }
  })
})

describe.skipIf(!isRoot)('a topology file is code: what it names is checked before anything is made', () => {
  const {stateDir, env, track} = labSandbox()
  const bin = mkdtempSync(join(tmpdir(), 'netlab-bin-'))
  afterAll(() => removeDir(bin))

  /** A topology of one node and one pod whose cni is `cni`; returns its file. */
  function topology(lab: string, cni: string): string {
    const file = join(stateDir, `${lab}.yaml`)
    writeFileSync(file, `name: ${lab}\ncluster:\n  cni: ${cni}\nnodes:\n  - name: n0\n    pods: 1\n`)
    return file
  }

  it('`up` with a binDir whose plugin belongs to another user (chown nobody): exit 2 naming it, nothing made', () => {
    chmodSync(bin, 0o755)
    // stand-ins for the reference plugins: refused before any runs
    for (const type of ['loopback', 'bridge', 'host-local']) writeFileSync(join(bin, type), '#!/bin/sh\nexit 1\n', {mode: 0o755})
    chownSync(join(bin, 'bridge'), 65534, 65534)
    const lab = track(uniqueLab('untrusted'))
    const r = netlab(['up', topology(lab, `{preset: reference, binDir: ${bin}}`)], env)
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr.trim()).toBe(
      `netlab: CNI plugin ${bin}/bridge: netlab would run it as root, but ${bin}/bridge is owned by uid 65534, not by root: ` +
        `it runs only what root owns and nobody else can write, in directories alike (chown root, chmod go-w)`,
    )
    expect(labNetns(lab)).toEqual([])
    expect(readdirSync(stateDir).filter((f) => !f.endsWith('.yaml'))).toEqual([])
  })

  it('`up` and `validate` with a binDir anyone can write: exit 2 at the binDir in the topology', () => {
    chmodSync(bin, 0o777)
    const lab = track(uniqueLab('worldbin'))
    const file = topology(lab, `{preset: reference, binDir: ${bin}}`)
    for (const cmd of ['validate', 'up']) {
      const r = netlab([cmd, file], env)
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr.trim()).toMatch(new RegExp(`^${file}:3:36: cluster\\.cni\\.binDir: .* ${bin} is writable by others \\(mode 0777\\)`))
    }
    expect(labNetns(lab)).toEqual([])
  })

  it('a conflist naming an unreadable secret: the error gives its place, never its text', () => {
    const secret = join(stateDir, 'shadow')
    writeFileSync(secret, 'root:$y$j9T$S3cretSaltAndHash:20200:0:99999:7:::\n', {mode: 0o600})
    const lab = track(uniqueLab('secret'))
    const r = netlab(['validate', topology(lab, `{conflist: ${secret}}`)], env)
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(`${secret}:1:1: not valid JSON: an unexpected character`)
  })

  it('podCIDR 224.0.0.0/8 (multicast): `validate` says so, exit 2', () => {
    const file = join(stateDir, 'mcast.yaml')
    writeFileSync(file, 'name: mcast\ncluster:\n  podCIDR: 224.0.0.0/8\nnodes:\n  - name: n0\n')
    const r = netlab(['validate', file], env)
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(`${file}:3:12: cluster.podCIDR 224.0.0.0/8 is multicast (224.0.0.0/4): hosts cannot hold its addresses`)
  })
})
