// Checks that turn a cryptic failure halfway through into a clear sentence before anything runs.
import {accessSync, constants} from 'node:fs'
import {delimiter, join} from 'node:path'
import {NetlabError} from '../cli/errors.js'

export function requireRoot(what: string): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new NetlabError(`${what} needs root (it creates and deletes network namespaces): run it with sudo, e.g. sudo netlab ${what.replace(/^netlab /, '')}`)
  }
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

export function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin']
  for (const dir of dirs) {
    if (!dir) continue
    try {
      accessSync(join(dir, name), constants.X_OK)
      return join(dir, name)
    } catch {
      // not here
    }
  }
  return undefined
}

/** tool name -> the Debian package that provides it */
export function requireTools(tools: Record<string, string>): void {
  const missing = Object.entries(tools).filter(([tool]) => !findTool(tool))
  if (missing.length === 0) return
  const pkgs = [...new Set(missing.map(([, pkg]) => pkg))].join(' ')
  throw new NetlabError(`missing ${missing.map(([t]) => t).join(', ')}: install with: sudo apt-get install -y ${pkgs}`)
}

export const BUILD_TOOLS = {ip: 'iproute2', 'iptables-restore': 'iptables', perl: 'perl'}
/** exec and shell enter a namespace with ip netns exec; the shell is bash */
export const ENTER_TOOLS = {ip: 'iproute2'}
export const SHELL_TOOLS = {...ENTER_TOOLS, bash: 'bash'}
export const CAPTURE_TOOLS = {...ENTER_TOOLS, tcpdump: 'tcpdump'}
