// One CNI call, from its environment and stdin to what goes on stdout and the exit status: the
// same for a process of its own (main.ts) and for a call the resident worker serves (worker.ts).
import {LATEST, parseConfig, versionOk} from './config.js'
import {parseEnv} from './env.js'
import {errorResult} from './errors.js'
import {add, check, del, gc, status, versionResult} from './plugin.js'

/** The version an error result names: the config's when it has one we speak. */
export function versionOf(stdin: string): string {
  const m = /"cniVersion"\s*:\s*"([^"]*)"/.exec(stdin)
  return m && versionOk(m[1]) ? m[1] : LATEST
}

export function run(vars: Record<string, string | undefined>, stdin: string): {stdout: string; code: number} {
  const json = (doc: unknown) => JSON.stringify(doc, null, 4) + '\n'
  try {
    const env = parseEnv(vars)
    if (env.command === 'VERSION') return {stdout: json(versionResult(stdin)), code: 0}
    const conf = parseConfig(stdin)
    let out: unknown
    if (env.command === 'ADD') out = add(env, conf)
    else if (env.command === 'DEL') del(env, conf)
    else if (env.command === 'CHECK') check(env, conf)
    else if (env.command === 'STATUS') status(conf)
    else gc(conf)
    return {stdout: out === undefined ? '' : json(out), code: 0}
  } catch (e) {
    return {stdout: json(errorResult(e, versionOf(stdin))), code: 1}
  }
}
