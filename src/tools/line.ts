// How an action reads as a shell command, given its driver. Apart from the registry (./index.ts),
// so a driver can show its own actions in its errors without importing every other driver.
import type {Command} from '../core/actions.js'
import {shellQuote} from '../core/shell.js'
import type {ToolDriver} from './types.js'

/** The command line, with its environment in front and its standard input as a here-document. */
export function commandLineOf(d: Pick<ToolDriver, 'argv' | 'line'>, c: Command): string {
  const env = Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${shellQuote(v)} `)
  const line = env.join('') + d.argv(c).map(shellQuote).join(' ')
  if (d.line) return d.line(c, line)
  return c.stdin === undefined ? line : `${line} <<'NETLAB_EOF'\n${c.stdin.replace(/\n$/, '')}\nNETLAB_EOF`
}
