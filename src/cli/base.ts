// What every command shares: one-line errors with stable exit codes (0 ok, 1 failure,
// 2 bad input or usage) and --json output.
import {Command, Flags} from '@oclif/core'
import {existsSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {packageRoot} from '../paths.js'
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

/** The topology to use: as given, or the bundled default when run from anywhere. */
export function topologyPath(given: string | undefined, fallback: string): string {
  const wanted = given ?? fallback
  if (given !== undefined || existsSync(wanted)) return resolve(wanted)
  const bundled = join(packageRoot(), fallback)
  return existsSync(bundled) ? bundled : resolve(wanted)
}
