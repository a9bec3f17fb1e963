import {Args} from '@oclif/core'
import {NetlabCommand} from '../cli/base.js'
import {renderStatus, resolveLab, statusOf} from '../lab/status.js'

export default class Status extends NetlabCommand {
  static override description = 'Show the nodes, pods and addresses of a lab that is up.'
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status three-node --json']
  static override args = {lab: Args.string({description: 'lab name (default: the only lab up)', required: false})}
  static override flags = {json: NetlabCommand.jsonFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Status)
    const status = statusOf(resolveLab(args.lab, 'status'))
    if (flags.json) return this.printJson(status)
    this.log(renderStatus(status))
  }
}
