// The resident worker: Node's start-up is nearly all of a call's cost (~80 ms of CPU against
// ~15 ms of work), so bin/netlab-cni hands ADD, DEL and CHECK to a worker living in the same
// node namespace, started by the first call there, and gone after IDLE_MS without a call, or
// within a second of its namespace losing its name (ip netns del: the worker must not keep a
// deleted node's bridge and veths alive). It serves one namespace only (the socket is named by the namespace's inode, so a call never
// runs in another namespace's worker) and one call at a time (the calls are synchronous).
// Request: NUL-separated KEY=VALUE environment, an empty entry, then stdin. Reply: the exit
// status, a newline, then stdout.
import {readdirSync, statSync, unlinkSync} from 'node:fs'
import {connect, createServer, type Socket} from 'node:net'
import {run} from './call.js'

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

export function serve(path: string): void {
  let active = 0
  let idle: NodeJS.Timeout | undefined
  const server = createServer((sock: Socket) => {
    active++
    clearTimeout(idle)
    const chunks: Buffer[] = []
    sock.on('data', (d) => chunks.push(d))
    sock.on('error', () => sock.destroy())
    sock.on('end', () => {
      const {env, stdin} = parseRequest(Buffer.concat(chunks))
      const r = run(env, stdin)
      sock.end(`${r.code}\n${r.stdout}`)
    })
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
