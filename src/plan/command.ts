// An action as the command a person would type. Used by every renderer and by error messages,
// so what the user reads is exactly what would run.
import type {Action, Undo} from './types.js'

export function argv(a: Pick<Action, 'tool' | 'netns' | 'args'>): string[] {
  switch (a.tool) {
    case 'ip':
      return a.netns ? ['ip', '-n', a.netns, ...a.args] : ['ip', ...a.args]
    case 'sysctl':
      return ['ip', 'netns', 'exec', a.netns!, 'sysctl', '-w', ...a.args]
    case 'iptables':
      return ['ip', 'netns', 'exec', a.netns!, 'iptables', ...a.args]
  }
}

export function undoArgv(u: Undo): string[] {
  return u.kind === 'command' ? ['ip', ...u.args] : ['ip', 'netns', 'del', u.netns]
}

/** Quote for POSIX sh only where needed, so scripts stay readable. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

export function commandLine(a: Pick<Action, 'tool' | 'netns' | 'args'>): string {
  return argv(a).map(shellQuote).join(' ')
}
