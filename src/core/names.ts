// How lab objects are named on the machine. One place, because cleanup relies on these names
// to recognise what belongs to a lab.
import {createHash} from 'node:crypto'

/** Linux interface names hold at most 15 characters (IFNAMSIZ - 1). */
export const IFNAME_MAX = 15

/** Every namespace a lab creates is called "netlab-<lab>.<member>"; lab names hold no dots. */
const NETNS_PREFIX = 'netlab-'
export const FABRIC = 'fabric'
/** The bridge a node's pods plug into, as the bridge CNI plugin names it by default. */
export const POD_BRIDGE = 'cni0'

/** The Kubernetes namespace a pod, Service or policy is in unless it says another. */
export const DEFAULT_NAMESPACE = 'default'

/**
 * A pod's name in the lab: NAME in the default namespace (so every lab without namespaces keeps
 * its names), NS/NAME in another; "x/a" and "y/a" are two pods.
 */
export function podName(namespace: string | undefined, name: string): string {
  return namespace === undefined || namespace === DEFAULT_NAMESPACE ? name : `${namespace}/${name}`
}

/**
 * "netlab-<lab>.<member>"; a pod of namespace NS is "netlab-<lab>.NS.NAME" (no name holds a ".",
 * so neither form can be read as the other).
 */
export function netnsName(lab: string, member: string): string {
  return `${NETNS_PREFIX}${lab}.${member.replace('/', '.')}`
}

/** The lab a namespace name belongs to, or undefined for anything netlab did not name. */
export function labOfNetns(netns: string): string | undefined {
  const m = /^netlab-([a-z][a-z0-9-]*)\.[a-z0-9-]+(\.[a-z0-9-]+)?$/.exec(netns)
  return m?.[1]
}

/** The kind, lab and owner a command-line argument names, if it is a marker processMarker makes. */
export function parseLabProcessMarker(arg: string): {kind: string; lab: string; owner: number} | undefined {
  const m = /^netlab-([a-z][a-z-]*):([a-z][a-z0-9-]*):([1-9]\d*)$/.exec(arg)
  return m ? {kind: m[1], lab: m[2], owner: Number(m[3])} : undefined
}

/** The state root netlab uses unless NETLAB_STATE_DIR says otherwise. */
export const DEFAULT_STATE_ROOT = '/run/netlab'

/**
 * The loopback alias written into each lab namespace: proof of ownership when the state is
 * lost. It names the lab and, when it is not the default, the state directory, so labs kept
 * in different state directories (a test suite's, say) never claim each other's namespaces.
 */
export function ownerMark(lab: string, stateRoot = DEFAULT_STATE_ROOT): string {
  return stateRoot === DEFAULT_STATE_ROOT ? `netlab:${lab}` : `netlab:${lab}@${stateRoot.replace(/\s/g, '_')}`
}

/**
 * The marker on the command line of a process a lab starts ("netlab-<kind>:<lab>:<owner pid>"):
 * how `down` recognises it, and why a process record that names another lab's (or any other
 * process) is never acted on.
 */
export function processMarker(kind: string, lab: string, owner: number): string {
  return `${NETNS_PREFIX}${kind}:${lab}:${owner}`
}

/** Is `marker` one that processMarker makes for `lab`? */
export function isProcessMarkerOf(marker: string, lab: string): boolean {
  return parseLabProcessMarker(marker)?.lab === lab
}

/** The node-side end of a pod's veth pair: readable when it fits, hashed like Calico's caliXXXX when not. */
export function hostVethName(pod: string): string {
  const readable = `veth-${pod}`
  // NS/NAME has a "/", which no interface name may hold: hashed too
  if (readable.length <= IFNAME_MAX && !pod.includes('/')) return readable
  return `veth${createHash('sha1').update(pod).digest('hex').slice(0, 11)}`
}

/**
 * The MAC of an interface that holds `ip`: 0a:58 followed by the address's four bytes, as
 * OVN-Kubernetes does. Locally administered, unique within a lab, and readable: the address
 * can be read back out of the MAC in `ip neigh`.
 */
export function macFor(ip: string): string {
  return ['0a', '58', ...ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':')
}
