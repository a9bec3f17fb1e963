// "Did you mean": what @oclif/plugin-not-found does, without its interactive prompt (nothing
// may wait for a y/n in a script) and inside the one-file bundle, where a plugin loaded from
// node_modules at run time is not there (package.json's oclif.hooks points at NOT_FOUND).
import type {Hook} from '@oclif/core'
import {ErrorJson, wantsJson} from './base.js'
import {netlabCmd} from '../core/invocation.js'
import {shellQuote} from '../core/shell.js'

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

/** A command a mistyped line may mean: its words, and the typed words that are its arguments. */
interface Guess {
  command: string[]
  args: string[]
}

/**
 * Walk the typed words through the command tree (topic, then command): the first word that is no
 * command or topic there gets the nearest ones at that level, so "stauts uc3" finds status and
 * keeps uc3 as its argument, and "polcy aply LAB" finds policy, then apply. Pure: `ids` as oclif
 * keeps them, split into words; `at` the words resolved so far.
 */
function guesses(words: string[], ids: string[][], at: string[] = []): {typed: string[]; guesses: Guess[]} {
  const [word, ...rest] = words
  const under = ids.filter((id) => id.length > at.length && at.every((w, i) => id[i] === w))
  const isCommand = (w: string) => under.some((id) => id.length === at.length + 1 && id[at.length] === w)
  if (word === undefined) return {typed: at, guesses: []}
  if (!isCommand(word) && under.some((id) => id[at.length] === word)) return guesses(rest, ids, [...at, word]) // a topic
  const near = suggest(word, [...new Set(under.map((id) => id[at.length]))]).flatMap((w): Guess[] => {
    if (isCommand(w)) return [{command: [...at, w], args: rest}]
    // a mistyped topic: go on with the next word under the topic it meant, else offer its commands
    if (rest.length) return guesses(rest, ids, [...at, w]).guesses
    return under.filter((id) => id[at.length] === w).map((command) => ({command, args: []}))
  })
  // a known topic and a word near none of its commands: the word is an argument of one of them
  const inTopic = at.length && !near.length ? under.filter((id) => id.length === at.length + 1) : []
  return {typed: [...at, word], guesses: [...near, ...inTopic.map((command) => ({command, args: words}))]}
}

/**
 * The one line a mistyped command gets. Pure: ids as oclif keeps them (topic:command), `id` the
 * words oclif read before the first flag (joined by ":"), `argv` the rest; `cmd` is how netlab
 * was started, so a suggestion, with the arguments that were typed, can be pasted.
 */
export function notFoundMessage(cmd: string, id: string, ids: string[], argv: string[] = []): string {
  const typo = guesses(
    id.split(':'),
    ids.map((x) => x.split(':')),
  )
  const near = typo.guesses.map((g) => `"${[cmd, ...g.command, ...[...g.args, ...argv].map(shellQuote)].join(' ')}"`)
  const hint = near.length ? ` Did you mean ${near.join(' or ')}?` : ''
  return `"${typo.typed.join(' ')}" is not a netlab command.${hint} See "${cmd} help" for the list.`
}

export const NOT_FOUND: Hook<'command_not_found'> = async function (opts) {
  const ids = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id)
  const message = notFoundMessage(netlabCmd(), opts.id, ids, opts.argv ?? [])
  if (wantsJson(opts.argv ?? [])) {
    const json: ErrorJson = {error: {message, exitCode: 2, kind: 'usage'}}
    process.stdout.write(JSON.stringify(json, null, 2) + '\n')
  } else process.stderr.write(`netlab: ${message}\n`)
  process.exitCode = 2
}
