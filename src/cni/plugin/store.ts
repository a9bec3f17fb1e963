// host-local's on-disk store, byte for byte: <dataDir>/<network>/ holds one file per address named
// by the address and holding "<containerID>\r\n<ifname>", last_reserved_ip.<set> with the last
// address handed out, and an empty `lock` file. host-local flock(2)s that file; Node cannot, so
// netlab-cni serialises its own calls with an O_EXCL pid file beside it (held for a few ms,
// taken over when its holder is dead). It does not interlock with a real host-local running at
// the same instant on the same network.
import {closeSync, mkdirSync, openSync, readFileSync, readdirSync, unlinkSync, writeFileSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {formatIPv4, parseIPv4} from '../../core/ipv4.js'
import {CODE, CniError} from './errors.js'
import type {IpStore, Owner} from './ipam.js'

const LAST = 'last_reserved_ip.'
const MUTEX = 'lock.netlab-cni'
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

  /** Run fn holding the store's mutex; busy for too long is error 11 (try again later). */
  locked<T>(fn: () => T): T {
    const path = join(this.dir, MUTEX)
    const sleeper = new Int32Array(new SharedArrayBuffer(4))
    for (let waited = 0; ; waited += 2) {
      try {
        writeFileSync(path, String(process.pid), {flag: 'wx'})
        break
      } catch (e) {
        if (errno(e) !== 'EEXIST') throw io('cannot lock the ipam store', e)
      }
      if (holderDead(path)) {
        try {
          unlinkSync(path)
        } catch {
          // another waiter took it over first
        }
        continue
      }
      if (waited >= LOCK_WAIT_MS) throw new CniError(CODE.tryAgainLater, `the ipam store ${this.dir} is busy`, `${path} is held`)
      Atomics.wait(sleeper, 0, 0, 2)
    }
    try {
      return fn()
    } finally {
      unlinkSync(path)
    }
  }
}

function holderDead(path: string): boolean {
  try {
    const pid = Number(readFileSync(path, 'utf8'))
    if (!Number.isInteger(pid) || pid <= 0) return false // being written right now
    process.kill(pid, 0)
    return false
  } catch (e) {
    return errno(e) === 'ESRCH'
  }
}
