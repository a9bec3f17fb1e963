// The pods' workload on real namespaces: `up` starts one process that serves every port the pods
// declare (HTTP, a plain line, UDP, the probe's own UDP echo), it outlives `up`, `status` shows it,
// `down` stops it, and an `up` that fails or is killed after starting it leaves no process behind.
// The probe on such a lab leaves the workload's ports to it and still passes.
import {spawnSync} from 'node:child_process'
import {readdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {alive} from '../../src/host/processes.js'
import {isRoot, labNetns, labSandbox, netlab, uniqueLab, waitFor, writeTopology} from '../helpers/lab.js'

/** The lab's workload processes (their marker names the lab and the `up` that started them). */
const workloadsOf = (lab: string) =>
  readdirSync('/proc').flatMap((d) => {
    if (!/^\d+$/.test(d)) return []
    try {
      const args = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0')
      return args.some((a) => a.startsWith(`netlab-workload:${lab}:`)) ? [Number(d)] : []
    } catch {
      return []
    }
  })

/** Run a program inside a lab namespace. */
const inNetns = (netns: string, argv: string[], input?: string) =>
  spawnSync('ip', ['netns', 'exec', netns, ...argv], {encoding: 'utf8', timeout: 10_000, ...(input !== undefined ? {input} : {})})

/** A UDP datagram from inside `netns`, and the answer (perl, as the probe's clients are). */
const udp = (netns: string, ip: string, port: number, msg: string, wait = 3) =>
  inNetns(netns, [
    'perl',
    '-MIO::Socket::INET',
    '-e',
    `my $s = IO::Socket::INET->new(Proto => "udp", PeerAddr => "${ip}:${port}") or die "$!"; ` +
      `$s->send($ARGV[0]); my $r = ""; eval { local $SIG{ALRM} = sub { die }; alarm ${wait}; $s->recv($r, 512); alarm 0 }; print $r`,
    msg,
  ]).stdout

/** A lab of two nodes: web-0 serves TCP 8080 (named http) and UDP 9000, api-0 TCP 8443; client serves nothing. */
function topology(lab: string, opts: {policy?: boolean} = {}): Record<string, unknown> {
  return {
    name: lab,
    cluster: {routing: 'host-gw'},
    nodes: [
      {
        name: 'n0',
        pods: [
          {
            name: 'web-0',
            labels: {app: 'web'},
            ports: [
              {name: 'http', port: 8080},
              {port: 9000, protocol: 'UDP'},
            ],
          },
        ],
      },
      {
        name: 'n1',
        pods: [
          {name: 'client', labels: {app: 'client'}},
          {name: 'api-0', ports: [{port: 8443}]},
        ],
      },
    ],
    // a policy naming the workload's ports: the probe checks it (and would serve it itself, without the workload)
    ...(opts.policy
      ? {
          policies: [
            {
              name: 'web-from-client',
              podSelector: {app: 'web'},
              ingress: [
                {
                  from: [{podSelector: {app: 'client'}}],
                  ports: [
                    {protocol: 'TCP', port: 8080},
                    {protocol: 'UDP', port: 9000},
                  ],
                },
              ],
            },
          ],
        }
      : {}),
  }
}

interface StatusJson {
  nodes: {pods: {name: string; ip: string}[]}[]
  workload?: {running: boolean; pid?: number; pods: {pod: string; ports: {port: number; protocol: string; name?: string}[]}[]}
}

describe.skipIf(!isRoot)('the pods workload (root, real namespaces)', () => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab('work'))
  const netns = (pod: string) => `netlab-${lab}.${pod}`
  let ip: (pod: string) => string
  let pid: number

  beforeAll(() => {
    const r = netlab(['up', '-q', writeTopology(stateDir, topology(lab, {policy: true}))], env)
    expect(r.code, r.stderr).toBe(0)
    const s = JSON.parse(netlab(['status', lab, '--json'], env).stdout) as StatusJson
    const pods = new Map(s.nodes.flatMap((n) => n.pods).map((p) => [p.name, p.ip]))
    ip = (pod) => pods.get(pod)!
  })

  it('status --json lists the ports each pod serves, and the process running (one for the lab)', () => {
    const s = JSON.parse(netlab(['status', lab, '--json'], env).stdout) as StatusJson
    expect(s.workload).toMatchObject({
      running: true,
      pods: [
        {
          pod: 'web-0',
          ports: [
            {port: 8080, protocol: 'TCP', name: 'http'},
            {port: 9000, protocol: 'UDP'},
          ],
        },
        {pod: 'api-0', ports: [{port: 8443, protocol: 'TCP'}]},
      ],
    })
    pid = s.workload!.pid!
    // outlived `up`, in a session of its own; the only one of the lab
    expect(workloadsOf(lab)).toEqual([pid])
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const [, , , session] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    expect(Number(session)).toBe(pid)
    expect(netlab(['status', lab], env).stdout).toContain(`workload: running (pid ${pid}): web-0 8080/TCP (http), 9000/UDP; api-0 8443/TCP`)
  })

  it('curl from another pod gets the line naming the pod, its address and port, and the client address', () => {
    const r = inNetns(netns('client'), ['curl', '-s', '-i', '-m', '5', `http://${ip('web-0')}:8080/`])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(r.stdout).toContain(`\r\nX-Netlab-Seen: ${ip('client')}\r\n`)
    expect(r.stdout).toContain(`\r\nX-Netlab-Served-By: ${netns('web-0')}\r\n`)
    expect(r.stdout.split('\r\n\r\n')[1]).toBe(`web-0 ${ip('web-0')}:8080 from ${ip('client')}\n`)
    // another pod's port, from another node's pod
    const api = inNetns(netns('web-0'), ['curl', '-s', '-m', '5', `http://${ip('api-0')}:8443/`])
    expect(api.stdout).toBe(`api-0 ${ip('api-0')}:8443 from ${ip('web-0')}\n`)
  })

  it('a plain TCP client gets the plain line: at once after a line that is not HTTP, after a short wait when it says nothing', () => {
    const silent = inNetns(netns('client'), ['bash', '-c', `exec 3<>/dev/tcp/${ip('web-0')}/8080 && cat <&3`])
    expect(silent.stdout).toBe(`web-0 ${ip('web-0')}:8080 from ${ip('client')}\n`)
    // an HTTP request typed into nc (bare line feeds) is HTTP all the same
    const typed = inNetns(netns('client'), [
      'bash',
      '-c',
      `exec 3<>/dev/tcp/${ip('web-0')}/8080 && printf 'GET / HTTP/1.0\\n\\n' >&3 && cat <&3`,
    ])
    expect(typed.stdout).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nweb-0 \S+:8080 from \S+\n$/)
    const talker = inNetns(netns('client'), ['bash', '-c', `exec 3<>/dev/tcp/${ip('web-0')}/8080 && echo hello >&3 && cat <&3`])
    expect(talker.stdout).toBe(`web-0 ${ip('web-0')}:8080 from ${ip('client')}\n`)
  })

  it("UDP: any datagram gets the line; the probe's own gets the probe's answer; an answer gets none", () => {
    expect(udp(netns('client'), ip('web-0'), 9000, 'hello')).toBe(`web-0 ${ip('web-0')}:9000 from ${ip('client')}\n`)
    expect(udp(netns('client'), ip('web-0'), 9000, 'netlab-probe 42\n')).toBe(`netlab-echo 42 ${ip('client')} ${netns('web-0')}\n`)
    // an answer is not answered: two workloads never bounce a datagram between them
    expect(udp(netns('client'), ip('web-0'), 9000, `api-0 ${ip('api-0')}:9000 from ${ip('web-0')}\n`, 1)).toBe('')
    expect(udp(netns('client'), ip('web-0'), 9000, `netlab-echo 42 ${ip('web-0')} ${netns('api-0')}\n`, 1)).toBe('')
  })

  it('the probe passes, leaving the workload its ports (policy checks on TCP 8080 and UDP 9000 answered by it)', () => {
    const r = netlab(['probe', lab, '--json'], env)
    expect(r.code, r.stdout.slice(0, 2000) + r.stderr).toBe(0)
    const report = JSON.parse(r.stdout) as {failed: number; checks: {id: string; results: {detail?: string}[]}[]}
    expect(report.failed).toBe(0)
    // nothing of it was refused a port: a second listener would have been (the workload's socket is its alone)
    expect(JSON.stringify(report)).not.toContain('Address already in use')
    // the workload is as it was: the same process, still serving
    expect(workloadsOf(lab)).toEqual([pid])
    expect(inNetns(netns('client'), ['curl', '-s', '-m', '5', `http://${ip('web-0')}:8080/`]).stdout).toContain('web-0')
  })

  it('down stops it and leaves nothing', () => {
    const r = netlab(['down', lab], env)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('1 process stopped')
    expect(workloadsOf(lab)).toEqual([])
    expect(alive(pid)).toBe(false) // gone, or a zombie until init reaps it
    expect(labNetns(lab)).toEqual([])
  })
})

