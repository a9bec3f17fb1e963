// A topology file is code: it names programs netlab runs as root (a binDir, the plugins of a
// conflist) and files netlab reads as root (a conflist). What is run must be root's and
// writable by nobody else, each directory above it too (core/trust.ts); what is read must be a
// regular file, and an error about it never quotes it (topology/files.ts, checkConflist).
import {chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {spawnSync} from 'node:child_process'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeEach, describe, expect, it} from 'vitest'
import {trustPath} from '../../src/core/trust.js'
import {UsageError} from '../../src/core/errors.js'
import {buildModel} from '../../src/compile/model.js'
import {loadTopologyFile, parseTopology} from '../../src/topology/parse.js'
import {checkConflist} from '../../src/topology/cni.js'
import {TopologyError} from '../../src/topology/errors.js'
import {cniEnvironment} from '../../src/host/cni-env.js'
import {requireCniPlugins} from '../../src/lab/cni-results.js'
import {CNI_PRESETS} from '../../src/cni/presets/index.js'
import {isRoot} from '../helpers/lab.js'
import {topologyError} from '../helpers/model.js'

const NOBODY = 65534

function topology(cni: string): string {
  return `name: lab\ncluster:\n  cni: ${cni}\nnodes:\n  - name: a\n    pods: 1\n`
}

describe.skipIf(!isRoot)('trustPath: what root may run', () => {
  let dir: string
  const made: string[] = []
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'netlab-trust-'))
    made.push(dir)
    chmodSync(dir, 0o755)
  })
  afterAll(() => made.forEach((d) => rmSync(d, {recursive: true, force: true})))

  const plugin = (name = 'bridge', mode = 0o755) => {
    const file = join(dir, name)
    writeFileSync(file, '#!/bin/sh\n', {mode})
    chmodSync(file, mode)
    return file
  }

  it("accepts root's file in root's directories, a root-owned sticky /tmp passed through", () => {
    expect(trustPath(plugin(), 'file')).toEqual({ok: true})
    expect(trustPath(dir, 'dir')).toEqual({ok: true})
  })

  it('refuses a directory writable by others or by its group, naming it and its mode', () => {
    const file = plugin()
    chmodSync(dir, 0o777)
    expect(trustPath(file, 'file')).toEqual({ok: false, path: dir, why: 'is writable by others (mode 0777)'})
    expect(trustPath(dir, 'dir')).toEqual({ok: false, path: dir, why: 'is writable by others (mode 0777)'})
    chmodSync(dir, 0o775)
    expect(trustPath(file, 'file')).toMatchObject({
      ok: false,
      path: dir,
      why: expect.stringMatching(/^is writable by its group \(gid \d+, mode 0775\)$/),
    })
  })

  it('refuses a sticky directory as the one plugins are looked up in (anyone can add a name)', () => {
    chmodSync(dir, 0o1777)
    expect(trustPath(dir, 'dir')).toEqual({ok: false, path: dir, why: 'is writable by others (mode 1777)'})
  })

  it('refuses a file or a directory above it owned by another user (chown nobody)', () => {
    const file = plugin()
    chownSync(file, NOBODY, NOBODY)
    expect(trustPath(file, 'file')).toEqual({ok: false, path: file, why: `is owned by uid ${NOBODY}, not by root`})
    expect(trustPath(file, 'file', [0, NOBODY])).toEqual({ok: true})
    const sub = join(dir, 'sub')
    mkdirSync(sub, {mode: 0o755})
    copyFileSync(file, join(sub, 'bridge'))
    chownSync(sub, NOBODY, NOBODY)
    expect(trustPath(join(sub, 'bridge'), 'file')).toEqual({ok: false, path: sub, why: `is owned by uid ${NOBODY}, not by root`})
  })

  it('refuses a file writable by others', () => {
    expect(trustPath(plugin('bridge', 0o757), 'file')).toEqual({
      ok: false,
      path: join(dir, 'bridge'),
      why: 'is writable by others (mode 0757)',
    })
  })

  it('follows symbolic links and checks where they lead', () => {
    const evil = mkdtempSync(join(tmpdir(), 'netlab-trust-evil-'))
    try {
      chmodSync(evil, 0o777)
      writeFileSync(join(evil, 'bridge'), '#!/bin/sh\n', {mode: 0o755})
      symlinkSync(join(evil, 'bridge'), join(dir, 'bridge'))
      expect(trustPath(join(dir, 'bridge'), 'file')).toEqual({ok: false, path: evil, why: 'is writable by others (mode 0777)'})
      symlinkSync('..', join(dir, 'up'))
      expect(trustPath(join(dir, 'up'), 'dir')).toEqual({ok: false, path: tmpdir(), why: expect.stringMatching(/writable by others/)})
    } finally {
      rmSync(evil, {recursive: true, force: true})
    }
  })

  it('says what is missing, and what is not the kind asked for', () => {
    expect(trustPath(join(dir, 'nope', 'bridge'), 'file')).toEqual({ok: false, missing: join(dir, 'nope')})
    expect(trustPath(dir, 'file')).toEqual({ok: false, path: dir, why: 'is not a regular file'})
    expect(trustPath(plugin(), 'dir')).toEqual({ok: false, path: join(dir, 'bridge'), why: 'is not a directory'})
  })
})

