// The cloud VPC modes carry traffic the way they claim, seen from the kernel rather than from
// netlab's state: a VM of the VPC and a pod exchange packets and each one's socket sees the
// other's own address, the nodes' connection tracking records no translation for them and
// their SNAT/MASQUERADE rules count none, while pod → internet is translated to the node's
// address (the receiver's socket, the conntrack entry and the rule's counter all say so). The
// VPC host reaches a pod by ARP on its own subnet, answered with the owning node's MAC.
import {execFileSync, spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {ipIn, isRoot, labNetns, labSandbox, netlab, ROOT, rootSnapshot, uniqueLab, writeTopology} from '../helpers/lab.js'

const inNs = (ns: string, cmd: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...cmd], {encoding: 'utf8'})
const json = (ns: string, args: string[]) => JSON.parse(ipIn(ns, ['-j', ...args]) || '[]')

// One UDP datagram each way. The server prints the address its socket saw the datagram come
// from, and answers with it; the client prints the address its own kernel sent from, and what
// the server answered. alarm: never outlive a stuck test.
const SERVER = String.raw`
use strict; use warnings; use IO::Socket::INET;
alarm 20; $| = 1;
my $s = IO::Socket::INET->new(LocalPort => $ARGV[0], Proto => 'udp') or die "bind: $!\n";
print "ready\n";
my $from = $s->recv(my $buf, 100) or die "recv: $!\n";
my ($port, $addr) = Socket::sockaddr_in($from);
my $seen = Socket::inet_ntoa($addr);
$s->send($seen, 0, $from);
print "$seen\n";
`
const CLIENT = String.raw`
use strict; use warnings; use IO::Socket::INET;
alarm 10;
my $s = IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => $ARGV[1], LocalPort => $ARGV[2], Proto => 'udp') or die "socket: $!\n";
$s->send('hello') or die "send: $!\n";
$s->recv(my $buf, 100) // die "recv: $!\n";
print $s->sockhost, " $buf\n";
`

