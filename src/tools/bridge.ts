// bridge (iproute2): forwarding-database entries, e.g. which underlay address a VXLAN device
// sends a given MAC to. Inside a lab namespace the runner sends `fdb append` itself over
// rtnetlink, as it does ip's requests (vxlan: 2,450 entries at 50 x 10, which were a `bridge`
// process per node); anything else goes in as one `bridge -batch -`, run inside the namespace,
// which like ip stops at the first failing line and names it ("Command failed -:N").
import {batchOutcome, IFNAME, ip, iprouteBatch, isIPv4, MAC, record} from './ip.js'
import type {ToolDriver} from './types.js'

/** A command that fails for real (no such device), for tests that inject a fault. */
const FAULT_LINE = ['fdb', 'append', '02:00:00:00:00:00', 'dev', 'netlab-fault', 'dst', '192.0.2.1']

export const bridge: ToolDriver = {
  name: 'bridge',
  argv: (c) => (c.netns ? ['bridge', '-n', c.netns, ...c.args] : ['bridge', ...c.args]),
  // the same batch syntax as ip's: one command a line, words split on white space, quotes honoured
  badArg: (arg) => ip.badArg(arg),
  // only what netlab's plans undo with (a fault's restored fdb entry, a port's isolation or hairpin mode switched back), word for word
  confined: (c) => {
    const [obj, verb, devWord, dev, flag, value, ...rest] = c.args
    const isolation =
      obj === 'link' && verb === 'set' && devWord === 'dev' && IFNAME.test(dev ?? '') && (flag === 'isolated' || flag === 'hairpin')
    return encodeFdb(c.args) !== undefined || (isolation && (value === 'on' || value === 'off') && rest.length === 0)
      ? undefined
      : "is not one of the changes netlab's plans undo with (fdb append, link set dev … isolated|hairpin)"
  },
  // fdb append → fdb del (the entry is its MAC, device and destination); a port's flag on → off
  inverse: (c) => {
    const [obj, verb, mac, ...rest] = c.args
    // a new command (not the action spread: its id and phase would come along)
    const undo = (args: string[]) => [{tool: c.tool, netns: c.netns, args}]
    if (obj === 'fdb' && (verb === 'append' || verb === 'add')) return undo(['fdb', 'del', mac, ...rest])
    if (obj === 'link' && verb === 'set' && c.args.at(-1) === 'on') return undo([...c.args.slice(0, -1), 'off'])
    return undefined
  },
  prepare: (actions, netns, opts) => iprouteBatch('bridge', encodeFdb, FAULT_LINE, actions, netns, opts),
  interpret: (p, f) => batchOutcome(bridge, p, f),
}

/** `fdb append MAC dev DEV dst IP` as an op record for the runner, or undefined if it does not speak it. */
export function encodeFdb(args: string[]): string | undefined {
  const [obj, verb, mac, devWord, dev, dstWord, dst, ...rest] = args
  const ok = obj === 'fdb' && verb === 'append' && MAC.test(mac ?? '') && devWord === 'dev' && IFNAME.test(dev ?? '')
  return ok && dstWord === 'dst' && isIPv4(dst) && rest.length === 0 ? record('fdb', {mac, dev, dst}) : undefined
}
