// cluster.proxy: iptables — kube-proxy's iptables mode. (Being written: issue 23.)
import type {ProxyModeModule} from '../model/types.js'

export const iptablesProxy: ProxyModeModule = {
  id: 'iptables',
  summary: "kube-proxy's iptables mode: a chain per Service and per endpoint, picked at random by probability",
  build: () => {
    throw new Error('the iptables proxy mode is not written yet')
  },
}
