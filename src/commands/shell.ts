import {Args} from '@oclif/core'
import {NetlabCommand} from '../cli/base.js'

export default class Shell extends NetlabCommand {
  static override summary = "Open a shell in a lab member's network namespace."
  static override description =
    'Open an interactive shell (bash) in the network namespace of a lab member, with a prompt ' +
    'that names it: [three-node/node-0] #. Exit the shell to come back. Without a terminal ' +
    '(commands piped in), bash reads them as a script.'
  static override examples = ['<%= config.bin %> shell node-0', '<%= config.bin %> shell web-0 --lab three-node']
  static override args = {
    name: Args.string({description: 'the member: a node, pod, router or external host (netlab status lists them)', required: true}),
  }
  static override flags = {lab: NetlabCommand.labFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Shell)
    const [{findMember}, {shellIn}] = await Promise.all([import('../lab/member.js'), import('../lab/enter.js')])
    process.exitCode = await shellIn(findMember(args.name, flags.lab, 'shell'))
  }
}
