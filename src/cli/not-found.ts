// "Did you mean": what @oclif/plugin-not-found does, without its interactive prompt (nothing
// may wait for a y/n in a script) and inside the one-file bundle, where a plugin loaded from
// node_modules at run time is not there (package.json's oclif.hooks points at NOT_FOUND).
import type {Hook} from '@oclif/core'
import {ErrorJson, wantsJson} from './base.js'
import {netlabCmd} from '../core/invocation.js'

/** The edit distance between two words (insert, delete, replace, swap of neighbours). Pure. */
export function distance(a: string, b: string): number {
  const d = Array.from({length: a.length + 1}, (_, i) => Array.from({length: b.length + 1}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  return d[a.length][b.length]
}

/** The command ids closest to what was typed, if one is close enough to be a typo. Pure. */
export function suggest(typed: string, ids: string[]): string[] {
  const limit = Math.max(1, Math.floor(typed.length / 3)) // "hlep" -> help, not "ls" -> up
  const scored = ids.map((id) => ({id, d: distance(typed, id)})).filter((s) => s.d <= limit)
  const best = Math.min(...scored.map((s) => s.d))
  // a start with at most one slip also counts: "val", "vald" -> validate
  const prefixed = ids.filter((id) => typed.length >= 3 && distance(typed, id.slice(0, typed.length)) <= 1)
  return [...new Set([...scored.filter((s) => s.d === best).map((s) => s.id), ...prefixed])].sort()
}

/**
 * The one line a mistyped command gets. Pure: ids as oclif keeps them (topic:command); `cmd` is
 * how netlab was started, so the suggestion can be pasted.
 */
export function notFoundMessage(cmd: string, id: string, ids: string[]): string {
  const show = (x: string) => x.replaceAll(':', ' ')
  const near = suggest(id, ids).map((x) => `"${cmd} ${show(x)}"`)
  const hint = near.length ? ` Did you mean ${near.join(' or ')}?` : ''
  return `"${show(id)}" is not a netlab command.${hint} See "${cmd} help" for the list.`
}

export const NOT_FOUND: Hook<'command_not_found'> = async function (opts) {
  const ids = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id)
  const message = notFoundMessage(netlabCmd(), opts.id, ids)
  if (wantsJson(opts.argv ?? [])) {
    const json: ErrorJson = {error: {message, exitCode: 2, kind: 'usage'}}
    process.stdout.write(JSON.stringify(json, null, 2) + '\n')
  } else process.stderr.write(`netlab: ${message}\n`)
  process.exitCode = 2
}
