import {Args, Command, loadHelpClass} from '@oclif/core'

// `netlab help [COMMAND]`: what @oclif/plugin-help adds, as a command of the bundle (a plugin
// loaded from node_modules at run time would not be found in an installed netlab)
export default class Help extends Command {
  static override summary = 'Show help for netlab, or for one command.'
  static override examples = ['<%= config.bin %> help', '<%= config.bin %> help up', '<%= config.bin %> help policy apply']
  static override args = {command: Args.string({description: 'the command (and subcommand) to explain', required: false})}
  static override strict = false

  async run(): Promise<void> {
    const {argv} = await this.parse(Help)
    const HelpClass = await loadHelpClass(this.config)
    await new HelpClass(this.config, this.config.pjson.oclif.helpOptions).showHelp(argv as string[]) // as -h does
  }
}
