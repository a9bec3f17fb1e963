// Looking inside running labs: netlab ls, exec, shell and capture on two real labs at once, and
// graph of a running lab. Root only; the labs live in a private state directory and are torn
// down after the file, even when a test fails.
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {
  BIN,
  cliEnv,
  exited,
  isRoot,
  labSandbox,
  netlab,
  removeDir,
  rootSnapshot,
  ROOT,
  smallTopology,
  uniqueLab,
  waitFor,
  writeTopology,
} from '../helpers/lab.js'

describe.skipIf(!isRoot)('netlab ls, exec, shell, capture on running labs', () => {
  const box = labSandbox()
  const dir = mkdtempSync(join(tmpdir(), 'netlab-look-'))
  const a = box.track(uniqueLab('look-a'))
  const b = box.track(uniqueLab('look-b'))
  const started: ChildProcess[] = []
  let before = ''
  afterAll(() => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM')
    removeDir(dir)
  })

  beforeAll(() => {
    before = rootSnapshot()
    for (const [lab, opts] of [
      [a, {nodes: 2, pods: 2}],
      [b, {nodes: 1, pods: 1, external: false}],
    ] as const) {
      const r = netlab(['up', writeTopology(dir, smallTopology(lab, opts)), '-q'], box.env)
      expect(r.code, r.stderr).toBe(0)
    }
  }, 120_000)

  /** netlab with stdin (for the shell), as the helpers' netlab() does otherwise */
  const withInput = (args: string[], input: string) => {
    const r = spawnSync(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: cliEnv({...box.env, NO_COLOR: '1'}),
      input,
      encoding: 'utf8',
      timeout: 30_000,
    })
    return {code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr}
  }

  it('ls: one line per lab that is up; --json an array; status --all the same', () => {
    const r = netlab(['ls'], box.env)
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^LAB +STATE +ROUTING/)
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 5))).toEqual(
      [
        [a, 'up', 'host-gw', '2', '4'],
        [b, 'up', 'host-gw', '1', '1'],
      ].sort((x, y) => x[0].localeCompare(y[0])),
    )
    const json = JSON.parse(netlab(['ls', '--json'], box.env).stdout)
    expect(
      json.map((l: {lab: string; state: string; namespaces: number; missing: number}) => [l.lab, l.state, l.namespaces, l.missing]).sort(),
    ).toEqual(
      [
        [a, 'up', 1 + 2 + 1 + 4, 0], // fabric, nodes, external host, pods
        [b, 'up', 1 + 1 + 1, 0],
      ].sort(),
    )
    const all = netlab(['status', '--all', '--json'], box.env)
    expect(all.code).toBe(0)
    expect(JSON.parse(all.stdout)).toEqual(json)
  })

  it('exec: several labs up and no --lab is a usage error naming them', () => {
    const r = netlab(['exec', 'n0', '--', 'true'], box.env)
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain(a)
    expect(r.stderr).toContain(b)
  })

  it("exec: runs in the member's own namespace, with its lab's addresses, passing the exit code through", () => {
    const r = netlab(['exec', '--lab', a, 'n0-p1', '--', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'], box.env)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/\binet 10\.244\.0\.3\/24\b/)
    // without --: the command's own flags are its own
    const node = netlab(['exec', '--lab', a, 'n1', 'ip', '-4', '-br', 'addr', 'show', 'dev', 'cni0'], box.env)
    expect(node.code, node.stderr).toBe(0)
    expect(node.stdout).toMatch(/^cni0 +UP +10\.244\.1\.1\/24/)
    const env = netlab(['exec', '--lab', b, 'n0-p0', '--', 'sh', '-c', 'echo "$NETLAB_LAB/$NETLAB_MEMBER"; exit 7'], box.env)
    expect(env.stdout.trim()).toBe(`${b}/n0-p0`)
    expect(env.code).toBe(7)
  })

  it('exec: pod to pod across nodes, from inside the lab', () => {
    const r = netlab(['exec', '--lab', a, 'n0-p0', '--', 'ping', '-c', '1', '-W', '2', '10.244.1.2'], box.env)
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toMatch(/1 received/)
  })

  it("exec: an unknown member is exit 2 with one line listing the lab's members; an unknown command is 127", () => {
    const r = netlab(['exec', '--lab', a, 'n9', '--', 'true'], box.env)
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(
      `netlab: lab ${a} has no member named "n9"; its members: fabric, n0, n1, internet, n0-p0, n0-p1, n1-p0, n1-p1`,
    )
    const missing = netlab(['exec', '--lab', a, 'n0', '--', 'no-such-command-here'], box.env)
    expect(missing.code).toBe(127)
    expect(missing.stderr).toContain('no-such-command-here: command not found')
    const none = netlab(['exec', '--lab', a, 'n0'], box.env)
    expect(none.code).toBe(2)
  })

  const script = 'echo "member=$NETLAB_MEMBER"\nip -4 -o addr show dev eth0\nexit 3\n'

  it("shell: commands fed on stdin run in the member as a script, without a word about job control (issue 22, 21); its exit code is netlab's", () => {
    const r = withInput(['shell', '--lab', a, 'n1-p0'], script)
    expect(r.code, r.stderr).toBe(3)
    expect(r.stdout).toContain('member=n1-p0')
    expect(r.stdout).toMatch(/\binet 10\.244\.1\.2\/24\b/)
    expect(r.stderr).toBe('') // no "cannot set terminal process group", no prompt for nobody
  })

  it.skipIf(spawnSync('script', ['--version']).status !== 0)(
    'shell on a terminal: interactive, each command after a prompt naming the member',
    () => {
      const r = spawnSync('script', ['-qec', `${process.execPath} ${BIN} shell --lab ${a} n1-p0`, '/dev/null'], {
        cwd: ROOT,
        env: cliEnv({...box.env, NO_COLOR: '1'}),
        input: script,
        encoding: 'utf8',
        timeout: 30_000,
      })
      expect(r.status, r.stdout).toBe(3)
      const prompt = `[${a}/n1-p0] # `
      expect(r.stdout.split(prompt).length - 1).toBe(3)
      expect(r.stdout).toContain(`${prompt}ip -4 -o addr show dev eth0`)
      expect(r.stdout).toContain('member=n1-p0')
      expect(r.stdout).not.toContain('job control')
    },
  )

  it('capture: tcpdump in a pod sees a ping from a pod on another node, both ways, and stops after -c 2', async () => {
    const cap = spawn(process.execPath, [BIN, 'capture', '--lab', a, 'n1-p0', '-c', '2', '--', 'icmp'], {
      cwd: ROOT,
      env: cliEnv({...box.env, NO_COLOR: '1'}),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    started.push(cap)
    const out = collect(cap)
    await waitFor(() => out.stderr.includes('listening on eth0'), 15_000)
    const ping = netlab(['exec', '--lab', a, 'n0-p0', '--', 'ping', '-c', '1', '-W', '2', '10.244.1.2'], box.env)
    expect(ping.code, ping.stdout).toBe(0)
    const {code} = await exited(cap, 15_000)
    expect(code, out.stderr).toBe(0)
    const lines = out.stdout.trim().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/IP 10\.244\.0\.2 > 10\.244\.1\.2: ICMP echo request/)
    expect(lines[1]).toMatch(/IP 10\.244\.1\.2 > 10\.244\.0\.2: ICMP echo reply/)
  })

  it("capture -w: a pcap file of the packets on a node's cni0", async () => {
    const pcap = join(dir, 'cni0.pcap')
    const cap = spawn(process.execPath, [BIN, 'capture', '--lab', a, 'n1', 'cni0', '-c', '2', '-w', pcap, '--', 'icmp'], {
      cwd: ROOT,
      env: cliEnv({...box.env, NO_COLOR: '1'}),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    started.push(cap)
    const out = collect(cap)
    await waitFor(() => out.stderr.includes('listening on cni0'), 15_000)
    expect(netlab(['exec', '--lab', a, 'n0-p1', '--', 'ping', '-c', '1', '-W', '2', '10.244.1.3'], box.env).code).toBe(0)
    expect((await exited(cap, 15_000)).code, out.stderr).toBe(0)
    expect(out.stdout).toBe('') // the packets went to the file
    const bytes = readFileSync(pcap)
    expect(bytes.readUInt32LE(0)).toBe(0xa1b2c3d4) // pcap magic
    const read = spawnSync('tcpdump', ['-n', '-r', pcap], {encoding: 'utf8'})
    expect(
      read.stdout
        .trim()
        .split('\n')
        .map((l) => l.replace(/^\S+ /, '')),
    ).toEqual([
      expect.stringMatching(/^IP 10\.244\.0\.3 > 10\.244\.1\.3: ICMP echo request/),
      expect.stringMatching(/^IP 10\.244\.1\.3 > 10\.244\.0\.3: ICMP echo reply/),
    ])
    rmSync(pcap)
  })

  it('capture: an interface the member does not have is exit 2, naming the ones it has', () => {
    const r = netlab(['capture', '--lab', a, 'n0-p0', 'cni0', '-c', '1'], box.env)
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe('netlab: n0-p0 has no interface cni0; its interfaces: lo, eth0 (or any)')
  })

  it('graph of a running lab draws its saved model', () => {
    const r = netlab(['graph', a, '--format', 'dot'], box.env)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain(`digraph "netlab ${a}"`)
    expect(r.stdout).toContain('10.244.1.0/24 via 192.168.50.11')
  })

  it('the root namespace is unchanged', () => {
    expect(rootSnapshot()).toBe(before)
  })
})

function collect(c: ChildProcess): {stdout: string; stderr: string} {
  const out = {stdout: '', stderr: ''}
  c.stdout!.on('data', (d) => (out.stdout += d))
  c.stderr!.on('data', (d) => (out.stderr += d))
  return out
}