describe.skipIf(!isRoot)('an up that fails or dies after starting the workload leaves no process', () => {
  const {stateDir, env, track} = labSandbox()

  it('a port the workload cannot open fails up with one line, and rolls back everything, the workload too', () => {
    const lab = track(uniqueLab('wfail'))
    // test-only: the workload is also given an address its last pod does not hold (docs/safety.md)
    const r = netlab(['up', '-q', writeTopology(stateDir, topology(lab))], {...env, NETLAB_TEST_FAULT_AT: 'workload'})
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(
      'up failed: the workload cannot serve TCP port 8443 in pod api-0 (192.0.2.1): Cannot assign requested address\n',
    )
    expect(r.stderr).toContain(`nothing of lab ${lab} is left`)
    expect(workloadsOf(lab)).toEqual([])
    expect(labNetns(lab)).toEqual([])
    expect(readdirSync(stateDir)).not.toContain(lab)
  })

  it('a lab whose state was deleted by hand: down removes its namespaces, and the workload, without its record, leaves by itself', async () => {
    const lab = track(uniqueLab('wlost'))
    expect(netlab(['up', '-q', writeTopology(stateDir, topology(lab))], env).code).toBe(0)
    const [pid] = workloadsOf(lab)
    expect(pid).toBeGreaterThan(0)
    rmSync(join(stateDir, lab), {recursive: true, force: true})
    expect(netlab(['down', lab], env).code).toBe(0)
    expect(labNetns(lab)).toEqual([])
    try {
      // its namespaces no longer have their names: it exits within its 2 s check
      await waitFor(() => !alive(pid), 10_000)
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGTERM') // this test's own process, left by a failure
    }
  })

  it('up killed with the workload running: down stops it', () => {
    const lab = track(uniqueLab('wkill'))
    const r = netlab(['up', '-q', writeTopology(stateDir, topology(lab))], {...env, NETLAB_TEST_KILL_AFTER_COMMIT: '1'})
    expect(r.code).toBe(-1) // killed (SIGKILL): no exit status
    const [pid] = workloadsOf(lab)
    expect(pid).toBeGreaterThan(0) // it outlived up: in its own session
    expect(readdirSync(join(stateDir, lab, 'pids'))).toEqual(['workload.json'])
    const d = netlab(['down', lab], env)
    expect(d.code, d.stderr).toBe(0)
    expect(workloadsOf(lab)).toEqual([])
    expect(labNetns(lab)).toEqual([])
  })
})
