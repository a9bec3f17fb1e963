import {Args, Flags} from '@oclif/core'
import {NetlabCommand} from '../cli/base.js'
import {UsageError} from '../core/errors.js'

export default class Trace extends NetlabCommand {
  static override summary = 'Follow a packet hop by hop to where it stops.'
  static override description =
    'The path a packet takes from one lab member to another, hop by hop, read from the real ' +
    'kernel state of each namespace on the way: the route the kernel picks (ip route get, with ' +
    'the interface it came in by), the device and neighbour it leaves by (on an overlay: the ' +
    'remote tunnel end from the fdb), the iptables rule that accepts, drops or masquerades it. ' +
    'A frame between two pods of one node crosses its bridge, and its iptables when br_netfilter hands it over ' +
    "(bridge-nf-call-iptables, read from the node). To a Service (its ClusterIP, its name, or a node port on a node's " +
    "address) it follows kube-proxy's DNAT (iptables: KUBE-SERVICES → KUBE-SVC-… → KUBE-SEP-…; nftables: table ip kube-proxy) to one endpoint (--endpoint picks " +
    'which), the masquerade kube-proxy marks, and the reply back to where conntrack undoes the translation. ' +
    'Names where it stops and why. With --confirm, counts that ' +
    'contradict the verdict change it. Exit 0: it arrives intact; 1: it stops or is spoiled (NAT, full-size packets ' +
    'lost to an MTU, either way) or --confirm saw it lost; 2: bad input.'
  static override usage = 'trace [--lab LAB] SRC DST [--proto tcp|udp|icmp] [--port N] [--endpoint IP[:PORT]] [--confirm]'
  static override examples = [
    '<%= config.bin %> trace web-0 db',
    '<%= config.bin %> trace web-0 db --proto tcp --port 5432',
    '<%= config.bin %> trace web-0 db --confirm',
    '<%= config.bin %> trace web-0 10.96.0.10 --proto tcp --port 80',
    '<%= config.bin %> trace outside node-1 --port 30080 --endpoint 10.244.1.2',
    '<%= config.bin %> trace --lab three-node node-2-p0 internet --json',
  ]
  static override args = {
    src: Args.string({description: 'the member the packet leaves from (a node, pod, router or external host)', required: true}),
    dst: Args.string({
      description: 'the member it is for (its primary address), a Service (its ClusterIP), or an IPv4 address',
      required: true,
    }),
  }
  static override flags = {
    json: NetlabCommand.jsonFlag,
    lab: NetlabCommand.labFlag,
    proto: Flags.string({
      description: "the protocol (default: icmp; tcp when --port is given; to a Service, its first port's)",
      options: ['icmp', 'tcp', 'udp'],
    }),
    port: Flags.integer({description: 'the destination port (tcp, udp)', min: 1, max: 65535}),
    endpoint: Flags.string({
      description: "to a Service: the endpoint (IP or IP:PORT) to follow where kube-proxy chooses at random (default: its chain's first)",
    }),
    confirm: Flags.boolean({
      description:
        "send one real ping along the path and show each hop's packet counters (a lab address only); counts that contradict the verdict change it",
      default: false,
    }),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Trace)
    if (flags.proto === 'icmp' && flags.port !== undefined) throw new UsageError('--port goes with --proto tcp or udp, not icmp')
    const [{resolveEnds, traceLab}, {renderTrace}, {requireRoot}] = await Promise.all([
      import('../trace/trace.js'),
      import('../trace/render.js'),
      import('../host/preflight.js'),
    ])
    const given = {lab: flags.lab, proto: flags.proto as 'icmp' | 'tcp' | 'udp' | undefined, port: flags.port, endpoint: flags.endpoint}
    const {lab, model, from, to, opts} = resolveEnds(args.src, args.dst, given)
    requireRoot('netlab trace')
    const result = await traceLab(lab, model, from, to, opts)
    if (flags.confirm && !(await (await import('../trace/confirm.js')).confirmTrace(model, result)))
      throw new UsageError(`--confirm sends a real packet, so only to an address of lab ${lab}; ${to} is none`)
    if (flags.json) this.printJson(result)
    else this.log(renderTrace(result))
    if (!result.delivered || result.problem) process.exitCode = 1
  }
}
