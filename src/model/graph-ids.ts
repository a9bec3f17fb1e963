// The ids of a lab graph's boxes, shared by the graph builder and the routing modes that add
// edges to it (a mode names "node-1's eth0" without knowing how the picture is built).
export const graphIds = {
  /** an underlay segment (a bridge in the fabric namespace) */
  segment: (index: number) => `segment:${index}`,
  /** a namespace drawn as one box: a pod, an external host, a router, a member a mode adds */
  member: (name: string) => `member:${name}`,
  /** a device inside a node's namespace: eth0, cni0, an overlay device */
  device: (member: string, dev: string) => `device:${member}:${dev}`,
  /** the cluster drawn around a node's devices and pods */
  cluster: (member: string) => `cluster:${member}`,
  fabric: 'cluster:fabric',
  /** something that is no namespace of the lab: an overlay network a mode draws as one box */
  virtual: (name: string) => `virtual:${name}`,
  /** a Service: its ClusterIP, an address no namespace holds (kube-proxy's rules in every node) */
  service: (name: string) => `service:${name}`,
  /** a box standing for what a big lab's picture leaves out (its own prefix: no member can take the id) */
  more: (what: string) => `more:${what}`,
}

/** the device box of a node's pod cables when it has no bridge (RoutingModeModule.podGateway) */
export const POD_CABLES = 'pod-cables'
