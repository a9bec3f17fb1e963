// How netlab was started, so the commands it suggests ("Try: netlab probe") can be pasted as
// they are: `netlab` once installed (npm install -g: argv[1] is the bin link), `node bin/run.js`
// from a checkout (or `npm run netlab --`, which runs that from the package root).
import {basename, isAbsolute, relative} from 'node:path'

/** Pure: the command a user types to run this netlab again, from its script path and the cwd. */
export function invocationOf(script: string | undefined, cwd: string): string {
  if (!script || basename(script) !== 'run.js') return 'netlab' // the installed bin link (or a test runner)
  const rel = relative(cwd, script)
  return `node ${rel.startsWith('..') || isAbsolute(rel) ? script : rel}`
}

let cached: string | undefined

/** The command that started this process: "netlab", or "node bin/run.js" from a checkout. */
export function netlabCmd(): string {
  return (cached ??= invocationOf(process.argv[1], process.cwd()))
}
