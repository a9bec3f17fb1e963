// What the presets' conflist templates are made of: host-local IPAM, the reference bridge's
// configuration, and the template's text. Each is what an administrator would put in
// /etc/cni/net.d as containerd's conf_template: {{.PodCIDR}}, {{.Gateway}} and {{.DataDir}} are
// filled in per node (renderConflist, src/compile/cni-model.ts).

/** host-local IPAM: the node's pod subnet, cni0 as gateway, a default route, a store per node. */
const HOST_LOCAL_IPAM = {
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
export function bridgeConf(type: string, mtu?: number, hairpin?: boolean): Record<string, unknown> {
  return {
    type,
    bridge: 'cni0',
    isGateway: true,
    ipMasq: false,
    ...(mtu ? {mtu} : {}),
    // a lab with Services: a pod reaching itself through one (the kubelet's hairpin-veth, which kubenet set the same way)
    ...(hairpin ? {hairpinMode: true} : {}),
    // a runtime passes runtimeConfig for exactly the capabilities a plugin declares; the
    // reference bridge (with host-local) and netlab-cni implement both
    capabilities: {mac: true, ips: true},
    ipam: HOST_LOCAL_IPAM,
  }
}

/** A conflist template of netlab's network with these plugins, in chain order. */
export function conflistTemplate(plugins: unknown[]): string {
  // one plugin a line: short enough to read in the plan
  const one = (p: unknown) => JSON.stringify(p).replace(/,"/g, ', "').replace(/":/g, '": ')
  return `{\n  "cniVersion": "1.0.0",\n  "name": "netlab",\n  "plugins": [\n${plugins.map((p) => `    ${one(p)}`).join(',\n')}\n  ]\n}\n`
}
