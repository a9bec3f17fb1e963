#!/usr/bin/env node
// netlab's entry point. dist/netlab.mjs loads the whole CLI, bundled into one file (npm run build):
// one file loads several times faster than the hundreds of modules it is made of.
import {main} from '../dist/netlab.mjs'

await main(import.meta.url)
