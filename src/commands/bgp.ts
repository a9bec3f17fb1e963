import {Args} from '@oclif/core'
import {NetlabCommand} from '../cli/base.js'

export default class Bgp extends NetlabCommand {
  static override summary = "Show BIRD's sessions and routes in a routing bgp lab."
  static override description =
    "For each node of a lab with routing bgp (or the one named), BIRD's `show protocols` and `show route`, " +
    "asked through its control socket in the lab's state directory (birdc needs no namespace: the socket is a file)."
  static override examples = ['<%= config.bin %> bgp three-node-bgp', '<%= config.bin %> bgp three-node-bgp node-1']
  static override args = {
    lab: NetlabCommand.labArg,
    node: Args.string({description: 'a node (or the router of a multi-segment lab); default: every one', required: false}),
  }

  async run(): Promise<void> {
    const {args} = await this.parse(Bgp)
    const {birdView} = await import('../lab/bird-view.js')
    this.log(await birdView(args.lab, args.node))
  }
}
