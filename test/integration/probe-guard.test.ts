// The probe engine never works in the host's own network namespace: a name under /run/netns
// that is bound to it (as `ip netns attach NAME 1` would make) is refused — no server, no
// address read, no probe sent from there — while a real namespace beside it is entered. Run in
// a private mount namespace with its own /run/netns (a tmpfs), so no name is ever added to the
// host's /run/netns: nothing of it is seen outside, and it is gone when the engine exits.
import {spawn} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {ENGINE_SCRIPT} from '../../src/probe/engine.js'
import {isRoot} from '../helpers/lab.js'

const SETUP = [
  'set -e',
  'mount -t tmpfs netlab-guard-test /run/netns',
  'touch /run/netns/host /run/netns/lab',
  'mount --bind /proc/self/ns/net /run/netns/host', // the host's own namespace, under a lab-like name
  'unshare --net=/run/netns/lab true', // a real, new one
  `exec perl ${ENGINE_SCRIPT}`,
].join('\n')

/** Drive the engine through its protocol (docs/runner-protocol.md); its result lines by kind. */
async function engineLines(): Promise<string[]> {
  const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', SETUP], {stdio: ['pipe', 'pipe', 'pipe']})
  let out = ''
  let err = ''
  const seen = (line: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => (out.split('\n').includes(line) ? resolve() : undefined)
      child.stdout.on('data', check)
      child.on('exit', () => reject(new Error(`the engine exited before "${line}": ${err}`)))
      check()
    })
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  try {
    child.stdin.write('serve\thost\t127.0.0.1\ttcp\t24242\naddrs\thost\naddrs\tlab\nready\n')
    await seen('ready')
    child.stdin.write('ping\t0\thost\t127.0.0.1\ts\nping\t1\tlab\t127.0.0.1\ts\nend\n')
    await seen('loaded')
    child.stdin.write('go\n')
    await seen('done')
    return out.trim().split('\n')
  } finally {
    child.stdin.end()
    if (child.exitCode === null) child.kill('SIGTERM')
  }
}

describe.skipIf(!isRoot)("the probe engine's host-namespace guard", () => {
  it('refuses the host namespace under any name, and enters a lab namespace beside it', async () => {
    const lines = await engineLines()
    // the host: no server, no addresses, the probe from it fails without being sent
    expect(lines).toContain('unbound\thost\t127.0.0.1:tcp/24242\tcannot enter the namespace: Operation not permitted')
    expect(lines.filter((l) => l.startsWith('addrs host'))).toEqual([])
    expect(lines).toContain('fail\t0\t0\t-\tcannot enter host: Operation not permitted')
    // the lab namespace: entered (its addresses read: only lo, which is left out; its ping really sent)
    expect(lines).toContain('addrs lab')
    const lab = lines.find((l) => /^(ok|fail)\t1\t/.test(l))!
    expect(lab).not.toContain('cannot enter')
  }, 30_000)
})
