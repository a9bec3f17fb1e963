// The kinds of fault netlab break knows, in the order it lists them; each has its module here.
export const FAULT_KINDS = [
  'route',
  'forwarding',
  'masquerade',
  'drop',
  'mtu',
  'fdb',
  'kube-proxy',
  'stale-endpoint',
  'node-port',
  'hairpin',
  'bgp-down',
] as const
export type FaultKind = (typeof FAULT_KINDS)[number]
