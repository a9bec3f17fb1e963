// The built-in conflist templates (cluster.cni.preset). Each is what an administrator would put
// in /etc/cni/net.d as containerd's conf_template: {{.PodCIDR}}, {{.Gateway}} and {{.DataDir}}
// are filled in per node (src/cni/model.ts).

/** host-local IPAM: the node's pod subnet, cni0 as gateway, a default route, a store per node. */
const IPAM = {
  type: 'host-local',
  ranges: [[{subnet: '{{.PodCIDR}}', gateway: '{{.Gateway}}'}]],
  routes: [{dst: '0.0.0.0/0'}],
  dataDir: '{{.DataDir}}',
}

/**
 * The reference bridge plugin's configuration. ipMasq stays false: with true, the plugin
 * masquerades every packet from the pod subnet to anything outside the node's own subnet —
 * pods of other nodes included — so a pod on another node sees the node's address, not the
 * pod's (the no-NAT probe fails). The routing mode's firewall masquerades only what leaves the
 * cluster instead. The mac and ips capabilities (the reference bridge's and host-local's,
 * and netlab-cni's; bash-cni has mac) let the runtime give each pod the MAC and the address
 * netlab's model has for it.
 */
function bridgeConf(type: string, mtu?: number): Record<string, unknown> {
  return {
    type,
    bridge: 'cni0',
    isGateway: true,
    ipMasq: false,
    ...(mtu ? {mtu} : {}),
    // a runtime passes runtimeConfig for exactly the capabilities a plugin declares; the
    // reference bridge (with host-local) and netlab-cni implement both
    capabilities: {mac: true, ips: true},
    ipam: IPAM,
  }
}

/** The conflist template of a preset; `mtu` when the routing mode needs a smaller one (vxlan). */
export function presetConflist(preset: string, mtu?: number): string {
  const plugins =
    preset === 'reference'
      ? [{type: 'loopback'}, bridgeConf('bridge', mtu)]
      : preset === 'netlab'
        ? [{type: 'loopback'}, bridgeConf('netlab-cni', mtu)]
        : // the bash plugin reads the reference shape: bridge, and an ipam block with subnet, gateway and dataDir
          [
            {type: 'loopback'},
            {
              type: 'bash-cni',
              bridge: 'cni0',
              ...(mtu ? {mtu} : {}),
              // it sets runtimeConfig.mac on the pod's eth0 (no ips: its IPAM is first-free)
              capabilities: {mac: true},
              ipam: {subnet: '{{.PodCIDR}}', gateway: '{{.Gateway}}', dataDir: '{{.DataDir}}'},
            },
          ]
  // one plugin a line: short enough to read in the plan
  const one = (p: unknown) => JSON.stringify(p).replace(/,"/g, ', "').replace(/":/g, '": ')
  return `{\n  "cniVersion": "1.0.0",\n  "name": "netlab",\n  "plugins": [\n${plugins.map((p) => `    ${one(p)}`).join(',\n')}\n  ]\n}\n`
}
