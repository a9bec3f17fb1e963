// ip (iproute2). In the root namespace a batch is one `ip -batch -`. Inside a lab namespace the
// runner speaks rtnetlink itself for the few requests plans are made of (no ip process per
// namespace): each action is encoded here as an op record; a batch holding anything else goes
// to `ip -batch` instead, and is counted as a fallback.
import {failedAt, succeeded, unknown} from './outcome.js'
import type {Prepared, PrepareOptions, StepFailure, ToolDriver} from './types.js'

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/
const IFNAME = /^[A-Za-z0-9@._:-]{1,15}$/
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i

const isIPv4 = (s: string | undefined) => s !== undefined && IPV4.test(s) && s.split('.').every((b) => Number(b) <= 255)
const isPrefix = (s: string | undefined) => s !== undefined && /^\d{1,2}$/.test(s) && Number(s) <= 32

function record(op: string, fields: Record<string, string | undefined>): string {
  return [op, ...Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`)].join('\t')
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
      else if (k === 'master' && w[0] !== undefined && IFNAME.test(w[0])) f.master = w.shift()!
      else if (k === 'alias' && w[0] !== undefined && !/[\t\n]/.test(w[0])) f.alias = w.shift()!
      else return undefined
    }
    return record('link', f)
  }
  if (obj === 'addr' && verb === 'add' && w.length === 3 && w[1] === 'dev' && IFNAME.test(w[2])) {
    const [ip, len] = w[0].split('/')
    return isIPv4(ip) && isPrefix(len) ? record('addr', {ip, len, dev: w[2]}) : undefined
  }
  if (obj === 'route' && verb === 'add' && w.length > 0) {
    const target = w.shift()!
    const [dst, len] = target === 'default' ? ['0.0.0.0', '0'] : [target.split('/')[0], target.split('/')[1] ?? '32']
    if (!isIPv4(dst) || !isPrefix(len)) return undefined
    const f: Record<string, string> = {dst, len}
    while (w.length > 0) {
      const [k, v] = [w.shift()!, w.shift()]
      if (k === 'via' && isIPv4(v)) f.via = v!
      else if (k === 'dev' && v !== undefined && IFNAME.test(v)) f.dev = v
      else return undefined
    }
    return f.dev ? record('route', f) : undefined
  }
  if (obj === 'neigh' && verb === 'add' && w.length === 7 && isIPv4(w[0]) && w[1] === 'lladdr' && MAC.test(w[2]) && w[3] === 'dev' && IFNAME.test(w[4]) && w[5] === 'nud' && w[6] === 'permanent') {
    return record('neigh', {ip: w[0], mac: w[2], dev: w[4]})
  }
  return undefined
}

/** ip -batch splits lines on white space but honours quotes (no escapes inside them). */
export function ipWord(arg: string): string {
  if (/^[^\s"']+$/.test(arg)) return arg
  return arg.includes('"') ? `'${arg}'` : `"${arg}"`
}

/** A command that fails for real, for tests that inject a fault. */
const FAULT_LINE = ['link', 'set', 'dev', 'netlab-fault', 'up']

export const ip: ToolDriver = {
  name: 'ip',
  argv: (c) => (c.netns ? ['ip', '-n', c.netns, ...c.args] : ['ip', ...c.args]),
  badArg: (arg) =>
    arg === '' ? 'is empty' : /[\n\r]/.test(arg) ? 'holds a line break' : arg.includes('"') && arg.includes("'") ? 'holds both kinds of quote' : undefined,
  prepare(actions, netns, opts: PrepareOptions): Prepared {
    const args = actions.map((a, i) => (i === opts.fault ? FAULT_LINE : a.args))
    const ops = netns && opts.netlink ? args.map(encodeIp) : []
    const native = netns !== null && opts.netlink && ops.every((o) => o !== undefined)
    const step = native
      ? {kind: 'netlink' as const, ops: ops as string[]}
      : {kind: 'exec' as const, argv: ['ip', '-batch', '-'], stdin: args.map((a) => a.map(ipWord).join(' ')).join('\n') + '\n'}
    return {tool: 'ip', netns, actions, steps: [step], firstAction: [0], fault: opts.fault, fallback: netns !== null && !native}
  },
  interpret(p: Prepared, f: StepFailure) {
    // The runner names the failing op; ip stops at the first failing line and names it: "Command failed FILE:N".
    const m = /Command failed \S*:(\d+)/.exec(f.stderr)
    const message = f.stderr.split('\n').filter((l) => !l.startsWith('Command failed')).join('\n').trim()
    const line = f.at ?? (m ? Number(m[1]) : undefined)
    if (line !== undefined && line >= 1 && line <= p.actions.length) return failedAt(p, line - 1, message)
    if (f.exitCode === 0) return succeeded(p)
    return unknown(p, `ip -batch (${p.actions.length} commands in ${p.netns ?? 'the root namespace'})`, message)
  },
}
