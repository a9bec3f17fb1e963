#!/usr/bin/env node
// netlab's entry point: oclif parses the command line; every command lives in dist/src/commands.
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
