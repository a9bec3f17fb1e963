// The vxlan mode carries traffic the way it claims, seen from the kernel rather than from
// netlab's own state: flannel.1 is what `ip -d link` says flannel makes; pod-to-pod packets
// between nodes leave the node through flannel.1 and cross the underlay only as UDP 8472 (the
// nodes' packet counters, and a capture on every port of the fabric switch during a whole
// `netlab probe`); no pod address ever appears on the underlay; MTUs are 1450.
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {ipIn, isRoot, labNetns, labSandbox, netlab, ROOT, uniqueLab, writeTopology} from '../helpers/lab.js'

const inNs = (netns: string, cmd: string, args: string[]) => spawnSync('ip', ['netns', 'exec', netns, cmd, ...args], {encoding: 'utf8'})
const json = (netns: string, args: string[]) => JSON.parse(ipIn(netns, ['-j', ...args]) || '[]')

/** iptables packet counter of the first rule of `chain` (inserted by the test, no target: it only counts). */
function counter(netns: string, table: string, chain: string): number {
  const out = execFileSync('ip', ['netns', 'exec', netns, 'iptables', '-t', table, '-L', chain, '1', '-v', '-x', '-n'], {encoding: 'utf8'})
  return Number(out.trim().split(/\s+/)[0])
}

// A packet capture on every interface of the fabric namespace (AF_PACKET, as tcpdump does; no
// tcpdump needed). Counts IPv4 frames by outer source, destination, protocol and UDP port, the
// inner addresses of VXLAN (UDP 8472) frames, and the addresses ARP asks about. Frames are
// counted as they arrive at the switch, not again as it sends them on. Stops when its stdin closes.
const CAPTURE = String.raw`
use strict; use warnings;
$| = 1;
alarm 120; # never outlive a stuck test
socket(my $s, 17, 3, unpack('S', pack('n', 3))) or die "AF_PACKET: $!\n"; # AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)
print "ready\n";
my (%outer, %inner, %arp);
my $ip = sub { join '.', unpack('C4', $_[0]) };
while (1) {
  my $rin = '';
  vec($rin, fileno($s), 1) = 1;
  vec($rin, fileno(STDIN), 1) = 1;
  select(my $rout = $rin, undef, undef, undef) > 0 or next;
  if (vec($rout, fileno(STDIN), 1)) { last if sysread(STDIN, my $x, 1) == 0 }
  next unless vec($rout, fileno($s), 1);
  my $from = recv($s, my $f, 65535, 0);
  next unless defined $from && length $f >= 14;
  my (undef, undef, undef, undef, $pkttype) = unpack('S n L S C', $from);
  next if $pkttype == 4; # PACKET_OUTGOING: the switch sending a frame on
  my $type = unpack('n', substr($f, 12, 2));
  if ($type == 0x0806 && length $f >= 42) { $arp{$ip->(substr($f, 28, 4)) . ' ' . $ip->(substr($f, 38, 4))}++; next }
  next unless $type == 0x0800;
  my $ihl = (unpack('C', substr($f, 14, 1)) & 15) * 4;
  my $proto = unpack('C', substr($f, 23, 1));
  my ($src, $dst) = ($ip->(substr($f, 26, 4)), $ip->(substr($f, 30, 4)));
  my $dport = $proto == 17 ? unpack('n', substr($f, 14 + $ihl + 2, 2)) : 0;
  $outer{"$src $dst $proto $dport"}++;
  next unless $proto == 17 && $dport == 8472;
  my $in = substr($f, 14 + $ihl + 8 + 8); # after UDP and VXLAN headers: the inner Ethernet frame
  next unless length $in >= 34 && unpack('n', substr($in, 12, 2)) == 0x0800;
  $inner{$ip->(substr($in, 26, 4)) . ' ' . $ip->(substr($in, 30, 4)) . ' ' . unpack('C', substr($in, 23, 1))}++;
}
print "outer $_ $outer{$_}\n" for sort keys %outer;
print "inner $_ $inner{$_}\n" for sort keys %inner;
print "arp $_ $arp{$_}\n" for sort keys %arp;
`

