// The echo hub: ONE process that answers HTTP inside every pod (and external host) namespace of a
// lab at once. assets/netlab-bind.pl created a listening socket in each namespace and exec()ed us
// with them open (NETLAB_HUB_FDS="fd=netns=ip,..."); a socket stays in the namespace it was made
// in, so this process never needs to enter one. Every answer is the client address the receiver
// saw: the evidence for (or against) NAT. Run as: node hub.js MARKER (the marker is for `down`).
//
// Deliberately tiny (node:net only, no HTTP parser): a 500-pod lab is 500 listening sockets and
// tens of thousands of one-request connections in a few seconds.
import {createSocket} from 'node:dgram'
import {createServer, type Socket} from 'node:net'

const MAX_REQUEST = 8192

interface Listener {
  fd: number
  netns: string
  ip: string
  /** udp: a datagram echo (a UDP port a policy names); otherwise an HTTP echo over TCP */
  proto?: 'udp'
}

export function parseHubFds(spec: string): Listener[] {
  return spec
    .split(',')
    .filter((s) => s.length > 0)
    .map((s) => {
      const [fd, netns, ip, port] = s.split('=')
      if (!/^\d+$/.test(fd ?? '') || !netns || !ip || (port !== undefined && !/^(tcp|udp)\/\d+$/.test(port)))
        throw new Error(`bad NETLAB_HUB_FDS entry: ${s}`)
      return {fd: Number(fd), netns, ip, ...(port?.startsWith('udp') ? {proto: 'udp' as const} : {})}
    })
}

/** The whole answer: the address the client came from, in a header and as the body. */
export function echoResponse(seen: string, servedBy: string): string {
  const body = `${seen}\n`
  return (
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Netlab-Seen: ` +
    `${seen}\r\nX-Netlab-Served-By: ${servedBy}\r\nContent-Length: ` +
    `${body.length}\r\nConnection: close\r\n\r\n${body}`
  )
}

/** The answer to a UDP probe "netlab-probe ID": the ID, the address the sender came from, who answered. */
export function udpEchoResponse(request: string, seen: string, servedBy: string): string | undefined {
  const m = /^netlab-probe (\d+)\s*$/.exec(request)
  return m ? `netlab-echo ${m[1]} ${seen} ${servedBy}\n` : undefined
}

function serve(sock: Socket, netns: string): void {
  // no per-connection timer (it costs more than the rest): a client that never sends its
  // request holds a socket until the probe ends, which stops the hub
  sock.on('error', () => sock.destroy())
  let head = ''
  const onData = (chunk: Buffer) => {
    head += chunk.toString('latin1')
    if (head.includes('\r\n\r\n')) {
      sock.off('data', onData)
      sock.end(echoResponse(sock.remoteAddress ?? 'unknown', netns))
    } else if (head.length > MAX_REQUEST) {
      sock.destroy()
    }
  }
  sock.on('data', onData)
}

function main(): void {
  const listeners = parseHubFds(process.env.NETLAB_HUB_FDS ?? '')
  if (listeners.length === 0) {
    process.stderr.write('netlab echo hub: no sockets given (NETLAB_HUB_FDS)\n')
    process.exit(3)
  }
  const quit = () => process.exit(0)
  process.on('SIGTERM', quit)
  process.on('SIGINT', quit)
  process.on('SIGHUP', quit)
  // after "ready" nobody reads our output any more: never let a write error kill us
  process.stdout.on('error', () => {})
  process.stderr.on('error', () => {})
  // The probe that started us stops us; if it died without doing so (SIGKILL), stop ourselves
  // rather than wait for `netlab down`. Its PID comes from it: it may be gone before we look.
  const parent = Number(process.env.NETLAB_PROBE_PID) || process.ppid
  const orphaned = () => process.ppid !== parent && quit()
  orphaned()
  setInterval(orphaned, 500)
  let pending = listeners.length
  const ready = () => {
    if (--pending === 0) process.stdout.write(`ready ${listeners.length}\n`)
  }
  for (const l of listeners) {
    if (l.proto === 'udp') {
      const sock = createSocket('udp4')
      sock.on('message', (msg, from) => {
        const answer = udpEchoResponse(msg.toString('latin1', 0, 64), from.address, l.netns)
        if (answer) sock.send(answer, from.port, from.address)
      })
      sock.on('error', (error) => {
        if (pending > 0) {
          process.stderr.write(`netlab echo hub: ${l.netns} ${l.ip} udp: ${error.message}\n`)
          process.exit(3)
        }
      })
      sock.bind({fd: l.fd}, ready)
      continue
    }
    const server = createServer({noDelay: true}, (sock) => serve(sock, l.netns))
    server.on('error', (error) => {
      // before "ready": a socket we cannot serve, fatal; after: one failed accept (e.g. out of
      // file descriptors) costs that client its answer, and the probe reports it
      if (pending > 0) {
        process.stderr.write(`netlab echo hub: ${l.netns} ${l.ip}: ${error.message}\n`)
        process.exit(3)
      }
    })
    server.listen({fd: l.fd, backlog: 1024}, ready)
  }
}

if (process.env.NETLAB_HUB_FDS !== undefined && process.argv[1] && /hub\.js$/.test(process.argv[1])) main()
