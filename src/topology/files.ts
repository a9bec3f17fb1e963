// Reading a file a topology or a policy file names, or the file itself: netlab runs as root, so
// such a path may point anywhere (a device, a fifo, /etc/shadow). Only a regular file is read,
// and no more than a size limit; what it holds is never quoted back (see checkConflist).
import {closeSync, constants, fstatSync, openSync, readSync, statSync} from 'node:fs'

type ReadRefusal =
  {reason: 'missing'} | {reason: 'not-regular'} | {reason: 'too-large'; size: number} | {reason: 'unreadable'; code: string}

/**
 * A regular file's bytes, if it has at most `max`. Checked before it is opened (opening a device
 * can do something) and again on the open descriptor (the path could be swapped in between);
 * opened without blocking, so a fifo swapped in cannot hang the read.
 */
export function readRegularFile(path: string, max: number): {reason: 'read'; bytes: Buffer} | ReadRefusal {
  let fd: number | undefined
  try {
    const before = statSync(path)
    if (!before.isFile()) return {reason: 'not-regular'}
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY)
    const st = fstatSync(fd)
    if (!st.isFile() || st.ino !== before.ino || st.dev !== before.dev) return {reason: 'not-regular'}
    if (st.size > max) return {reason: 'too-large', size: st.size}
    // one byte more than allowed: a file that grew since fstat is still caught
    const buf = Buffer.alloc(max + 1)
    let n = 0
    for (;;) {
      const got = n < buf.length ? readSync(fd, buf, n, buf.length - n, null) : 0
      if (got === 0) break
      n += got
    }
    return n > max ? {reason: 'too-large', size: n} : {reason: 'read', bytes: buf.subarray(0, n)}
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error)
    return code === 'ENOENT' || code === 'ENOTDIR' ? {reason: 'missing'} : {reason: 'unreadable', code}
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}
