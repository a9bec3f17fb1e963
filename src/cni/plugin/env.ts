// The runtime's half of a call: the CNI_* environment, checked as strictly as the spec allows
// (a plugin that guesses creates interfaces in the wrong place).
import {CODE, CniError} from './errors.js'

const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const
type Command = (typeof COMMANDS)[number]

export interface CallEnv {
  command: Command
  containerId: string
  netns: string
  ifname: string
  args: Record<string, string>
  path: string[]
}

/** Which variables each command needs (the spec's table; DEL may come without a namespace). */
const REQUIRED: Record<Command, string[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  VERSION: [],
  STATUS: ['CNI_PATH'],
  GC: ['CNI_PATH'],
}

const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

/** An interface name the kernel accepts: 1-15 bytes, not . or .., no '/', ':' or whitespace. */
export function ifnameProblem(name: string): string | undefined {
  if (name === '') return 'interface name is empty'
  if (Buffer.byteLength(name) > 15) return `interface name "${name}" is longer than 15 bytes`
  if (name === '.' || name === '..') return `interface name "${name}" is not allowed`
  if (/[/:\s]/.test(name)) return `interface name "${name}" contains / or : or whitespace`
  return undefined
}

export function parseEnv(env: Record<string, string | undefined>): CallEnv {
  const command = env.CNI_COMMAND
  if (!command) throw new CniError(CODE.invalidEnv, 'required env variables [CNI_COMMAND] missing')
  if (!(COMMANDS as readonly string[]).includes(command)) throw new CniError(CODE.invalidEnv, `unknown CNI_COMMAND: ${command}`)
  const cmd = command as Command
  const missing = REQUIRED[cmd].filter((k) => !env[k])
  if (missing.length > 0) throw new CniError(CODE.invalidEnv, `required env variables [${missing.join(' ')}] missing`)
  const containerId = env.CNI_CONTAINERID ?? ''
  if (containerId && !CONTAINER_ID.test(containerId)) {
    throw new CniError(CODE.invalidEnv, 'invalid characters in containerID', containerId)
  }
  const ifname = env.CNI_IFNAME ?? ''
  const bad = REQUIRED[cmd].includes('CNI_IFNAME') ? ifnameProblem(ifname) : undefined
  if (bad) throw new CniError(CODE.invalidEnv, bad)
  const netns = env.CNI_NETNS ?? ''
  if (netns && !netns.startsWith('/')) throw new CniError(CODE.invalidEnv, `CNI_NETNS must be an absolute path, not "${netns}"`)
  const path = (env.CNI_PATH ?? '').split(':').filter((p) => p !== '')
  const relative = path.find((p) => !p.startsWith('/'))
  if (relative !== undefined) throw new CniError(CODE.invalidEnv, `CNI_PATH entries must be absolute paths, not "${relative}"`)
  return {command: cmd, containerId, netns, ifname, args: parseArgs(env.CNI_ARGS ?? ''), path}
}

/** CNI_ARGS: "K=V;K=V" (the Kubernetes runtime passes K8S_POD_NAME and friends this way). */
function parseArgs(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const pair of text.split(';')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new CniError(CODE.invalidEnv, `CNI_ARGS: "${pair}" is not KEY=VALUE`)
    out[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return out
}
