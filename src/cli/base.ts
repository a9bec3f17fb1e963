// What every command shares: one-line errors with stable exit codes (0 ok, 1 failure,
// 2 bad input or usage) and --json output.
import {Command, Flags} from '@oclif/core'
import {TopologyError} from '../topology/errors.js'
import {NetlabError} from './errors.js'

export abstract class NetlabCommand extends Command {
  static jsonFlag = Flags.boolean({description: 'print machine-readable JSON', default: false})

  protected printJson(data: unknown): void {
    process.stdout.write(JSON.stringify(data, null, 2) + '\n')
  }

  override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<void> {
    if (error instanceof TopologyError) {
      process.stderr.write(`${error.message}\n`)
      process.exitCode = 2
      return
    }
    if (error instanceof NetlabError) {
      process.stderr.write(`netlab: ${error.message}\n`)
      process.exitCode = error.exitCode
      return
    }
    // oclif's own parse errors (unknown flag, missing argument) are usage errors: exit 2
    return super.catch(error)
  }
}

// where commands look for a topology: a file, else a bundled topology by name
export {topologyPath} from '../lab/load.js'
