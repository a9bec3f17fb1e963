// netlab's commands called in the test's own process instead of a fresh CLI (node and the bundle
// cost ~0.25 s a start): the same function the command calls, with the same environment variables
// (NETLAB_STATE_DIR, NETLAB_TEST_FAULT_AT, … are read when the command runs), and the exit code
// and error text the CLI would print, from the CLI's own describeError. Use it where a test starts
// the same command many times; keep a real CLI run beside it for the CLI path itself.
import {describeError} from '../../src/cli/base.js'
import {applyTopology} from '../../src/lab/apply.js'
import {up} from '../../src/lab/up.js'

export interface InProcessResult {
  code: number
  /** what the CLI would print on stderr for the error (empty when it succeeded) */
  stderr: string
}

/** Run `f` with `env` set in process.env, and process.env as it was afterwards. */
export async function withEnv<T>(env: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
  Object.assign(process.env, env)
  try {
    return await f()
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

/** `f` with `env` set: its exit code and what the CLI would print for its error. */
async function inProcess(env: Record<string, string>, f: () => Promise<unknown>): Promise<InProcessResult> {
  try {
    await withEnv(env, f)
    return {code: 0, stderr: ''}
  } catch (error) {
    const {json, text} = describeError(error as Error)
    return {code: json.error.exitCode, stderr: `${text}\n`}
  }
}

/** `netlab up FILE -q` with `env`, in this process. */
export const upInProcess = (file: string, env: Record<string, string>) => inProcess(env, () => up(file, {progress: 'silent'}))

/** `netlab apply FILE` with `env`, in this process. */
export const applyInProcess = (file: string, env: Record<string, string>) => inProcess(env, () => applyTopology({file}))
