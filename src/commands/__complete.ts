import {Command} from '@oclif/core'
import {complete, type CommandInfo} from '../cli/complete.js'

// `netlab __complete WORD…`: what the completion scripts ask, one candidate a line. Hidden;
// quiet on any error (a TAB must never print a stack trace into the command line).
export default class Complete extends Command {
  static override hidden = true
  static override summary = 'Completion candidates for the words after netlab (used by the scripts of netlab autocomplete).'
  static override strict = false

  async run(): Promise<void> {
    try {
      const [{listLabs, readState}, {bundledTopologies}] = await Promise.all([import('../state/store.js'), import('../core/paths.js')])
      const commands: CommandInfo[] = this.config.commands
        .filter((c) => !c.hidden)
        .map((c) => ({
          id: c.id,
          flags: Object.values(c.flags).map((f) => ({
            name: f.name,
            char: f.char,
            value: f.type === 'option',
            options: f.type === 'option' ? f.options : undefined,
          })),
        }))
      const members = (lab: string | undefined) => {
        const labs = listLabs()
        const which = lab ?? (labs.length === 1 ? labs[0] : undefined)
        return which ? (readState(which)?.model.members.map((m) => m.name) ?? []) : []
      }
      const out = complete(this.argv, {commands, labs: listLabs, members, topologies: bundledTopologies})
      if (out.length) process.stdout.write(out.join('\n') + '\n')
    } catch {
      // nothing to offer
    }
  }
}
