// What every command shares: one-line errors with stable exit codes (0 ok, 1 failure,
// 2 bad input or usage, 128+N stopped by signal N) and --json output. With --json, errors are
// JSON on stdout too ({"error": {...}}), with the same exit code, so a script reads one stream.
import {netlabCmd} from '../core/invocation.js'
import {Args, Command, Flags} from '@oclif/core'
import {allErrors, TopologyError} from '../topology/errors.js'
import {NetlabError} from '../core/errors.js'
import {plural} from '../core/plural.js'

export interface ErrorJson {
  error: {
    message: string
    exitCode: number
    /** usage: bad input or usage (2); failure: the operation failed (1); signal: stopped by a signal */
    kind: 'usage' | 'failure' | 'signal'
    /** a topology file's problems, each with where it is */
    problems?: {file: string; line: number; column: number; message: string}[]
  }
}

/**
 * An error as the JSON a --json run prints, and the one line (or lines) a person reads. A file's
 * problems: the first, and how many more (validate --json lists them), or with `everyProblem`
 * one line each, for a file validate does not read (a policy file).
 */
export function describeError(
  error: Error & {oclif?: {exit?: number}},
  opts: {everyProblem?: boolean} = {},
): {json: ErrorJson; text: string} {
  if (error instanceof TopologyError) {
    const all = allErrors(error)
    const more =
      all.length > 1
        ? ` (and ${plural(all.length - 1, 'more problem', 'more problems')} in the file: ${netlabCmd()} validate --json lists every one)`
        : ''
    const problems = all.map((e) => ({file: e.pos.file, line: e.pos.line, column: e.pos.col, message: e.detail}))
    const text = opts.everyProblem ? all.map((e) => e.message).join('\n') : error.message + more
    return {json: {error: {message: error.message, exitCode: 2, kind: 'usage', problems}}, text}
  }
  if (error instanceof NetlabError) {
    const kind = error.exitCode === 2 ? 'usage' : error.exitCode > 128 ? 'signal' : 'failure'
    return {json: {error: {message: error.message, exitCode: error.exitCode, kind}}, text: `netlab: ${error.message}`}
  }
  // oclif's own errors (unknown flag, missing argument: exit 2) keep their exit code
  const exitCode = error.oclif?.exit ?? 1
  const message = error.message.split('\n')[0]
  return {json: {error: {message, exitCode, kind: exitCode === 2 ? 'usage' : 'failure'}}, text: message}
}

/** --json among netlab's own arguments (not after a `--`, where a member's command begins). */
export function wantsJson(argv: string[]): boolean {
  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv
  return own.includes('--json')
}

export abstract class NetlabCommand extends Command {
  static jsonFlag = Flags.boolean({description: 'print machine-readable JSON (errors too)', default: false})
  /** the lab a command works on, as its argument or as --lab (resolveLab picks the only lab up) */
  static labArg = Args.string({description: 'the lab (default: the only lab up)', required: false})
  static labFlag = Flags.string({description: 'the lab (default: the only lab up)'})

  /** its errors list every problem of a file, one line each (see describeError) */
  static everyProblem = false

  protected printJson(data: unknown): void {
    process.stdout.write(JSON.stringify(data, null, 2) + '\n')
  }

  override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<void> {
    const known = error instanceof TopologyError || error instanceof NetlabError
    if (wantsJson(this.argv)) {
      const {json} = describeError(error)
      this.printJson(json)
      process.exitCode = json.error.exitCode
      return
    }
    if (known) {
      const {json, text} = describeError(error, {everyProblem: (this.constructor as typeof NetlabCommand).everyProblem})
      process.stderr.write(`${text}\n`)
      process.exitCode = json.error.exitCode
      return
    }
    // oclif's own parse errors (unknown flag, missing argument) are usage errors: exit 2
    return super.catch(error)
  }
}

// where commands look for a topology: a file, else a bundled topology by name
export {topologyPath} from '../lab/load.js'
