// cluster.proxy: nftables — kube-proxy's nftables mode. (Being written: issue 23.)
import type {ProxyModeModule} from '../model/types.js'

export const nftablesProxy: ProxyModeModule = {
  id: 'nftables',
  summary: "kube-proxy's nftables mode: one table, Services found in a map, endpoints picked by numgen",
  build: () => {
    throw new Error('the nftables proxy mode is not written yet')
  },
}
