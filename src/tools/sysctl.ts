// sysctl: each setting is its own step (the runner writes it under /proc/sys), so a failure
// names its action exactly.
import {perActionSteps} from './outcome.js'
import type {Prepared, ToolDriver} from './types.js'

/** A setting that does not exist, for tests that inject a fault. */
const FAULT_SETTING = 'net.netlab.injected_fault=1'

/** The settings an undo may write: src/exercise/faults/forwarding.ts's, src/compile/policy-apply.ts's KERNEL_DEFAULTS. */
const UNDONE =
  /^net\.ipv4\.(ip_forward|icmp_ratemask|conf\.[A-Za-z0-9_-]{1,15}\.(send_redirects|proxy_arp_pvlan|proxy_arp)|neigh\.[A-Za-z0-9_-]{1,15}\.proxy_delay)=\d{1,10}$/

/**
 * What a fresh namespace has for each setting netlab's plans change (a namespace's net.* starts
 * from the kernel's defaults, not the host's): writing it back undoes the change.
 */
const KERNEL_DEFAULTS: [RegExp, string][] = [
  [/\.proxy_arp_pvlan$/, '0'],
  [/\.proxy_arp$/, '0'],
  [/\.proxy_delay$/, '80'],
  [/\.send_redirects$/, '1'],
  [/^net\.ipv4\.ip_forward$/, '0'],
  [/^net\.ipv4\.icmp_ratemask$/, '6168'],
]

export const sysctl: ToolDriver = {
  inverse: (c) => {
    const key = c.args[0].split('=')[0]
    const d = KERNEL_DEFAULTS.find(([re]) => re.test(key))
    return d ? [{tool: 'sysctl', netns: c.netns, args: [`${key}=${d[1]}`]}] : undefined
  },
  name: 'sysctl',
  argv: (c) => ['ip', 'netns', 'exec', c.netns!, 'sysctl', '-w', ...c.args],
  badArg: (arg) => (/^[a-z0-9_.\-/]+=[^\n\r]*$/i.test(arg) ? undefined : 'is not KEY=VALUE on one line'),
  // only the settings netlab's plans undo with (forwarding switched back on, a policy wiring's
  // kernel defaults), each a number: net.* is the namespace's own (/proc/sys/net follows the
  // writer's namespace), kernel.*, vm.* are the machine's
  confined: (c) =>
    c.args.length === 1 && UNDONE.test(c.args[0]) ? undefined : "is not one of the net.* settings netlab's plans undo with",
  prepare(actions, netns, opts): Prepared {
    const steps = actions.map((a, i) => {
      const [key, ...value] = (i === opts.fault ? FAULT_SETTING : a.args[0]).split('=')
      return {kind: 'sysctl' as const, key, value: value.join('=')}
    })
    return {tool: 'sysctl', netns, actions, steps, firstAction: actions.map((_, i) => i), fault: opts.fault, fallback: false}
  },
  interpret: (p, f) => perActionSteps(sysctl, p, f.step, f.stderr.trim()),
}
