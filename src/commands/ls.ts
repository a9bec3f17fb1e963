import {NetlabCommand} from '../cli/base.js'
import {listLabLines, renderLabLines} from '../lab/list.js'

export default class Ls extends NetlabCommand {
  static override summary = 'List every lab, one line each.'
  static override description =
    'Its state, routing mode, and how many nodes and pods it has; the same as netlab status --all. A lab whose ' +
    'saved state is damaged is listed as "damaged: REASON", and namespaces that carry a lab\'s mark without any ' +
    'state as "orphaned", each with the netlab down that removes it. No root needed, but orphaned labs are found only as root (the marks are read from the kernel).'
  static override examples = ['<%= config.bin %> ls', '<%= config.bin %> ls --json']
  static override flags = {json: NetlabCommand.jsonFlag}

  async run(): Promise<void> {
    const {flags} = await this.parse(Ls)
    const lines = await listLabLines()
    if (flags.json) return this.printJson(lines)
    this.log(renderLabLines(lines))
  }
}