/** A datagram from `client` to `server` (address `to`): the source the server's socket saw, and the one the client sent from. */
async function exchange(
  server: string,
  client: string,
  to: string,
  port: number,
): Promise<{seen: string; sentFrom: string; answered: string}> {
  const child = spawn('ip', ['netns', 'exec', server, 'perl', '-e', SERVER, String(port)], {stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  let err = ''
  child.stderr.on('data', (d) => (err += d))
  const closed = new Promise<void>((res) => child.on('close', () => res()))
  await new Promise<void>((res, rej) => {
    child.stdout.on('data', (d) => {
      out += d
      if (out.startsWith('ready\n')) res()
    })
    closed.then(() => rej(new Error(`server in ${server} ended: ${err}`)))
  })
  const [sentFrom, answered] = inNs(client, ['perl', '-e', CLIENT, to, String(port), String(port + 1)])
    .trim()
    .split(' ')
  await closed
  return {seen: out.split('\n')[1], sentFrom, answered}
}

/** Connection-tracking entries for UDP `port` in a namespace: [original tuple, reply tuple] as "src dst". */
function conntrack(ns: string, port: number): string[][] {
  return inNs(ns, ['cat', '/proc/net/nf_conntrack'])
    .split('\n')
    .filter((l) => l.includes(' udp ') && l.includes(`dport=${port} `))
    .map((l) => [...l.matchAll(/src=(\S+) dst=(\S+)/g)].map((m) => `${m[1]} ${m[2]}`))
}

const natRows = (ns: string) =>
  inNs(ns, ['iptables', '-t', 'nat', '-L', 'POSTROUTING', '-v', '-x', '-n'])
    .trim()
    .split('\n')
    .slice(2)
    .map((r) => r.trim().split(/\s+/))

/** Packet counter of the nat POSTROUTING rule whose target is `target` (the plan's own rules). */
function natCounter(ns: string, target: string): number {
  const row = natRows(ns).find((r) => r[2] === target)
  if (!row) throw new Error(`no ${target} rule in ${ns}`)
  return Number(row[0])
}

/**
 * A rule appended to nat POSTROUTING that only counts UDP to `port`: a connection's first packet
 * reaches it only if no rule before it (SNAT, MASQUERADE, RETURN: all final) took it. Other
 * traffic of the node (its bridge's IGMP reports, say) cannot move it.
 */
function pastNat(ns: string, port: number): () => number {
  inNs(ns, ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-p', 'udp', '--dport', String(port)])
  return () => Number(natRows(ns).find((r) => r.includes(`dpt:${port}`))![0])
}

for (const [file, mode, translate] of [
  ['aws-vpc.yaml', 'aws-vpc', 'SNAT'],
  ['gke-vpc-native.yaml', 'vpc-native', 'MASQUERADE'],
] as const) {
  describe.skipIf(!isRoot)(`${mode}: a VPC host and pods, seen from the kernel (${file})`, () => {
    const {stateDir, env, track} = labSandbox()
    const lab = track(uniqueLab(mode))
    const ns = (m: string) => `netlab-${lab}.${m}`
    let db: {ip: string; node: string}
    let node1: {ip: string; mac: string}
    let vm: string
    let before: string

    beforeAll(() => {
      before = rootSnapshot()
      const topo = parse(readFileSync(join(ROOT, 'topologies', file), 'utf8'))
      topo.name = lab
      const up = netlab(['up', writeTopology(stateDir, topo), '-q'], env)
      expect(up.code, up.stderr).toBe(0)
      const status = JSON.parse(netlab(['status', lab, '--json'], env).stdout)
      const n1 = status.nodes.find((n: {name: string}) => n.name === 'node-1')
      db = {ip: n1.pods[0].ip, node: 'node-1'}
      node1 = {ip: n1.ip, mac: json(ns('node-1'), ['link', 'show', 'eth0'])[0].address}
      vm = status.external.find((e: {vpc: boolean}) => e.vpc).ip
      expect(status.external.map((e: {name: string; vpc: boolean}) => `${e.name} ${e.vpc}`)).toEqual(['vpc-vm true', 'internet false'])
    })
    afterAll(() => {
      netlab(['down', lab], env)
      expect(labNetns(lab)).toEqual([])
      expect(rootSnapshot()).toBe(before)
    })

    it("VPC host → pod: the pod's socket sees the VM's own address, the node tracks no translation, no NAT rule took it; the VM found the pod by ARP, answered with the node's MAC", async () => {
      const past = pastNat(ns('node-1'), 40101)
      const r = await exchange(ns('db'), ns('vpc-vm'), db.ip, 40101)
      console.log(
        `${mode}: vpc-vm (${vm}) → db (${db.ip}): db's socket saw ${r.seen}; vpc-vm sent from ${r.sentFrom}; node-1 conntrack ${JSON.stringify(conntrack(ns('node-1'), 40101))}; past node-1's NAT rules untouched: ${past()}`,
      )
      expect(r).toEqual({seen: vm, sentFrom: vm, answered: vm})
      // original and reply tuples mirror each other: nothing rewritten on node-1
      expect(conntrack(ns('node-1'), 40101)).toEqual([[`${vm} ${db.ip}`, `${db.ip} ${vm}`]])
      expect(past()).toBe(1)
      // no route to pods on the VM beyond its subnet's: the kernel resolved db's address on eth0 to node-1's MAC
      expect(ipIn(ns('vpc-vm'), ['route', 'get', db.ip])).toMatch(
        new RegExp(`^${db.ip.replace(/\./g, '\\.')} dev eth0 src ${vm.replace(/\./g, '\\.')}`),
      )
      const neigh = json(ns('vpc-vm'), ['neigh', 'show', db.ip]) as {lladdr: string}[]
      expect(neigh.map((n) => n.lladdr)).toEqual([node1.mac])
      // one hop: node-1 forwarded it (TTL 64 − 1)
      expect(inNs(ns('vpc-vm'), ['ping', '-c1', '-W2', db.ip])).toMatch(/ttl=63/)
    })

    it("pod → VPC host: the VM's socket sees the pod's own address; no translation inside the VPC", async () => {
      const past = pastNat(ns('node-1'), 40201)
      // vpc-native keeps a pod's address for the VPC's primary range with a RETURN before the MASQUERADE: it must count this flow
      const returned = mode === 'vpc-native' ? natCounter(ns('node-1'), 'RETURN') : 0
      const r = await exchange(ns('vpc-vm'), ns('db'), vm, 40201)
      const kept = mode === 'vpc-native' ? natCounter(ns('node-1'), 'RETURN') - returned : past()
      console.log(
        `${mode}: db → vpc-vm: vpc-vm's socket saw ${r.seen}; node-1 conntrack ${JSON.stringify(conntrack(ns('node-1'), 40201))}; ${mode === 'vpc-native' ? 'RETURN (the VPC keeps pod addresses) counted' : 'past the SNAT rule untouched'}: ${kept}`,
      )
      expect(r).toEqual({seen: db.ip, sentFrom: db.ip, answered: db.ip})
      expect(conntrack(ns('node-1'), 40201)).toEqual([[`${db.ip} ${vm}`, `${vm} ${db.ip}`]])
      expect(kept).toBe(1)
    })

    it("pod → internet: the internet host's socket sees node-1's address; conntrack shows the translation and the rule counts it", async () => {
      const counted = natCounter(ns('node-1'), translate)
      const past = pastNat(ns('node-1'), 40301)
      const r = await exchange(ns('internet'), ns('db'), '203.0.113.10', 40301)
      const ct = conntrack(ns('node-1'), 40301)
      console.log(
        `${mode}: db → internet: internet's socket saw ${r.seen}, db sent from ${r.sentFrom}; node-1 conntrack ${JSON.stringify(ct)}; ${translate} counter +${natCounter(ns('node-1'), translate) - counted}, past it: ${past()}`,
      )
      expect(r).toEqual({seen: node1.ip, sentFrom: db.ip, answered: node1.ip})
      // the reply comes back to node-1's address: translated on the way out
      expect(ct).toEqual([[`${db.ip} 203.0.113.10`, `203.0.113.10 ${node1.ip}`]])
      // the plan's rule took it (other traffic of the node may add to its counter, never take away)
      expect(natCounter(ns('node-1'), translate)).toBeGreaterThanOrEqual(counted + 1)
      expect(past()).toBe(0)
    })

    it("no node has a route to another node's pods: node-0 reaches db on its own wire, by ARP", () => {
      const route = ipIn(ns('node-0'), ['route', 'get', db.ip])
      expect(route).toMatch(/dev eth0/)
      expect(route).not.toMatch(/ via /)
      expect(
        ipIn(ns('node-0'), ['route'])
          .split('\n')
          .filter((l) => / via /.test(l)),
      ).toEqual([])
    })

    it('netlab probe passes every check, the VPC ones included', () => {
      const probe = netlab(['probe', lab, '--json'], env)
      expect(probe.code, probe.stdout.slice(0, 3000) + probe.stderr).toBe(0)
      const report = JSON.parse(probe.stdout) as {checks: {id: string; passed: number; failed: number; notApplicable?: string}[]}
      const byId = Object.fromEntries(report.checks.map((c) => [c.id, c]))
      for (const id of ['vpc-pod-reach', 'vpc-pod-source', 'pod-vpc-reach', 'pod-vpc-source'])
        expect(byId[id]).toMatchObject({passed: 5, failed: 0})
      if (mode === 'aws-vpc') expect(byId['pod-in-vpc-subnet']).toMatchObject({passed: 5, failed: 0})
      else expect(byId['pod-in-vpc-subnet'].notApplicable).toMatch(/not of the VPC subnet/)
    })

    if (mode === 'aws-vpc') {
      it("inside a pod: a /32 of the VPC subnet, default via 169.254.1.1, and 169.254.1.1 at the MAC of its cable's node end; on the node, a /32 route and a proxy entry", () => {
        const [addr] = json(ns('db'), ['addr', 'show', 'dev', 'eth0'])
        expect(
          addr.addr_info
            .filter((a: {family: string}) => a.family === 'inet')
            .map((a: {local: string; prefixlen: number}) => `${a.local}/${a.prefixlen}`),
        ).toEqual([`${db.ip}/32`])
        expect(db.ip.startsWith('192.168.50.')).toBe(true)
        expect(
          ipIn(ns('db'), ['route'])
            .trim()
            .split('\n')
            .map((l) => l.trim()),
        ).toEqual(['default via 169.254.1.1 dev eth0', '169.254.1.1 dev eth0 scope link'])
        const [veth] = json(ns('node-1'), ['link', 'show', 'veth-db'])
        // (what it learned from the node's ARP requests for its address is not written: only the gateway is)
        const written = (json(ns('db'), ['neigh']) as {dst: string; lladdr: string; state: string[]}[]).filter((n) =>
          n.state.includes('PERMANENT'),
        )
        expect(written.map((n) => `${n.dst} ${n.lladdr}`)).toEqual([`169.254.1.1 ${veth.address}`])
        expect(ipIn(ns('node-1'), ['route', 'show', db.ip]).trim()).toBe(`${db.ip} dev veth-db scope link`)
        expect(ipIn(ns('node-1'), ['neigh', 'show', 'proxy']).trim()).toBe(`${db.ip} dev eth0 proxy`)
      })
    }
  })
}
