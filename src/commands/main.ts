// The CLI as one module: bin/run.js imports this file, and oclif finds the commands in it
// (package.json's oclif.commands points here), so a bundle of it loads as one file.
import {execute} from '@oclif/core'

export {COMMANDS} from './index.js'
export {NOT_FOUND} from '../cli/not-found.js'

export async function main(entry: string): Promise<void> {
  await execute({dir: entry})
}