interface Capture {
  outer: {src: string; dst: string; proto: number; dport: number; n: number}[]
  inner: {src: string; dst: string; proto: number; n: number}[]
  arp: {sender: string; target: string; n: number}[]
}

/** Start the capture in `netns`; resolves once it is listening, with a stop() that returns what it saw. */
function capture(netns: string): Promise<{stop: () => Promise<Capture>}> {
  const child = spawn('ip', ['netns', 'exec', netns, 'perl', '-e', CAPTURE], {stdio: ['pipe', 'pipe', 'pipe']})
  let out = ''
  let err = ''
  child.stderr.on('data', (d) => (err += d))
  const closed = new Promise<void>((res) => child.on('close', () => res()))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.stdout.on('data', (d) => {
      out += d
      if (out.startsWith('ready\n')) resolve({stop})
    })
    closed.then(() => reject(new Error(`capture ended early: ${err}`)))
  })
  async function stop(): Promise<Capture> {
    child.stdin.end()
    await closed
    const c: Capture = {outer: [], inner: [], arp: []}
    for (const line of out.split('\n')) {
      const [kind, ...w] = line.split(' ')
      if (kind === 'outer') c.outer.push({src: w[0], dst: w[1], proto: Number(w[2]), dport: Number(w[3]), n: Number(w[4])})
      if (kind === 'inner') c.inner.push({src: w[0], dst: w[1], proto: Number(w[2]), n: Number(w[3])})
      if (kind === 'arp') c.arp.push({sender: w[0], target: w[1], n: Number(w[2])})
    }
    return c
  }
}

const inPods = (ip: string) => ip.startsWith('10.244.')

