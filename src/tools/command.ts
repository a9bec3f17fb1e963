// An action as the command a person would type, for any tool (the registry finds its driver).
// Used by every renderer and by up's and policy apply's errors, so what the user reads is exactly
// what would run; a driver shows its own actions through ./line.ts.
import {driver} from './index.js'
import {commandLineOf} from './line.js'
import {netnsDel} from './ip.js'
import type {Command, Undo} from '../core/actions.js'

export function argv(c: Command): string[] {
  return driver(c.tool).argv(c)
}

/** The commands that undo an action, in order. Reads the one-command form of older plan.json files too. */
export function undoCommands(u: Undo | {kind: 'command'; tool: string; netns: null; args: string[]}): Command[] {
  if (u.kind === 'commands') return u.commands
  if (u.kind === 'command') return [{tool: u.tool, netns: u.netns, args: u.args}]
  return [netnsDel(u.netns)]
}

/** The command line, with its environment in front and its standard input as a here-document. */
export function commandLine(c: Command): string {
  return commandLineOf(driver(c.tool), c)
}
