// bird: a routing bgp daemon stopped or started (netlab break's bgp-down and its fix). args:
// ['kill', SPEAKER] or ['start', SPEAKER]. The executor never runs these: BIRD is a process the
// lab records (src/lab/bird.ts stops it by its record's PID and starts it with its record), so
// break and fix call that directly; the driver only says how the action reads. Paths are the
// lab's state directory's bird/.
import type {ToolDriver} from './types.js'

export const bird: ToolDriver = {
  name: 'bird',
  argv: (c) =>
    c.args[0] === 'kill'
      ? ['pkill', '-KILL', '-F', `bird/${c.args[1]}.pid`]
      : ['ip', 'netns', 'exec', c.netns!, 'bird', '-c', `bird/${c.args[1]}.conf`, '-s', `bird/${c.args[1]}.ctl`, '-P', `bird/${c.args[1]}.pid`],
  badArg: (arg) => (/^(kill|start|[a-z0-9][a-z0-9.-]{0,62})$/.test(arg) ? undefined : 'is not kill, start or a node name'),
  // never an undo read from disk: fix restarts BIRD itself
  confined: () => 'is a daemon netlab starts itself, never a command it runs from a record',
  prepare() {
    throw new Error('bird actions are run by src/lab/bird.ts, not by the executor')
  },
  interpret() {
    throw new Error('bird actions are run by src/lab/bird.ts, not by the executor')
  },
}
