// How netlab was started, so the commands it suggests ("Try: netlab probe") can be pasted as
// they are: `netlab` once installed (npm install -g: argv[1] is the bin link), `node bin/run.js`
// from a checkout (or `npm run netlab --`, which runs that from the package root).
import {basename, isAbsolute, relative} from 'node:path'
import {shellQuote} from './shell.js'

/** Pure: the command a user types to run this netlab again, from its script path and the cwd. */
export function invocationOf(script: string | undefined, cwd: string, opts: {absolute?: boolean} = {}): string {
  if (!script || basename(script) !== 'run.js') return 'netlab' // the installed bin link (or a test runner)
  const rel = relative(cwd, script)
  return `node ${shellQuote(opts.absolute || rel.startsWith('..') || isAbsolute(rel) ? script : rel)}`
}

/**
 * The command that started this process: "netlab", or "node bin/run.js" from a checkout
 * (`absolute`: its full path, for a completion script that runs from any directory).
 */
export function netlabCmd(opts: {absolute?: boolean} = {}): string {
  return invocationOf(process.argv[1], process.cwd(), opts)
}
