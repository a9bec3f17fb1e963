// netlab-cni's entry: the environment and stdin in, one JSON document on stdout, exit 0 or 1.
// Bundled alone into dist/netlab-cni.mjs (npm run build): no oclif, nothing loaded that a call
// does not use. `--serve SOCKET` makes it the resident worker of one node namespace instead
// (worker.ts; bin/netlab-cni starts it and hands it the calls).
import {readFileSync, writeSync} from 'node:fs'
import {run} from './call.js'
import {serve} from './worker.js'

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8')
  } catch {
    return ''
  }
}

if (process.argv[2] === '--serve') serve(process.argv[3])
else {
  const r = run(process.env, readStdin())
  if (r.stdout) writeSync(1, r.stdout)
  process.exitCode = r.code
}
