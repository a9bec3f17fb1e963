import {Args, Flags} from '@oclif/core'
import {NetlabCommand} from '../cli/base.js'

export default class Graph extends NetlabCommand {
  static override summary = 'Draw a lab (svg, dot, mermaid) from a running lab or a topology.'
  static override description =
    'Draw a lab: underlay segments and routers, nodes with their pod subnets and bridges, pods ' +
    "with their addresses, external hosts, and the routing mode's routes as labelled arrows. " +
    'From a running lab or a topology file (nothing needs to be up; no root needed).'
  static override examples = [
    '<%= config.bin %> graph -o three-node.svg',
    '<%= config.bin %> graph topologies/three-node-routes.yaml --format mermaid',
    '<%= config.bin %> graph three-node --format dot | dot -Tpng > lab.png',
  ]
  static override args = {
    lab: Args.string({
      description:
        "a lab that is up, a topology file, or a bundled topology's name (default: the only lab " + 'up, else topologies/three-node.yaml)',
      required: false,
    }),
  }
  static override flags = {
    format: Flags.string({
      char: 'f',
      description:
        'svg (drawn in-process), dot (Graphviz), mermaid, or json (the graph as data); default: ' + 'from the -o extension, else svg',
      options: ['svg', 'dot', 'mermaid', 'json'],
    }),
    output: Flags.string({char: 'o', description: 'write to this file instead of stdout'}),
    full: Flags.boolean({description: 'draw every node, pod and route, also in big labs', default: false}),
    json: Flags.boolean({description: 'same as --format json', default: false}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Graph)
    const {drawGraph} = await import('../lab/graph.js')
    await drawGraph(args.lab, {format: flags.json ? 'json' : flags.format, output: flags.output, full: flags.full})
  }
}
