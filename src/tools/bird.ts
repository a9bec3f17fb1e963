// bird: a routing bgp daemon frozen or started (netlab break's bgp-down and its fix). args:
// ['stop', SPEAKER] (SIGSTOP) or ['start', SPEAKER]. The executor never runs these: BIRD is a process the
// lab records (src/lab/bird.ts stops it by its record's PID and starts it with its record), so
// break and fix call that directly; the driver only says how the action reads. Paths are the
// lab's state directory's bird/.
import type {ToolDriver} from './types.js'

export const bird: ToolDriver = {
  name: 'bird',
  argv: (c) =>
    c.args[0] === 'stop'
      ? ['pkill', '-STOP', '-F', `bird/${c.args[1]}.pid`]
      : [
          'ip',
          'netns',
          'exec',
          c.netns!,
          'bird',
          '-c',
          `bird/${c.args[1]}.conf`,
          '-s',
          `bird/${c.args[1]}.ctl`,
          '-P',
          `bird/${c.args[1]}.pid`,
        ],
  badArg: (arg) => (/^(stop|start|[a-z0-9][a-z0-9.-]{0,62})$/.test(arg) ? undefined : 'is not stop, start or a node name'),
  // bgp-down's undo: start the lab's own BIRD of that node again (fix does it through src/lab/bird.ts, from the lab's own config)
  confined: (c) =>
    c.args.length === 2 && c.args[0] === 'start' ? undefined : "is not the start of a node's BIRD, the only bird step netlab undoes with",
  prepare() {
    throw new Error('bird actions are run by src/lab/bird.ts, not by the executor')
  },
  interpret() {
    throw new Error('bird actions are run by src/lab/bird.ts, not by the executor')
  },
}