describe.skipIf(!isRoot)('vxlan: the overlay, seen from the kernel', () => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab('vxlan'))
  const ns = (name: string) => `netlab-${lab}.${name}`
  const nodes = [
    {name: 'node-0', ip: '192.168.50.10', vtep: '10.244.0.0'},
    {name: 'node-1', ip: '192.168.50.21', vtep: '10.244.9.0'},
    {name: 'node-2', ip: '192.168.50.12', vtep: '10.244.2.0'},
  ]

  beforeAll(() => {
    const topo = parse(readFileSync(join(ROOT, 'topologies', 'three-node-vxlan.yaml'), 'utf8'))
    topo.name = lab
    const up = netlab(['up', writeTopology(stateDir, topo), '-q'], env)
    expect(up.code, up.stderr).toBe(0)
  })
  afterAll(() => {
    netlab(['down', lab], env)
    expect(labNetns(lab)).toEqual([])
  })

  it("flannel.1 on every node: VNI 1, port 8472, nolearning, local = its underlay address on eth0, MTU 1450, its pod subnet's network address", () => {
    for (const n of nodes) {
      const [l] = json(ns(n.name), ['-d', 'link', 'show', 'flannel.1'])
      expect(l.mtu).toBe(1450)
      expect(l.linkinfo.info_kind).toBe('vxlan')
      expect(l.linkinfo.info_data).toMatchObject({id: 1, local: n.ip, link: 'eth0', port: 8472, learning: false})
      const [a] = json(ns(n.name), ['addr', 'show', 'dev', 'flannel.1'])
      expect(a.addr_info.map((x: {local: string; prefixlen: number}) => `${x.local}/${x.prefixlen}`)).toEqual([`${n.vtep}/32`])
      const fdb = execFileSync('bridge', ['-n', ns(n.name), 'fdb', 'show', 'dev', 'flannel.1'], {encoding: 'utf8'})
        .trim()
        .split('\n')
        .sort()
      const peers = nodes.filter((p) => p !== n)
      const mac = (ip: string) =>
        `0a:58:${ip
          .split('.')
          .map((b) => Number(b).toString(16).padStart(2, '0'))
          .join(':')}`
      expect(fdb).toEqual(peers.map((p) => `${mac(p.vtep)} dst ${p.ip} self permanent`).sort())
      const neigh = json(ns(n.name), ['neigh', 'show', 'dev', 'flannel.1']).map(
        (x: {dst: string; lladdr: string; state: string[]}) => `${x.dst} ${x.lladdr} ${x.state}`,
      )
      expect(neigh.sort()).toEqual(peers.map((p) => `${p.vtep} ${mac(p.vtep)} PERMANENT`).sort())
      const routes = ipIn(ns(n.name), ['route'])
      for (const p of peers) expect(routes).toContain(`${p.vtep}/24 via ${p.vtep} dev flannel.1 onlink`)
      expect(routes).not.toMatch(/10\.244\.\S+ via \S+ dev eth0/)
      // the kernel's own choice of path and source address for another node's pod
      const peer = peers[0]
      expect(ipIn(ns(n.name), ['route', 'get', peer.vtep.replace(/0$/, '5')])).toContain(`via ${peer.vtep} dev flannel.1 src ${n.vtep}`)
    }
  })

  it('the overlay MTU: 1450 on pods, their cables and cni0; a 1450-byte packet crosses without fragments, a 1451-byte one is refused at the pod', () => {
    expect(json(ns('web-0'), ['link', 'show', 'eth0'])[0].mtu).toBe(1450)
    const links = json(ns('node-0'), ['link']) as {ifname: string; mtu: number}[]
    expect(Object.fromEntries(links.map((l) => [l.ifname, l.mtu]))).toEqual({
      lo: 65536,
      eth0: 1500,
      cni0: 1450,
      'veth-web-0': 1450,
      'veth-web-1': 1450,
      'flannel.1': 1450,
    })
    expect(inNs(ns('web-0'), 'ping', ['-c1', '-W2', '-M', 'do', '-s', '1422', '10.244.9.10']).status).toBe(0)
    const big = inNs(ns('web-0'), 'ping', ['-c1', '-W2', '-M', 'do', '-s', '1423', '10.244.9.10'])
    expect(big.status).not.toBe(0)
    expect(big.stdout + big.stderr).toContain('mtu=1450')
  })

  it('no veth pair has the same interface index at both ends (flannel.1 comes after every cable)', () => {
    for (const n of labNetns(lab)) {
      for (const l of json(n, ['-d', 'link']) as {ifname: string; ifindex: number; link_index?: number; linkinfo?: {info_kind: string}}[]) {
        if (l.linkinfo?.info_kind === 'veth') expect(l.link_index, `${n} ${l.ifname}`).not.toBe(l.ifindex)
      }
    }
  })

  it("pod to pod between nodes: the packet leaves through flannel.1 and crosses eth0 only as UDP 8472 (the nodes' counters)", () => {
    // rules without a target only count; they are inserted first so nothing before them can stop a packet
    const add = (node: string, args: string[]) => execFileSync('ip', ['netns', 'exec', ns(node), 'iptables', ...args])
    add('node-0', ['-I', 'OUTPUT', '-o', 'eth0', '-p', 'udp', '--dport', '8472'])
    add('node-0', ['-t', 'mangle', '-I', 'POSTROUTING', '-o', 'eth0', '-d', '10.244.0.0/16'])
    add('node-0', ['-t', 'mangle', '-I', 'FORWARD', '-o', 'flannel.1', '-s', '10.244.0.2', '-d', '10.244.9.10'])
    add('node-1', ['-I', 'INPUT', '-i', 'eth0', '-p', 'udp', '--dport', '8472'])
    add('node-1', ['-t', 'mangle', '-I', 'FORWARD', '-i', 'flannel.1', '-o', 'cni0', '-s', '10.244.0.2', '-d', '10.244.9.10'])
    const ping = inNs(ns('web-0'), 'ping', ['-c5', '-i0.2', '-W2', '10.244.9.10'])
    expect(ping.status, ping.stdout).toBe(0)
    const ttls = [...ping.stdout.matchAll(/ttl=(\d+)/g)].map((m) => Number(m[1]))
    console.log(
      `vxlan: web-0 → db: 5 pings, reply TTL ${[...new Set(ttls)].join(',')}; node-0 OUTPUT udp/8472 on eth0: ${counter(ns('node-0'), 'filter', 'OUTPUT')}; node-1 INPUT udp/8472 on eth0: ${counter(ns('node-1'), 'filter', 'INPUT')}; node-0 forwarded to flannel.1: ${counter(ns('node-0'), 'mangle', 'FORWARD')}; node-1 forwarded flannel.1 → cni0: ${counter(ns('node-1'), 'mangle', 'FORWARD')}; node-0 packets to a pod address out of eth0: ${counter(ns('node-0'), 'mangle', 'POSTROUTING')}`,
    )
    expect(ttls).toEqual([62, 62, 62, 62, 62]) // two routers (node-0, node-1); the tunnel is not a hop
    expect(counter(ns('node-0'), 'mangle', 'FORWARD')).toBe(5)
    expect(counter(ns('node-1'), 'mangle', 'FORWARD')).toBe(5)
    // each request is one UDP 8472 packet out of node-0's eth0, and into node-1's (and the replies back: ≥ 5, not more than request + reply)
    expect(counter(ns('node-0'), 'filter', 'OUTPUT')).toBeGreaterThanOrEqual(5)
    expect(counter(ns('node-1'), 'filter', 'INPUT')).toBeGreaterThanOrEqual(5)
    expect(counter(ns('node-0'), 'mangle', 'POSTROUTING')).toBe(0)
    for (const [node, args] of [
      ['node-0', ['-D', 'OUTPUT', '1']],
      ['node-0', ['-t', 'mangle', '-D', 'POSTROUTING', '1']],
      ['node-0', ['-t', 'mangle', '-D', 'FORWARD', '1']],
      ['node-1', ['-D', 'INPUT', '1']],
      ['node-1', ['-t', 'mangle', '-D', 'FORWARD', '1']],
    ] as const)
      add(node, [...args])
  })

  it('during a whole netlab probe (which passes), the fabric sees no pod address: pod traffic between nodes is UDP 8472 between node addresses, pods inside', async () => {
    const cap = await capture(ns('fabric'))
    const probe = netlab(['probe', lab, '--json'], env)
    const seen = await cap.stop()
    expect(probe.code, probe.stdout.slice(0, 2000) + probe.stderr).toBe(0)
    const report = JSON.parse(probe.stdout) as {
      failed: number
      passed: number
      checks: {id: string; results: {src: {name: string}; dst: {name: string; node?: string}; seen: string}[]}[]
    }
    expect(report.failed).toBe(0)
    // the kernel chose these sources, the echo saw them: a node reaching another node's pod is its flannel.1 address
    const nodePod = report.checks.find((c) => c.id === 'no-nat-node-pod')!.results
    expect(nodePod.find((r) => r.src.name === 'node-0' && r.dst.name === 'db')!.seen).toBe('10.244.0.0')
    expect(nodePod.find((r) => r.src.name === 'node-0' && r.dst.name === 'web-0')!.seen).toBe('10.244.0.1')

    const total = (xs: {n: number}[]) => xs.reduce((s, x) => s + x.n, 0)
    const vxlan = seen.outer.filter((o) => o.proto === 17 && o.dport === 8472)
    const nodeIps = new Set(nodes.map((n) => n.ip))
    console.log(
      `vxlan: fabric capture during probe (${report.passed} checks passed): ${total(seen.outer)} IPv4 frames, ${total(vxlan)} of them UDP 8472 between ${[...new Set(vxlan.map((o) => `${o.src}→${o.dst}`))].length} node pairs; ${total(seen.inner)} inner packets; outer frames with a pod address: ${total(seen.outer.filter((o) => inPods(o.src) || inPods(o.dst)))}; ARP about pod addresses: ${total(seen.arp.filter((a) => inPods(a.sender) || inPods(a.target)))}`,
    )
    expect(seen.outer.filter((o) => inPods(o.src) || inPods(o.dst))).toEqual([])
    expect(seen.arp.filter((a) => inPods(a.sender) || inPods(a.target))).toEqual([])
    expect(total(vxlan)).toBeGreaterThan(0)
    for (const o of vxlan) expect(nodeIps.has(o.src) && nodeIps.has(o.dst), `${o.src} → ${o.dst}`).toBe(true)
    // inside the UDP: pod to pod, and node (flannel.1 address) to pod, never an underlay address
    for (const i of seen.inner) expect(inPods(i.src) && inPods(i.dst), `${i.src} → ${i.dst}`).toBe(true)
    const pairs = new Set(seen.inner.map((i) => `${i.src} ${i.dst}`))
    expect(pairs).toContain('10.244.0.2 10.244.9.10') // web-0 → db
    expect(pairs).toContain('10.244.9.10 10.244.0.2') // and its reply
    expect(pairs).toContain('10.244.0.0 10.244.9.10') // node-0 (its flannel.1) → db
  })
})

