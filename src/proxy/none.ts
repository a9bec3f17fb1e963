// cluster.proxy: none — no kube-proxy: Services have their ClusterIPs and endpoints in the model
// (status shows them) but no node translates them, as in a cluster whose CNI plugin replaces
// kube-proxy, or before it has started. A ClusterIP then reaches nothing.
import type {ProxyModeModule} from '../model/types.js'

export const noProxy: ProxyModeModule = {
  id: 'none',
  summary: 'no kube-proxy: ClusterIPs are allocated but no node translates them',
  build: () => {},
}
