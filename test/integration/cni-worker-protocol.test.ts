// bin/netlab-cni names its worker protocol in each request it hands the resident worker
// (docs/runner-protocol.md), and the worker refuses a client of another version with a CNI error
// result. Here a copy of the client that speaks version 99 (next to a link to the real bundle, so
// it meets the same worker) asks the worker the real client started, in a scratch namespace. The
// calls lack their CNI variables: a worker that answers them touches nothing. About 2 s.
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {CNI_WORKER_PROTOCOL} from '../../src/cni/plugin/worker.js'
import {isRoot, removeDir, ROOT, waitFor} from '../helpers/lab.js'

const CLIENT = join(ROOT, 'bin', 'netlab-cni')
const BUNDLE = join(ROOT, 'dist', 'netlab-cni.mjs')

describe.skipIf(!isRoot || !existsSync(BUNDLE))('the cni worker and a client of another protocol version', () => {
  const netns = `netlab-wproto-${process.pid}`
  const dir = mkdtempSync(join(tmpdir(), 'netlab-wproto-'))
  const other = join(dir, 'bin', 'netlab-cni')
  /** the worker's sockets in our namespace (named by its inode) */
  const sockets = () => {
    const ino = statSync(`/run/netns/${netns}`).ino
    return existsSync('/run/netlab-cni') ? readdirSync('/run/netlab-cni').filter((f) => f.startsWith(`${ino}-`)) : []
  }

  beforeAll(() => {
    expect(spawnSync('ip', ['netns', 'add', netns]).status).toBe(0)
    mkdirSync(join(dir, 'bin'))
    mkdirSync(join(dir, 'dist'))
    const source = readFileSync(CLIENT, 'utf8')
    const changed = source.replace(/^sub CNI_WORKER_PROTOCOL \(\) \{ \d+ \}$/m, 'sub CNI_WORKER_PROTOCOL () { 99 }')
    expect(changed).not.toBe(source)
    writeFileSync(other, changed, {mode: 0o755})
    symlinkSync(BUNDLE, join(dir, 'dist', 'netlab-cni.mjs'))
  })

  afterAll(async () => {
    const ino = existsSync(`/run/netns/${netns}`) ? statSync(`/run/netns/${netns}`).ino : undefined
    spawnSync('ip', ['netns', 'del', netns])
    // the worker leaves within a second of its namespace losing its name, and takes its socket along
    if (ino !== undefined)
      await waitFor(() => !existsSync('/run/netlab-cni') || !readdirSync('/run/netlab-cni').some((f) => f.startsWith(`${ino}-`)))
    removeDir(dir)
  })

  /** A CHECK without its container, namespace and interface: answered with code 4, nothing done. */
  const call = (client: string) => {
    const r = spawnSync('ip', ['netns', 'exec', netns, client], {
      env: {PATH: process.env.PATH, CNI_COMMAND: 'CHECK', CNI_PATH: '/usr/lib/cni'},
      input: '{"cniVersion":"1.0.0","name":"wproto","type":"netlab-cni"}',
      encoding: 'utf8',
    })
    return {exit: r.status, out: JSON.parse(r.stdout || '{}')}
  }

  it('the worker refuses it with a CNI error result naming both versions; the real client is answered as ever', async () => {
    // the real client starts the namespace's worker (its first call may be answered by the bundle itself)
    expect(call(CLIENT)).toMatchObject({exit: 1, out: {code: 4}})
    await waitFor(() => sockets().length > 0)
    expect(call(other)).toEqual({
      exit: 1,
      out: {
        cniVersion: '1.0.0',
        code: 999,
        msg: `bin/netlab-cni speaks worker protocol 99, its worker (dist/netlab-cni.mjs) expects ${CNI_WORKER_PROTOCOL}: reinstall netlab`,
      },
    })
    expect(call(CLIENT)).toMatchObject({exit: 1, out: {code: 4, msg: expect.stringContaining('missing')}})
  })
})
