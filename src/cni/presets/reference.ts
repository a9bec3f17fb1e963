// preset reference: the CNI project's own plugins, as a distribution packages them.
import {bridgeConf, conflistTemplate} from './conflist.js'
import type {CniPreset} from './types.js'

export const reference: CniPreset = {
  name: 'reference',
  summary: "loopback + bridge with host-local IPAM: the CNI project's reference plugins",
  conflist: (mtu, hairpin) => conflistTemplate([{type: 'loopback'}, bridgeConf('bridge', mtu, hairpin)]),
}
