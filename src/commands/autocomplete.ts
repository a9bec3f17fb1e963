import {Args} from '@oclif/core'
import {NetlabCommand} from '../cli/base.js'
import {completionScript} from '../cli/complete.js'
import {netlabCmd} from '../core/invocation.js'

export default class Autocomplete extends NetlabCommand {
  static override summary = 'Print a bash or zsh completion script for netlab.'
  static override description =
    'Completes commands, flags, bundled topologies, and the names of the labs that are up and ' +
    'of their members (netlab exec <TAB>), asked of netlab itself each time. Load it in your ' +
    'shell with source <(netlab autocomplete bash), or add that line to ~/.bashrc (~/.zshrc).'
  static override examples = [
    'source <(<%= config.bin %> autocomplete bash)',
    'source <(<%= config.bin %> autocomplete zsh)',
    '<%= config.bin %> autocomplete bash > /etc/bash_completion.d/netlab',
  ]
  static override args = {
    'shell-name': Args.string({description: 'default: from $SHELL, else bash', options: ['bash', 'zsh'], required: false}),
  }

  async run(): Promise<void> {
    const {args} = await this.parse(Autocomplete)
    const kind = (args['shell-name'] ?? (process.env.SHELL?.endsWith('zsh') ? 'zsh' : 'bash')) as 'bash' | 'zsh'
    process.stdout.write(completionScript(kind, netlabCmd({absolute: true})))
  }
}
