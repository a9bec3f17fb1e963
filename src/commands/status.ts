import {Flags} from '@oclif/core'
import {NetlabCommand} from '../cli/base.js'
import {UsageError} from '../core/errors.js'
import {listLabLines, renderLabLines} from '../lab/list.js'
import {labStatus, renderStatus, resolveLab} from '../lab/status.js'

export default class Status extends NetlabCommand {
  static override summary = 'Show the nodes, pods and addresses of a lab that is up.'
  static override description =
    'Read from the state netlab saved at up, checked against the namespaces that exist (a lab ' +
    'missing one is "degraded"; one whose saved state is damaged says what is wrong, and that netlab down ' +
    'still removes it). --all lists every lab, as netlab ls.'
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status three-node --json', '<%= config.bin %> status --all']
  static override args = {lab: NetlabCommand.labArg}
  static override flags = {
    json: NetlabCommand.jsonFlag,
    all: Flags.boolean({description: 'every lab that is up, one line each (as netlab ls)', default: false}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Status)
    if (flags.all) {
      if (args.lab) throw new UsageError('netlab status --all lists every lab: name no LAB with it')
      const lines = await listLabLines()
      return flags.json ? this.printJson(lines) : this.log(renderLabLines(lines))
    }
    const status = await labStatus(resolveLab(args.lab, 'status'))
    if (flags.json) return this.printJson(status)
    this.log(renderStatus(status))
  }
}
