// ip (iproute2). In the root namespace a batch is one `ip -batch -`. Inside a lab namespace the
// runner speaks rtnetlink itself for the few requests plans are made of (no ip process per
// namespace): each action is encoded here as an op record; a batch holding anything else goes
// to `ip -batch` instead, and is counted as a fallback.
import {notOneLine} from './args.js'
import {failedAt, succeeded, unknown} from './outcome.js'
import type {Action, Command} from '../core/actions.js'
import type {BatchOutcome, DriverOptions, Prepared, StepFailure, ToolDriver} from './types.js'
import {plural} from '../core/plural.js'

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/
export const IFNAME = /^[A-Za-z0-9@._:-]{1,15}$/
export const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i

export const isIPv4 = (s: string | undefined) => s !== undefined && IPV4.test(s) && s.split('.').every((b) => Number(b) <= 255)
const isPrefix = (s: string | undefined) => s !== undefined && /^\d{1,2}$/.test(s) && Number(s) <= 32
const isMtu = (s: string | undefined) => s !== undefined && /^\d{2,5}$/.test(s) && Number(s) >= 68 && Number(s) <= 65535
const isUint = (s: string | undefined, max: number) => s !== undefined && /^\d{1,10}$/.test(s) && Number(s) <= max

/** An op record for the runner: the op, then key=value fields, tab-separated. */
export function record(op: string, fields: Record<string, string | undefined>): string {
  return [
    op,
    ...Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`),
  ].join('\t')
}

/** An action's ip arguments as an rtnetlink op record for the runner, or undefined if it does not speak them. */
export function encodeIp(args: string[]): string | undefined {
  const [obj, verb, ...w] = args
  if (obj === 'link' && verb === 'set') {
    if (w[0] === 'dev') w.shift()
    const dev = w.shift()
    if (!dev || !IFNAME.test(dev)) return undefined
    const f: Record<string, string> = {dev}
    while (w.length > 0) {
      const k = w.shift()!
      if (k === 'up') f.up = '1'
      else if (k === 'mtu' && isMtu(w[0])) f.mtu = w.shift()!
      else if (k === 'master' && w[0] !== undefined && IFNAME.test(w[0])) f.master = w.shift()!
      else if (k === 'alias' && w[0] !== undefined && !/[\t\n]/.test(w[0])) f.alias = w.shift()!
      else return undefined
    }
    return record('link', f)
  }
  if (obj === 'addr' && verb === 'add' && w[1] === 'dev' && IFNAME.test(w[2] ?? '')) {
    const [ip, len] = w[0].split('/')
    // noprefixroute: the address without its subnet's connected route (a routed pod's)
    const flags = w.length === 4 && w[3] === 'noprefixroute' ? {noprefixroute: '1'} : w.length === 3 ? {} : undefined
    return flags && isIPv4(ip) && isPrefix(len) ? record('addr', {ip, len, dev: w[2], ...flags}) : undefined
  }
  if (obj === 'route' && verb === 'add' && w.length > 0) {
    const target = w.shift()!
    const [dst, len] = target === 'default' ? ['0.0.0.0', '0'] : [target.split('/')[0], target.split('/')[1] ?? '32']
    if (!isIPv4(dst) || !isPrefix(len)) return undefined
    const f: Record<string, string> = {dst, len}
    while (w.length > 0) {
      const k = w.shift()!
      if (k === 'onlink')
        f.onlink = '1' // the gateway is on this link, whatever its addresses say
      else if (k === 'scope' && (w[0] === 'link' || w[0] === 'global')) f.scope = w.shift()!
      else if (k === 'via' && isIPv4(w[0])) f.via = w.shift()!
      else if (k === 'dev' && w[0] !== undefined && IFNAME.test(w[0])) f.dev = w.shift()!
      else return undefined
    }
    return f.dev ? record('route', f) : undefined
  }
  if (obj === 'link' && verb === 'add') return encodeVxlan(w)
  if (
    obj === 'neigh' &&
    verb === 'add' &&
    w.length === 7 &&
    isIPv4(w[0]) &&
    w[1] === 'lladdr' &&
    MAC.test(w[2]) &&
    w[3] === 'dev' &&
    IFNAME.test(w[4]) &&
    w[5] === 'nud' &&
    w[6] === 'permanent'
  ) {
    return record('neigh', {ip: w[0], mac: w[2], dev: w[4]})
  }
  // a proxy entry: answer ARP on DEV for IP (with DEV's own MAC)
  if (obj === 'neigh' && verb === 'add' && w.length === 4 && w[0] === 'proxy' && isIPv4(w[1]) && w[2] === 'dev' && IFNAME.test(w[3])) {
    return record('pneigh', {ip: w[1], dev: w[3]})
  }
  return undefined
}

/**
 * `link add [name] NAME [address MAC] [mtu N] type vxlan id VNI local IP dev DEV dstport PORT [nolearning]`
 * inside a namespace (the VXLAN device an overlay needs on each node), or undefined for any other link.
 */
function encodeVxlan(w: string[]): string | undefined {
  if (w[0] === 'name') w.shift()
  const name = w.shift()
  if (!name || !IFNAME.test(name)) return undefined
  const f: Record<string, string> = {name}
  while (w.length > 0 && w[0] !== 'type') {
    const [k, v] = [w.shift()!, w.shift()]
    if (k === 'address' && v !== undefined && MAC.test(v)) f.mac = v
    else if (k === 'mtu' && isMtu(v)) f.mtu = v!
    else return undefined
  }
  if (w.shift() !== 'type' || w.shift() !== 'vxlan') return undefined
  f.learning = '1'
  while (w.length > 0) {
    const k = w.shift()!
    if (k === 'nolearning') f.learning = '0'
    else if (k === 'id' && isUint(w[0], 0xffffff)) f.id = w.shift()!
    else if (k === 'local' && isIPv4(w[0])) f.local = w.shift()!
    else if (k === 'dev' && w[0] !== undefined && IFNAME.test(w[0])) f.dev = w.shift()!
    else if (k === 'dstport' && isUint(w[0], 65535)) f.port = w.shift()!
    else return undefined
  }
  // the runner looks up `dev` (the underlay device) before it sends anything
  return f.id && f.local && f.dev && f.port ? record('vxlan', f) : undefined
}

/** ip -batch splits lines on white space but honours quotes (no escapes inside them). */
export function ipWord(arg: string): string {
  if (/^[^\s"']+$/.test(arg)) return arg
  return arg.includes('"') ? `'${arg}'` : `"${arg}"`
}

/** A command that fails for real, for tests that inject a fault. */
const FAULT_LINE = ['link', 'set', 'dev', 'netlab-fault', 'up']

/**
 * Loopback up, with the lab's mark as its alias: the step that makes a namespace the lab's (read
 * back by `down` and rollback, and recognised by the undo check's markSteps).
 */
export function markLoopback(mark: string): string[] {
  return ['link', 'set', 'lo', 'up', 'alias', mark]
}

/** How a lab namespace is deleted: the undo of its creation (rollback and `down`). */
export function netnsDel(netns: string): Command {
  return {tool: 'ip', netns: null, args: ['netns', 'del', netns]}
}

/**
 * Why an ip command inside a namespace could act beyond it, or undefined. Only the changes
 * netlab's plans undo with (a fault's restored route, a policy change's neighbour, a link's MTU),
 * in the exact words the runner speaks (encodeIp): iproute2 takes any prefix of a keyword
 * (`link-net` for link-netns), so a list of words that cross namespaces could never be complete,
 * while here every keyword is whole and every value sits where ip reads it as a value.
 */
function ipConfined(args: string[]): string | undefined {
  const [obj, verb, dev] = args
  const shape =
    (obj === 'link' && verb === 'set' && dev === 'dev') ||
    ((obj === 'addr' || obj === 'route' || obj === 'neigh') && verb === 'add') ||
    (obj === 'neigh' && verb === 'replace')
  const asAdd = verb === 'replace' ? [obj, 'add', ...args.slice(2)] : args
  return shape && encodeIp(asAdd) !== undefined
    ? undefined
    : "is not one of the changes netlab's plans undo with (link set dev, addr add, route add, neigh add or replace)"
}

/**
 * ip's inverse of what netlab's plans write inside a namespace: add → del, with the words del
 * needs (a neighbour is named by its address and device, an address by itself and its device).
 */
function ipInverse(c: Command): Command[] | undefined {
  const [obj, verb, ...rest] = c.args
  const undo = (args: string[]) => [{tool: 'ip', netns: c.netns, args}]
  // a device made from the root namespace straight into another (a bridge): deleted there
  const into = rest.indexOf('netns')
  if (c.netns === null && obj === 'link' && verb === 'add' && into > 0 && !rest.includes('peer'))
    return [{tool: 'ip', netns: rest[into + 1], args: ['link', 'del', rest[0] === 'name' ? rest[1] : rest[0]]}]
  if (c.netns === null) return undefined
  if ((obj === 'route' || obj === 'addr') && verb === 'add') return undo([obj, 'del', ...rest])
  if (obj === 'neigh' && (verb === 'add' || verb === 'replace')) {
    const proxy = rest[0] === 'proxy' ? ['proxy'] : []
    const addr = rest[proxy.length]
    const dev = rest[rest.indexOf('dev') + 1]
    return rest.includes('dev') ? undo(['neigh', 'del', ...proxy, addr, 'dev', dev]) : undefined
  }
  if (obj === 'link' && verb === 'add') return undo(['link', 'del', rest[0] === 'name' ? rest[1] : rest[0]])
  return undefined
}

export const ip: ToolDriver = {
  name: 'ip',
  inverse: ipInverse,
  argv: (c) => (c.netns ? ['ip', '-n', c.netns, ...c.args] : ['ip', ...c.args]),
  badArg: (arg) => notOneLine(arg) ?? (arg.includes('"') && arg.includes("'") ? 'holds both kinds of quote' : undefined),
  confined: (c) => ipConfined(c.args),
  addsLinks: (c) => c.args[0] === 'link' && c.args[1] === 'add',
  prepare: (actions, netns, opts) => iprouteBatch('ip', encodeIp, FAULT_LINE, actions, netns, opts),
  interpret: (p, f) => batchOutcome(ip, p, f),
}

/**
 * A batch of an iproute2 program (ip, bridge) for the runner: inside a lab namespace, the op
 * records it sends over rtnetlink itself when it speaks every line; otherwise `PROGRAM -batch -`,
 * which inside a namespace counts as a fallback.
 */
export function iprouteBatch(
  program: 'ip' | 'bridge',
  encode: (args: string[]) => string | undefined,
  faultLine: string[],
  actions: Action[],
  netns: string | null,
  opts: DriverOptions,
): Prepared {
  const args = actions.map((a, i) => (i === opts.fault ? faultLine : a.args))
  const ops = netns && opts.netlink ? args.map(encode) : []
  const native = netns !== null && opts.netlink && ops.every((o) => o !== undefined)
  const step = native
    ? {kind: 'netlink' as const, ops: ops as string[]}
    : {kind: 'exec' as const, argv: [program, '-batch', '-'], stdin: args.map((a) => a.map(ipWord).join(' ')).join('\n') + '\n'}
  return {tool: program, netns, actions, steps: [step], firstAction: [0], fault: opts.fault, fallback: netns !== null && !native}
}

/**
 * How an iproute2 batch went (ip, bridge): the runner names the failing netlink op; the program
 * stops at the first failing line and names it, "Command failed FILE:N".
 */
export function batchOutcome(d: ToolDriver, p: Prepared, f: StepFailure): BatchOutcome {
  const program = d.name
  const m = /Command failed \S*:(\d+)/.exec(f.stderr)
  const message = f.stderr
    .split('\n')
    .filter((l) => !l.startsWith('Command failed'))
    .join('\n')
    .trim()
  const line = f.at ?? (m ? Number(m[1]) : undefined)
  if (line !== undefined && line >= 1 && line <= p.actions.length)
    return failedAt(
      d,
      p,
      line - 1,
      message,
      (f.also ?? []).map((n) => n - 1),
    )
  if (f.exitCode === 0) return succeeded(p)
  return unknown(p, `${program} -batch (${plural(p.actions.length, 'command')} in ${p.netns ?? 'the root namespace'})`, message)
}
