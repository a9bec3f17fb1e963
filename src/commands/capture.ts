import {Args, Flags} from '@oclif/core'
import {NetlabCommand} from '../cli/base.js'

export default class Capture extends NetlabCommand {
  static override summary = 'Watch packets in a lab member with tcpdump.'
  static override description =
    'Watch packets inside a lab member: tcpdump on one of its interfaces (default eth0; the ' +
    "fabric's br0), without name lookups. Arguments after -- go to tcpdump (a filter such as " +
    'icmp, -v, -e). Ctrl-C stops it.'
  static override examples = [
    '<%= config.bin %> capture node-1',
    '<%= config.bin %> capture node-0 cni0 -- icmp',
    '<%= config.bin %> capture db -c 2 -- -e icmp',
    '<%= config.bin %> capture vpc-router -w router.pcap',
  ]
  static override usage = 'capture [--lab LAB] NAME [IFACE] [-c COUNT] [-w FILE] [-- TCPDUMP-ARG…]'
  static override args = {
    name: Args.string({description: 'the member: a node, pod, router or external host', required: true}),
    iface: Args.string({description: 'the interface (default: eth0)', required: false}),
  }
  static override flags = {
    lab: NetlabCommand.labFlag,
    count: Flags.integer({char: 'c', description: 'stop after this many packets', min: 1}),
    write: Flags.string({char: 'w', description: 'write the packets to this pcap file (for Wireshark) instead of printing them'}),
  }

  async run(): Promise<void> {
    // what follows -- is tcpdump's, never an IFACE or a flag of netlab's
    const dash = this.argv.indexOf('--')
    const [own, extra] = dash < 0 ? [this.argv, []] : [this.argv.slice(0, dash), this.argv.slice(dash + 1)]
    const {args, flags} = await this.parse(Capture, own)
    const [{findMember}, {captureIn}] = await Promise.all([import('../lab/member.js'), import('../lab/enter.js')])
    process.exitCode = await captureIn(findMember(args.name, flags.lab, 'capture'), {
      iface: args.iface,
      count: flags.count,
      write: flags.write,
      extra,
    })
  }
}
