// Shell completion, our own rather than @oclif/plugin-autocomplete: that plugin completes
// commands and flags from a cache written at install time and cannot ask a running netlab for
// lab or member names (and, loaded from node_modules, it is not in the one-file bundle). The
// scripts `netlab autocomplete bash|zsh` print call the hidden `netlab __complete WORD…`,
// which answers from the commands' own definitions and the labs that are up. Pure but for the
// lookups passed in.

interface FlagInfo {
  name: string
  char?: string
  /** takes a value (else a switch) */
  value: boolean
  options?: readonly string[]
}

export interface CommandInfo {
  /** as oclif keeps it: topic:command */
  id: string
  flags: FlagInfo[]
}

export interface CompletionSources {
  commands: CommandInfo[]
  labs: () => string[]
  /** the members of a lab (or of the only lab up when undefined) */
  members: (lab: string | undefined) => string[]
  topologies: () => string[]
}

/** Printed alone on a line: "also complete file names here". */
export const FILES = '::files'

/** new: a name the user makes up (a new pod's, a new node's): nothing to offer */
type ArgKind = 'lab' | 'topology' | 'lab-or-topology' | 'lab-or-file' | 'member' | 'file' | 'command' | 'new'

/** What each positional argument of a command is (the rest: files, e.g. exec's command). */
const ARGS: Record<string, ArgKind[]> = {
  up: ['topology'],
  plan: ['topology'],
  validate: ['topology'],
  graph: ['lab-or-topology'],
  down: ['lab'],
  probe: ['lab'],
  status: ['lab'],
  // the commands that enter a member: exec, shell, capture
  ...Object.fromEntries(['exec', 'shell', 'capture'].map((id) => [id, ['member']])),
  'policy:apply': ['lab-or-file', 'file'], // [LAB] FILE
  label: ['member'], // a pod (NAME, or NS/NAME), then its label changes
  topology: ['lab'],
  // the shortcuts: the lab's members (a node to put a pod on, a pod or node to delete)
  'pod:add': ['member', 'new'], // NODE NAME
  'pod:delete': ['member'],
  'node:add': ['new'],
  'node:delete': ['member'],
  help: ['command'],
}

/** Flag values that name something netlab knows. */
const FLAG_VALUES: Record<string, ArgKind> = {lab: 'lab', topology: 'topology', output: 'file', write: 'file'}

/** The candidates for the last word of `words` (the words after `netlab`; the last may be empty). */
export function complete(words: string[], src: CompletionSources): string[] {
  const cur = words.at(-1) ?? ''
  const done = words.slice(0, -1)
  const ids = src.commands.map((c) => c.id)
  const starts = (xs: string[]) => xs.filter((x) => x.startsWith(cur))
  // the command: one word, or a topic and its command (policy apply)
  const topLevel = [...new Set(ids.map((id) => id.split(':')[0]))].sort()
  if (done.length === 0) return starts(topLevel)
  let id = done[0]
  let rest = done.slice(1)
  if (!ids.includes(id)) {
    const sub = ids.filter((x) => x.startsWith(`${id}:`)).map((x) => x.slice(id.length + 1))
    if (rest.length === 0) return starts(sub)
    id = `${id}:${rest[0]}`
    rest = rest.slice(1)
  }
  const cmd = src.commands.find((c) => c.id === id)
  if (!cmd) return []
  const flagOf = (w: string) => cmd.flags.find((f) => w === `--${f.name}` || (f.char !== undefined && w === `-${f.char}`))
  // exec NAME -- COMMAND…: after a `--` the words are another program's
  if (rest.includes('--')) return [FILES]
  // the value of a flag: the word after it
  const prev = rest.at(-1)
  const flag = prev === undefined ? undefined : flagOf(prev)
  if (flag?.value) {
    if (flag.options) return starts([...flag.options])
    return kindValues(FLAG_VALUES[flag.name], rest, src, cur)
  }
  if (cur.startsWith('-')) return starts(cmd.flags.flatMap((f) => [`--${f.name}`]).sort())
  // positional: count the words that are not flags or their values
  let position = 0
  for (let i = 0; i < rest.length; i++) {
    const f = flagOf(rest[i])
    if (f) {
      if (f.value) i++
      continue
    }
    if (!rest[i].startsWith('-')) position++
  }
  return kindValues((ARGS[id] ?? [])[position] ?? 'file', rest, src, cur)
}

function kindValues(kind: ArgKind | undefined, rest: string[], src: CompletionSources, cur: string): string[] {
  const starts = (xs: string[]) => xs.filter((x) => x.startsWith(cur))
  switch (kind) {
    case 'lab':
      return starts(src.labs())
    case 'topology':
      return [...starts(src.topologies()), FILES]
    case 'lab-or-topology':
      return [...starts([...new Set([...src.labs(), ...src.topologies()])].sort()), FILES]
    case 'lab-or-file':
      return [...starts(src.labs()), FILES]
    case 'member': {
      const i = rest.indexOf('--lab')
      return starts(src.members(i >= 0 ? rest[i + 1] : undefined))
    }
    case 'command':
      return starts([...new Set(src.commands.map((c) => c.id.split(':')[0]))].sort())
    case 'new':
      return []
    default:
      return [FILES]
  }
}

/** `netlab autocomplete bash|zsh`: the script to source; `call` runs netlab (as it was started). */
export function completionScript(kind: 'bash' | 'zsh', call: string): string {
  if (kind === 'bash')
    return [
      '# netlab completion for bash: commands, flags, topologies, and the names of the labs that are',
      '# up and of their members (asked of netlab itself, each time). Load it with',
      '#   source <(netlab autocomplete bash)      (or put that line in ~/.bashrc)',
      '_netlab() {',
      '  local cur=${COMP_WORDS[COMP_CWORD]} line files=0',
      '  COMPREPLY=()',
      `  while IFS= read -r line; do`,
      `    if [ "$line" = "${FILES}" ]; then files=1; else COMPREPLY+=("$line"); fi`,
      `  done < <(${call} __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)`,
      '  if [ "$files" = 1 ]; then',
      '    while IFS= read -r line; do COMPREPLY+=("$line"); done < <(compgen -f -- "$cur")',
      '    compopt -o filenames 2>/dev/null',
      '  fi',
      '}',
      'complete -F _netlab netlab',
      '',
    ].join('\n')
  return [
    '#compdef netlab',
    '# netlab completion for zsh: commands, flags, topologies, and the names of the labs that are',
    '# up and of their members (asked of netlab itself, each time). Load it with',
    '#   source <(netlab autocomplete zsh)       (after compinit; or put that line in ~/.zshrc)',
    '_netlab() {',
    '  local -a out',
    // split unquoted: no answer is no candidate, not one empty one
    `  out=(\${(f)"$(${call} __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)"})`,
    `  if (( \${out[(I)${FILES}]} )); then`,
    `    out=("\${(@)out:#${FILES}}")`,
    '    _files',
    '  fi',
    '  compadd -a out',
    '}',
    'compdef _netlab netlab',
    '',
  ].join('\n')
}
