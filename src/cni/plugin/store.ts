// host-local's on-disk store, byte for byte: <dataDir>/<network>/ holds one file per address named
// by the address and holding "<containerID>\r\n<ifname>", last_reserved_ip.<set> with the last
// address handed out, and an empty `lock` file, which host-local flock(2)s around every change.
// netlab-cni takes the same flock on the same file, so it interlocks with a real host-local (and
// with itself) as the kernel keeps it: released when the holder exits, however it dies. Node has
// no flock: util-linux's flock(1) takes it on a descriptor we open and hand it as its stdin — a
// flock belongs to the open file description, which we keep once flock(1) has exited.
import {spawnSync} from 'node:child_process'
import {closeSync, mkdirSync, openSync, readFileSync, readdirSync, unlinkSync, writeFileSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {formatIPv4, parseIPv4} from '../../core/ipv4.js'
import {CODE, CniError} from './errors.js'
import type {IpStore, Owner} from './ipam.js'

const LAST = 'last_reserved_ip.'
const LOCK_WAIT_MS = 10_000

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code

function io(what: string, e: unknown): CniError {
  return new CniError(CODE.io, `${what}: ${(e as Error).message}`)
}

export class DiskStore implements IpStore {
  readonly dir: string
  constructor(dataDir: string, network: string) {
    this.dir = join(dataDir, network)
    try {
      mkdirSync(this.dir, {recursive: true, mode: 0o755})
      closeSync(openSync(join(this.dir, 'lock'), 'a', 0o644))
    } catch (e) {
      throw io(`cannot use the ipam store ${this.dir}`, e)
    }
  }

  reserve(ip: number, owner: Owner, set: number): boolean {
    let fd: number
    try {
      fd = openSync(join(this.dir, formatIPv4(ip)), 'wx', 0o644)
    } catch (e) {
      if (errno(e) === 'EEXIST') return false
      throw io('cannot reserve an address', e)
    }
    try {
      writeSync(fd, `${owner.id.trim()}\r\n${owner.ifname.trim()}`)
    } finally {
      closeSync(fd)
    }
    writeFileSync(join(this.dir, LAST + set), formatIPv4(ip))
    return true
  }

  lastReserved(set: number): number | undefined {
    try {
      return parseIPv4(readFileSync(join(this.dir, LAST + set), 'utf8').trim())
    } catch {
      return undefined
    }
  }

  entries(): {ip: number; owner: Owner}[] {
    return readdirSync(this.dir).flatMap((name) => {
      const ip = parseIPv4(name)
      if (ip === undefined) return []
      const text = readFileSync(join(this.dir, name), 'utf8').trim()
      // files of host-local before 0.8.6 hold the container ID alone
      const [id, ifname = ''] = text.split('\r\n')
      return [{ip, owner: {id: id.trim(), ifname: ifname.trim()}}]
    })
  }

  release(ip: number): void {
    try {
      unlinkSync(join(this.dir, formatIPv4(ip)))
    } catch (e) {
      if (errno(e) !== 'ENOENT') throw io('cannot release an address', e)
    }
  }

  /** Run fn holding the store's flock; held elsewhere for longer than waitMs is error 11 (try again later). */
  locked<T>(fn: () => T, waitMs = LOCK_WAIT_MS): T {
    const path = join(this.dir, 'lock')
    let fd: number
    try {
      fd = openSync(path, 'r')
    } catch (e) {
      throw io('cannot lock the ipam store', e)
    }
    try {
      takeFlock(fd, path, this.dir, waitMs)
      return fn()
    } finally {
      // the last descriptor of the open file description: the kernel drops the flock
      closeSync(fd)
    }
  }
}

/** flock(2) LOCK_EX on fd, by flock(1) on its stdin: exit 0 locked, 1 still held after waitMs. */
function takeFlock(fd: number, path: string, dir: string, waitMs: number): void {
  const wait = waitMs > 0 ? ['--wait', String(waitMs / 1000)] : ['--nonblock']
  const r = spawnSync('flock', ['--exclusive', ...wait, '0'], {stdio: [fd, 'ignore', 'pipe'], encoding: 'utf8'})
  if (r.status === 0) return
  if (r.status === 1) throw new CniError(CODE.tryAgainLater, `the ipam store ${dir} is busy`, `${path} is locked by another process`)
  throw new CniError(
    CODE.io,
    `cannot lock the ipam store: flock ${path}: ${(r.error?.message ?? r.stderr ?? '').trim() || `exit ${r.status}`}`,
  )
}
