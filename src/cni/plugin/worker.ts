// The resident worker: Node's start-up is nearly all of a call's cost (several times the work
// of the call itself: bench/cni-call.ts measures it), so bin/netlab-cni hands ADD, DEL and CHECK to a worker living in the same
// node namespace, started by the first call there, and gone after IDLE_MS without a call, or
// within a second of its namespace losing its name (ip netns del: the worker must not keep a
// deleted node's bridge and veths alive). It serves one namespace only (the socket is named by the namespace's inode, so a call never
// runs in another namespace's worker) and one call at a time (the calls are synchronous).
// Request: NUL-separated KEY=VALUE environment (NETLAB_CNI_WORKER_PROTOCOL, then the CNI_*
// variables), an empty entry, then stdin. Reply: the exit status, a newline, then stdout. The
// whole protocol: docs/runner-protocol.md.
import {readdirSync, statSync, unlinkSync} from 'node:fs'
import {connect, createServer, type Socket} from 'node:net'
import {run, versionOf} from './call.js'
import {CODE, CniError, errorResult} from './errors.js'

/** The protocol spoken with bin/netlab-cni; the client has the same constant and names it in each request. */
export const CNI_WORKER_PROTOCOL = 1

// long enough to span a lab's whole `up` however the runtime orders its calls across nodes
const IDLE_MS = 20_000
const NETNS_DIR = '/run/netns'

/** The name `ip netns` knows our namespace by, if any: the bind mount with our inode. */
function ownNetnsName(): string | undefined {
  try {
    const ino = statSync('/proc/self/ns/net').ino
    return readdirSync(NETNS_DIR).find((n) => {
      try {
        return statSync(`${NETNS_DIR}/${n}`).ino === ino
      } catch {
        return false
      }
    })
  } catch {
    return undefined
  }
}

export function parseRequest(buf: Buffer): {env: Record<string, string>; stdin: string} {
  const env: Record<string, string> = {}
  let at = 0
  for (;;) {
    const end = buf.indexOf(0, at)
    if (end < 0 || end === at) {
      at = end < 0 ? buf.length : end + 1
      break
    }
    const pair = buf.toString('utf8', at, end)
    const eq = pair.indexOf('=')
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1)
    at = end + 1
  }
  return {env, stdin: buf.toString('utf8', at)}
}

/**
 * The reply to one request. A client that names another protocol (unnamed counts as 1, the
 * protocol as it was before it had a number) gets status 1 and a CNI error result saying so,
 * which it passes on as any answer: the call is refused, not run.
 */
export function answer(req: Buffer): string {
  const {env, stdin} = parseRequest(req)
  const theirs = env.NETLAB_CNI_WORKER_PROTOCOL ?? '1'
  delete env.NETLAB_CNI_WORKER_PROTOCOL
  if (theirs !== String(CNI_WORKER_PROTOCOL)) {
    const msg = `bin/netlab-cni speaks worker protocol ${theirs}, its worker (dist/netlab-cni.mjs) expects ${CNI_WORKER_PROTOCOL}: reinstall netlab`
    return `1\n${JSON.stringify(errorResult(new CniError(CODE.internal, msg), versionOf(stdin)), null, 4)}\n`
  }
  const r = run(env, stdin)
  return `${r.code}\n${r.stdout}`
}

export function serve(path: string): void {
  let active = 0
  let idle: NodeJS.Timeout | undefined
  const server = createServer((sock: Socket) => {
    active++
    clearTimeout(idle)
    const chunks: Buffer[] = []
    sock.on('data', (d) => chunks.push(d))
    sock.on('error', () => sock.destroy())
    sock.on('end', () => sock.end(answer(Buffer.concat(chunks))))
    sock.on('close', () => {
      if (--active === 0) idle = setTimeout(stop, IDLE_MS)
    })
  })
  const name = ownNetnsName()
  const ino = statSync('/proc/self/ns/net').ino
  const gone = () => {
    try {
      return statSync(`${NETNS_DIR}/${name}`).ino !== ino
    } catch {
      return true
    }
  }
  const watch = name === undefined ? undefined : setInterval(() => gone() && stop(), 1000)
  const stop = () => {
    clearInterval(watch)
    clearTimeout(idle)
    server.close()
    try {
      unlinkSync(path)
    } catch {
      // already replaced by a newer worker's socket: not ours to remove
    }
  }
  server.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EADDRINUSE') process.exit(1)
    // a socket file is there: a live worker (leave it be) or a dead one's (take its place)
    const probe = connect(path)
    probe.on('connect', () => {
      probe.destroy()
      process.exit(0)
    })
    probe.on('error', () => {
      try {
        unlinkSync(path)
      } catch {
        // another starting worker removed it first
      }
      server.listen(path)
    })
  })
  server.listen(path, () => (idle = setTimeout(stop, IDLE_MS)))
}
