// netlab-cni's entry: the environment and stdin in, one JSON document on stdout, exit 0 or 1.
// Bundled alone into dist/netlab-cni.mjs (npm run build): no oclif, nothing loaded that a call
// does not use, because the runtime starts one process per pod and per command.
import {readFileSync, writeSync} from 'node:fs'
import {LATEST, parseConfig, versionOk} from './config.js'
import {parseEnv} from './env.js'
import {errorResult} from './errors.js'
import {add, check, del, gc, status, versionResult} from './plugin.js'

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8')
  } catch {
    return ''
  }
}

/** The version an error result names: the config's when it has one we speak. */
function versionOf(stdin: string): string {
  const m = /"cniVersion"\s*:\s*"([^"]*)"/.exec(stdin)
  return m && versionOk(m[1]) ? m[1] : LATEST
}

export function main(): number {
  const stdin = readStdin()
  const print = (doc: unknown) => writeSync(1, JSON.stringify(doc, null, 4) + '\n')
  try {
    const env = parseEnv(process.env)
    if (env.command === 'VERSION') {
      print(versionResult(stdin))
      return 0
    }
    const conf = parseConfig(stdin)
    if (env.command === 'ADD') print(add(env, conf))
    else if (env.command === 'DEL') del(env, conf)
    else if (env.command === 'CHECK') check(env, conf)
    else if (env.command === 'STATUS') status(conf)
    else gc(conf)
    return 0
  } catch (e) {
    print(errorResult(e, versionOf(stdin)))
    return 1
  }
}

process.exitCode = main()
