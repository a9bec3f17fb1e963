// file: a file the lab's runtime keeps on the host's filesystem under the lab's state
// directory (a node's CNI conflist, its --cni-conf-dir). args: ['write', PATH] with the
// content on stdin, or ['remove', PATH]. Never a network change: it runs from the root
// namespace and touches only the path it names.
import {perActionSteps} from './outcome.js'
import type {Prepared, ToolDriver} from './types.js'

/**
 * What runs: the same as the shown command, but netlab's stdin is a socket, which install
 * cannot open as /dev/stdin; cat reads it.
 */
function run([op, path]: string[]): string[] {
  return op === 'write' ? ['sh', '-c', 'mkdir -p -- "${1%/*}" && cat > "$1"', 'sh', path] : ['rm', '-f', '--', path]
}

export const file: ToolDriver = {
  name: 'file',
  argv: (c) => (c.args[0] === 'write' ? ['install', '-D', '-m', '0644', '/dev/stdin', c.args[1]] : ['rm', '-f', c.args[1]]),
  badArg: (arg) => (/^(write|remove|\/[^\n\t]*)$/.test(arg) ? undefined : 'is not write, remove or an absolute path'),
  prepare(actions, netns, opts): Prepared {
    const steps = actions.map((a, i) => ({
      kind: 'exec' as const,
      // a test's fault: a path that cannot be created
      argv: run(i === opts.fault ? [a.args[0], '/proc/netlab-injected-fault/x'] : a.args),
      stdin: a.stdin,
    }))
    return {tool: 'file', netns, actions, steps, firstAction: actions.map((_, i) => i), fault: opts.fault, fallback: false}
  },
  interpret: (p, f) => perActionSteps(file, p, f.step, f.stderr.trim()),
}
