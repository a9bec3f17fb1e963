// netlab-cni's ipam store lock is host-local's: flock(2) on <dataDir>/<network>/lock. Held by
// another process (a real host-local, here flock(1)), netlab-cni waits and then answers error 11
// without touching the store; while netlab-cni holds it, the other process cannot take it. No
// root: a temporary directory and flock(1). No timing: the waits are non-blocking (0 ms).
import {spawnSync} from 'node:child_process'
import {closeSync, mkdtempSync, openSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {CniError} from '../../src/cni/plugin/errors.js'
import {DiskStore} from '../../src/cni/plugin/store.js'

const dataDir = mkdtempSync(join(tmpdir(), 'netlab-cni-lock-'))
afterAll(() => rmSync(dataDir, {recursive: true, force: true}))

/** flock(1) on the store's lock, non-blocking, as another process: true when it got the lock. */
const otherTakes = (store: DiskStore) => spawnSync('flock', ['--exclusive', '--nonblock', join(store.dir, 'lock'), 'true']).status === 0

describe("netlab-cni's ipam store lock (host-local's flock)", () => {
  it('another holder of the flock keeps netlab-cni out: error 11, the store untouched; free again, it runs', () => {
    const store = new DiskStore(dataDir, 'held')
    // hold it as another process would: flock(1) takes it on our descriptor, which keeps it
    const fd = openSync(join(store.dir, 'lock'), 'r')
    expect(spawnSync('flock', ['--exclusive', '0'], {stdio: [fd, 'ignore', 'ignore']}).status).toBe(0)
    let ran = false
    try {
      store.locked(() => (ran = true), 0)
      expect.unreachable('locked() ran while the flock was held elsewhere')
    } catch (e) {
      expect(e).toBeInstanceOf(CniError)
      expect((e as CniError).code).toBe(11)
      expect((e as CniError).message).toContain('is busy')
    } finally {
      closeSync(fd)
    }
    expect(ran).toBe(false)
    expect(store.locked(() => 'ran', 0)).toBe('ran')
  })

  it('while netlab-cni holds it, another process cannot take it; after, it can, and no file of the lock stays behind', () => {
    const store = new DiskStore(dataDir, 'mine')
    expect(store.locked(() => otherTakes(store))).toBe(false)
    expect(otherTakes(store)).toBe(true)
    expect(readdirSync(store.dir)).toEqual(['lock'])
  })
})
