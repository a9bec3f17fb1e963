// The registry of kube-proxy's modes. A new mode is a module in this folder, a line here and its
// id in PROXY_MODES (src/topology/types.ts, the values cluster.proxy takes). The services phase
// (src/compile/services-phase.ts) asks the lab's mode for each node's rules.
import {PROXY_MODES, type ProxyMode} from '../topology/types.js'
import type {ProxyModeModule} from '../model/types.js'
import {iptablesProxy} from './iptables.js'
import {nftablesProxy} from './nftables.js'
import {noProxy} from './none.js'

const MODULES: Record<ProxyMode, ProxyModeModule> = {
  iptables: iptablesProxy,
  nftables: nftablesProxy,
  none: noProxy,
}

export function proxyMode(id: string): ProxyModeModule {
  if (!Object.hasOwn(MODULES, id)) throw new Error(`unknown proxy mode "${id}" (known: ${PROXY_MODES.join(', ')})`)
  return MODULES[id as ProxyMode]
}