describe.skipIf(!isRoot)('the plugins `up` would run (requireCniPlugins)', () => {
  const env = cniEnvironment()
  const dirs: string[] = []
  afterAll(() => dirs.forEach((d) => rmSync(d, {recursive: true, force: true})))

  it.each(CNI_PRESETS)("preset %s: the installed plugins (Debian's /usr/lib/cni, netlab's own) pass", (preset) => {
    const model = buildModel(parseTopology(topology(`{preset: ${preset}}`), 't.yaml'), {stateRoot: '/run/x', cniEnv: env})
    if (model.cni!.chain.some((c) => !existsSync(c.file))) return // not installed here: up says so (another check)
    expect(model.cni!.chain.length).toBeGreaterThan(0)
    expect(() => requireCniPlugins(model)).not.toThrow()
  })

  /** The reference preset with its plugins copied to a directory of the test's own, where `bad` is owned by nobody. */
  function copied(bad: string): ReturnType<typeof buildModel> {
    const dir = mkdtempSync(join(tmpdir(), 'netlab-plugins-'))
    dirs.push(dir)
    chmodSync(dir, 0o755)
    const model = buildModel(parseTopology(topology(`{preset: reference, binDir: ${dir}}`), 't.yaml'), {stateRoot: '/run/x', cniEnv: env})
    for (const type of [...model.cni!.chain.map((c) => c.type), 'host-local']) writeFileSync(join(dir, type), '#!/bin/sh\n', {mode: 0o755})
    chownSync(join(dir, bad), NOBODY, NOBODY)
    return model
  }

  it.each(['bridge', 'host-local'])('a chain whose %s plugin is owned by another user is refused with exit 2, naming it', (bad) => {
    const model = copied(bad)
    const file = join(model.cni!.path[0], bad)
    let error: unknown
    try {
      requireCniPlugins(model)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).exitCode).toBe(2)
    expect((error as UsageError).message).toBe(
      `CNI plugin ${file}: netlab would run it as root, but ${file} is owned by uid ${NOBODY}, not by root: it runs only ` +
        `what root owns and nobody else can write, in directories alike (chown root, chmod go-w)`,
    )
  })
})

describe('the files a topology names', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netlab-named-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))
  const load = (cni: string) => {
    const file = join(dir, 't.yaml')
    writeFileSync(file, topology(cni))
    return () => loadTopologyFile(file)
  }

  it.skipIf(!isRoot)('binDir: a directory others can write is refused at its place in the topology', () => {
    const bin = mkdtempSync(join(tmpdir(), 'netlab-bindir-'))
    try {
      chmodSync(bin, 0o777)
      expect(topologyError(load(`{preset: reference, binDir: ${bin}}`)).message).toBe(
        `${join(dir, 't.yaml')}:3:36: cluster.cni.binDir: netlab runs the plugins in ${bin} as root, but ${bin} is ` +
          `writable by others (mode 0777): it uses only a directory that root owns and nobody else can write, ` +
          `below directories alike (chown root, chmod go-w)`,
      )
      chmodSync(bin, 0o755)
      expect(() => load(`{preset: reference, binDir: ${bin}}`)()).not.toThrow()
      expect(() => load(`{preset: reference, binDir: ${join(bin, 'not-there')}}`)()).not.toThrow()
    } finally {
      rmSync(bin, {recursive: true, force: true})
    }
  })

  it('a conflist that is a fifo, a device or a directory is refused without being read (a fifo would block)', () => {
    const fifo = join(dir, 'fifo')
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
    symlinkSync('/dev/zero', join(dir, 'zero'))
    for (const name of ['fifo', 'zero', '.']) {
      const e = topologyError(load(`{conflist: ${name}}`))
      expect(e).toBeInstanceOf(TopologyError)
      expect(e.message).toBe(`${join(dir, 't.yaml')}:3:19: cluster.cni.conflist: ${join(dir, name)} is not a regular file`)
    }
  })

  it("an error about a conflist's text gives a position and a reason, never the text", () => {
    const secret = 'S3CRETroot'
    const texts = [
      `${secret}:*:20200:0:99999:7:::`,
      `{"a": ${secret}}`,
      `{"${secret}" 1}`,
      `{"a": "${secret}\t"}`,
      `{"a": "${secret}`,
      `{"a": 1} ${secret}`,
      `{"a": [1 ${secret}]}`,
      `{"a": "\\q${secret}"}`,
      `{"a": -${secret}}`,
      `{{.${secret}}}`,
      `{"name": "${secret} x", "cniVersion": "1.0.0", "plugins": [{"type": "bridge"}]}`,
      `{"name": "x", "cniVersion": "1.0.0", "plugins": [{"type": "${secret} x"}]}`,
      `["${secret}"]`,
    ]
    for (const text of texts) {
      let message = ''
      try {
        checkConflist(text, 'c.conflist')
      } catch (e) {
        message = (e as Error).message
      }
      expect(message, text).toMatch(/^c\.conflist:\d+:\d+: /)
      expect(message, text).not.toContain(secret)
    }
  })
})
