import {Args} from '@oclif/core'
import {NetlabCommand} from '../cli/base.js'
import {splitCommand} from '../cli/argv.js'
import {UsageError} from '../core/errors.js'

export default class Exec extends NetlabCommand {
  static override summary = "Run a command in a lab member's network namespace."
  static override description =
    'Run a command in the network namespace of a lab member — a node, pod, router or external ' +
    "host — by its lab name. The command's exit code is netlab's; 127 when there is no such command."
  static override usage = 'exec [--lab LAB] NAME [--] COMMAND [ARG…]'
  static override examples = [
    '<%= config.bin %> exec web-0 -- ping -c 1 10.244.9.10',
    '<%= config.bin %> exec node-0 ip -br addr',
    '<%= config.bin %> exec --lab three-node vpc-router -- ip route get 10.244.0.2',
  ]
  static override args = {
    name: Args.string({description: 'the member: a node, pod, router or external host (netlab status lists them)', required: true}),
  }
  static override flags = {lab: NetlabCommand.labFlag}

  async run(): Promise<void> {
    // the command is split off first: its own flags are not netlab's
    const {own, command} = splitCommand(this.argv, ['--lab'])
    const {args, flags} = await this.parse(Exec, own)
    if (command.length === 0) throw new UsageError('no command given: netlab exec NAME -- COMMAND [ARG…]')
    const [{findMember}, {execIn}] = await Promise.all([import('../lab/member.js'), import('../lab/enter.js')])
    process.exitCode = await execIn(findMember(args.name, flags.lab, 'exec'), command)
  }
}