describe.skipIf(!isRoot)('vxlan: the capture itself, on a host-gw lab (the control)', () => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab('vxlan-ctl'))

  it('sees pod addresses on the underlay when nothing wraps them, and no UDP 8472', async () => {
    const topo = parse(readFileSync(join(ROOT, 'topologies', 'three-node.yaml'), 'utf8'))
    topo.name = lab
    const up = netlab(['up', writeTopology(stateDir, topo), '-q'], env)
    expect(up.code, up.stderr).toBe(0)
    const cap = await capture(`netlab-${lab}.fabric`)
    const ping = inNs(`netlab-${lab}.web-0`, 'ping', ['-c3', '-i0.2', '-W2', '10.244.9.10'])
    const seen = await cap.stop()
    expect(ping.status).toBe(0)
    expect(seen.outer).toEqual(
      expect.arrayContaining([
        {src: '10.244.0.2', dst: '10.244.9.10', proto: 1, dport: 0, n: 3},
        {src: '10.244.9.10', dst: '10.244.0.2', proto: 1, dport: 0, n: 3},
      ]),
    )
    expect(seen.outer.filter((o) => o.dport === 8472)).toEqual([])
  })
})

describe.skipIf(!isRoot)('vxlan across two underlay segments (two-segment-vxlan.yaml)', () => {
  const {stateDir, env, track} = labSandbox()
  const lab = track(uniqueLab('vxlan-2seg'))
  const ns = (name: string) => `netlab-${lab}.${name}`

  it("the router between the segments forwards the overlay's UDP 8472 and never sees a pod address; it is no hop for the pods", () => {
    const topo = parse(readFileSync(join(ROOT, 'topologies', 'two-segment-vxlan.yaml'), 'utf8'))
    topo.name = lab
    const up = netlab(['up', writeTopology(stateDir, topo), '-q'], env)
    expect(up.code, up.stderr).toBe(0)
    expect(ipIn(ns('router'), ['route'])).not.toContain('10.244.')
    const count = (args: string[]) => execFileSync('ip', ['netns', 'exec', ns('router'), 'iptables', '-I', 'FORWARD', ...args])
    count(['-s', '10.244.0.0/16'])
    count(['-d', '10.244.0.0/16'])
    count(['-p', 'udp', '--dport', '8472'])
    const ping = inNs(ns('a-web'), 'ping', ['-c5', '-i0.2', '-W2', '10.244.1.2']) // a pod of node-b, on segment 1
    expect(ping.status, ping.stdout).toBe(0)
    const rules = execFileSync('ip', ['netns', 'exec', ns('router'), 'iptables', '-L', 'FORWARD', '-v', '-x', '-n'], {encoding: 'utf8'})
      .trim()
      .split('\n')
      .slice(2)
    const [udp, toPods, fromPods] = rules.map((l) => Number(l.trim().split(/\s+/)[0]))
    const ttls = [...new Set([...ping.stdout.matchAll(/ttl=(\d+)/g)].map((m) => m[1]))]
    console.log(
      `vxlan across segments: a-web → b-db: 5 pings, reply TTL ${ttls.join(',')}; the router forwarded ${udp} UDP 8472 packets, ${toPods} to and ${fromPods} from a pod address`,
    )
    expect(udp).toBeGreaterThanOrEqual(10) // 5 requests one way, 5 replies the other
    expect([toPods, fromPods]).toEqual([0, 0])
    expect(ttls).toEqual(['62'])
    const probe = netlab(['probe', lab], env)
    expect(probe.code, probe.stdout + probe.stderr).toBe(0)
  })
})
