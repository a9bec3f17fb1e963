// preset netlab: netlab's own plugin (bin/netlab-cni) in the reference bridge's place, with the
// reference bridge's configuration.
import {bridgeConf, conflistTemplate} from './conflist.js'
import type {CniPreset} from './types.js'

export const netlab: CniPreset = {
  name: 'netlab',
  summary: "loopback + netlab-cni, netlab's own plugin, configured as the reference bridge",
  conflist: (mtu, hairpin) => conflistTemplate([{type: 'loopback'}, bridgeConf('netlab-cni', mtu, hairpin)]),
}
