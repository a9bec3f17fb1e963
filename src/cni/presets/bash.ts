// preset bash: the small bash plugin of examples/bash-cni/, which reads the reference shape —
// bridge, and an ipam block with subnet, gateway and dataDir — but not host-local's ranges.
import {conflistTemplate} from './conflist.js'
import type {CniPreset} from './types.js'

export const bash: CniPreset = {
  name: 'bash',
  summary: 'loopback + bash-cni, the bash plugin of examples/bash-cni/ (first-free IPAM of its own)',
  conflist: (mtu) =>
    conflistTemplate([
      {type: 'loopback'},
      {
        type: 'bash-cni',
        bridge: 'cni0',
        ...(mtu ? {mtu} : {}),
        // it sets runtimeConfig.mac on the pod's eth0 (no ips: its IPAM is first-free)
        capabilities: {mac: true},
        ipam: {subnet: '{{.PodCIDR}}', gateway: '{{.Gateway}}', dataDir: '{{.DataDir}}'},
      },
    ]),
}
