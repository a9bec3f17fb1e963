// Name rules. Names end up in namespace names, interface names and file paths, so they are
// restricted to what is safe in all three: lower-case letters, digits and inner dashes.
// A name can never start with '-' (no option injection) or contain '/', '.', or spaces.
import {IFNAME_MAX} from '../core/names.js'

export const NAME_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/
const LAB_NAME_RE = /^[a-z]([a-z0-9-]*[a-z0-9])?$/

export const LIMITS = {
  labName: 24,
  nodeName: IFNAME_MAX, // a node's name is also its port name on the fabric bridge
  externalName: IFNAME_MAX,
  podName: 40,
  // one fabric bridge holds every node of a segment, and the kernel gives a bridge at most 1024 ports
  // (BR_MAX_PORTS), the external hosts' and routers' included
  nodes: 1000,
  // a ceiling on what is compiled at all; whether a lab fits this machine is the capacity preflight's
  // call (src/host/capacity.ts), made with the machine's own numbers before anything is created
  pods: 20000,
  segments: 8,
} as const

/** Names that would collide with the lab's own namespaces (the fabric, the routers a lab may get). */
const RESERVED_NAMES = new Set(['fabric', 'router', 'vpc-router'])
/**
 * A node's or external host's name is its port name in the fabric namespace, which also holds
 * a bridge per underlay segment (br0, br1, …) and the ports of a router (router0, vpc-router1, …).
 */
const FABRIC_IFNAMES = new Set([
  'lo',
  ...Array.from({length: 8}, (_, k) => `br${k}`),
  ...Array.from({length: 8}, (_, k) => [`router${k}`, `vpc-router${k}`]).flat(),
])

export function nameProblem(kind: 'lab' | 'node' | 'pod' | 'external host', name: string, max: number): string | undefined {
  const re = kind === 'lab' ? LAB_NAME_RE : NAME_RE
  if (name.length === 0) return `${kind} name is empty`
  if (name.length > max) return `${kind} name "${name}" is too long (${name.length} characters; at most ${max})`
  if (!re.test(name)) {
    const rule =
      kind === 'lab'
        ? 'lower-case letters, digits and dashes, starting with a letter'
        : 'lower-case letters, digits and dashes, starting and ending with a letter or digit'
    return `${kind} name ${JSON.stringify(name)} is not allowed: use ${rule}`
  }
  if (kind !== 'lab' && RESERVED_NAMES.has(name)) return `${kind} name "${name}" is reserved by netlab`
  if ((kind === 'node' || kind === 'external host') && FABRIC_IFNAMES.has(name))
    return `${kind} name "${name}" is reserved: it would clash with interface ${name} on the fabric`
  return undefined
}

/** IANA_SVC_NAME: what Kubernetes takes as a port's name (at most 15, a letter in it, no "--") */
const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/

/** Why a pod port's name (or a Service's, a policy's named port) is not one Kubernetes takes. */
export function portNameProblem(name: string): string | undefined {
  if (name.length <= 15 && PORT_NAME.test(name) && /[a-z]/.test(name) && !name.includes('--')) return undefined
  return (
    `port name ${JSON.stringify(name)} is not allowed: at most 15 lower-case letters, digits and ` +
    `dashes, with a letter, starting and ending with a letter or digit, no "--" (an IANA service name)`
  )
}
