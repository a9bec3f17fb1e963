// The tool registry: every tool a plan may use. A new tool is a driver file and a line here.
import {bird} from './bird.js'
import {bridge} from './bridge.js'
import {cni} from './cni.js'
import {file} from './file.js'
import {ip} from './ip.js'
import {iptables} from './iptables.js'
import {iptablesRestore} from './iptables-restore.js'
import {nft} from './nft.js'
import {sysctl} from './sysctl.js'
import type {ToolDriver} from './types.js'

const DRIVERS: Record<string, ToolDriver> = {ip, sysctl, iptables, bridge, 'iptables-restore': iptablesRestore, cni, file, nft, bird}

export function driver(tool: string): ToolDriver {
  const d = DRIVERS[tool]
  if (!d) throw new Error(`no driver for tool "${tool}" (known: ${Object.keys(DRIVERS).join(', ')})`)
  return d
}
