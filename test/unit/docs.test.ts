// The README and the pages under docs/ stay true to the repository and to the CLI: every relative
// link and image points to a file that exists (and a #anchor to a heading of that page, by
// GitHub's slug rules), every external link is well-formed (never fetched), every `netlab …`
// command in a code block names a command and flags that command has, every topologies/ or
// examples/ path a command names exists, and every docs page is linked from the README. Pure:
// reads files, imports the command classes; runs nothing.
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join, relative, resolve, sep} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {COMMANDS} from '../../src/commands/index.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** README.md and every docs/*.md, as paths relative to the repository. */
const PAGES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
]

// ---------------------------------------------------------------------------------------------
// Markdown, as much of it as these pages use

interface Line {
  /** 1-based */
  no: number
  text: string
}
interface CodeBlock {
  /** the info string's first word: '' when un-annotated */
  lang: string
  lines: Line[]
}
interface Page {
  file: string
  /** lines outside fenced code blocks */
  prose: Line[]
  blocks: CodeBlock[]
}

function readPage(file: string): Page {
  const prose: Line[] = []
  const blocks: CodeBlock[] = []
  let open: {fence: string; block: CodeBlock} | undefined
  readFileSync(join(ROOT, file), 'utf8')
    .split('\n')
    .forEach((text, i) => {
      const line = {no: i + 1, text}
      const fence = /^\s*(`{3,}|~{3,})\s*([^`\s]*)/.exec(text)
      if (open) {
        if (fence && fence[1][0] === open.fence[0] && fence[1].length >= open.fence.length && !fence[2]) open = undefined
        else open.block.lines.push(line)
      } else if (fence) {
        open = {fence: fence[1], block: {lang: fence[2].toLowerCase(), lines: []}}
        blocks.push(open.block)
      } else prose.push(line)
    })
  return {file, prose, blocks}
}

/** A line without its inline code spans (`…`, ``…``), which hold no links. */
function withoutCode(text: string): string {
  let out = ''
  let i = 0
  while (i < text.length) {
    const run = /^`+/.exec(text.slice(i))
    if (!run) {
      out += text[i++]
      continue
    }
    // the span ends at a run of exactly as many backticks; without one the backticks are literal
    let end = text.indexOf(run[0], i + run[0].length)
    while (end >= 0 && (text[end + run[0].length] === '`' || text[end - 1] === '`')) end = text.indexOf(run[0], end + 1)
    if (end < 0) {
      out += run[0]
      i += run[0].length
      continue
    }
    out += ' '
    i = end + run[0].length
  }
  return out
}

/** GitHub's anchor for a heading (github-slugger): lower case, punctuation but '-' and '_' dropped, spaces to '-'. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link or image: its text
    .replace(/`/g, '')
    .replace(/\*\*|\*/g, '')
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-')
}

/** Every anchor of a page: one per heading, a repeated slug numbered -1, -2, … as GitHub does. */
function anchors(page: Page): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const {text} of page.prose) {
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text)
    if (!h) continue
    const base = slug(h[1])
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  }
  return out
}

interface Link {
  line: number
  target: string
  image: boolean
}

/** The inline links and images of a page's prose, and its reference definitions ([x]: target). */
function links(page: Page): Link[] {
  const out: Link[] = []
  for (const {no, text} of page.prose) {
    const plain = withoutCode(text)
    for (const m of plain.matchAll(/(!?)\[((?:[^\]\\]|\\.)*)\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g))
      out.push({line: no, target: m[3], image: m[1] === '!'})
    const def = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/.exec(plain)
    if (def) out.push({line: no, target: def[1], image: false})
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Shell, as much of it as the examples use

/** One line of shell as words, split into simple commands at | || && ; & ( ) $( <( ; comments and redirections dropped. */
function simpleCommands(line: string): string[][] {
  const commands: string[][] = [[]]
  let word: string | undefined
  const end = () => {
    if (word !== undefined) commands.at(-1)!.push(word)
    word = undefined
  }
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (c === "'" || c === '"') {
      const close = line.indexOf(c, i + 1)
      const to = close < 0 ? line.length : close
      word = (word ?? '') + line.slice(i + 1, to)
      i = to
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i]
    } else if (/\s/.test(c)) {
      end()
    } else if (c === '#' && word === undefined) {
      break
    } else if ('|&;()'.includes(c) || ((c === '$' || c === '<') && line[i + 1] === '(')) {
      end()
      if (c === '$' || c === '<') i++
      commands.push([])
    } else if (c === '<' || c === '>') {
      // > FILE, >> FILE, 2> FILE, < FILE, 2>&1: the operator and its file are no arguments
      if (word !== undefined && /^\d+$/.test(word)) word = undefined
      end()
      let j = i + 1
      while (line[j] === '<' || line[j] === '>') j++
      if (line[j] === '&') {
        j++
        while (/[\d-]/.test(line[j] ?? '')) j++
      } else {
        while (/\s/.test(line[j] ?? '')) j++
        while (j < line.length && !/[\s|&;()<>]/.test(line[j])) j++
      }
      i = j - 1
    } else word = (word ?? '') + c
  }
  end()
  return commands.filter((c) => c.length > 0)
}

/** The command lines of a code block: `$ ` prompts, and in un-annotated and shell blocks every line; continuations joined. */
function commandLines(block: CodeBlock): Line[] {
  const out: Line[] = []
  let pending: Line | undefined
  for (const line of block.lines) {
    let text = line.text.trim()
    if (pending) {
      pending.text += ' ' + text
    } else {
      const prompt = /^\$ (.*)$/.exec(text)
      if (prompt) text = prompt[1]
      else if (block.lang === 'console') continue // output
      pending = {no: line.no, text}
    }
    if (pending.text.endsWith('\\')) pending.text = pending.text.slice(0, -1)
    else {
      out.push(pending)
      pending = undefined
    }
  }
  if (pending) out.push(pending)
  return out
}

const SHELL_BLOCKS = new Set(['', 'sh', 'bash', 'console', 'shell'])

/** The words after `netlab` (or `node bin/run.js`), after any `sudo` and VAR=value prefixes; undefined for another program. */
function netlabArgv(words: string[]): string[] | undefined {
  let i = 0
  while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i])) i++
  if (words[i] === 'sudo') {
    i++
    while (words[i]?.startsWith('-')) i++
    while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i])) i++
  }
  if (words[i] === 'netlab') return words.slice(i + 1)
  if (words[i] === 'node' && /^(\.\/)?bin\/run\.js$/.test(words[i + 1] ?? '')) return words.slice(i + 2)
  return undefined
}

// ---------------------------------------------------------------------------------------------
// The CLI, from its command classes

interface FlagInfo {
  type: string
  char?: string
  allowNo?: boolean
  options?: readonly string[]
  multiple?: boolean
  delimiter?: string
}
interface CommandInfo {
  flags?: Record<string, FlagInfo>
  args?: Record<string, unknown>
  strict?: boolean
}
const commands = COMMANDS as unknown as Record<string, CommandInfo>
const TOPICS = new Set(Object.keys(commands).flatMap((id) => (id.includes(':') ? [id.split(':')[0]] : [])))
/** exec's own arguments end at NAME (or at a `--` after it): the rest is the member's command, not netlab's */
const TRAILING_COMMAND = new Set(['exec'])
/** commands whose first argument is a topology: a file, or the name of one in topologies/ */
const TOPOLOGY_ARG = new Set(['up', 'plan', 'validate'])

/** What is wrong with one `netlab …` command line: nothing when it is a valid invocation. */
function checkNetlab(argv: string[]): string[] {
  const problems: string[] = []
  if (argv.length === 0) return problems
  if (argv[0].startsWith('-')) {
    if (!['--version', '--help', '-h'].includes(argv[0])) problems.push(`netlab has no flag ${argv[0]}`)
    return problems
  }
  const id = argv.length > 1 && commands[`${argv[0]}:${argv[1]}`] ? `${argv[0]}:${argv[1]}` : argv[0]
  const command = commands[id]
  const name = id.replace(':', ' ')
  if (!command) return [TOPICS.has(argv[0]) ? `"netlab ${argv[0]}" is a topic, not a command` : `no such command: netlab ${argv[0]}`]
  let rest = argv.slice(id.split(':').length)
  if (id === 'help') {
    const asked = rest.filter((w) => !w.startsWith('-'))
    if (asked.length && checkNetlab(asked).some((p) => p.startsWith('no such command') || p.includes('is a topic')))
      problems.push(`netlab help: no such command: ${asked.join(' ')}`)
    return problems
  }
  if (command.strict === false) return problems // hidden helpers that take anything
  if (TRAILING_COMMAND.has(id)) {
    const name0 = rest.findIndex((w, i) => !w.startsWith('-') && !(i > 0 && isValueFlag(command, rest[i - 1])))
    const dash = rest.indexOf('--', name0 + 1)
    rest = name0 < 0 ? rest : dash >= 0 ? rest.slice(0, dash) : rest.slice(0, name0 + 1)
  } else if (rest.includes('--')) rest = rest.slice(0, rest.indexOf('--'))

  const flags = command.flags ?? {}
  const positional: string[] = []
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i]
    if (word.startsWith('--')) {
      const [flagName, inline] = word.slice(2).split(/=(.*)/s, 2)
      const negated = flagName.startsWith('no-') && flags[flagName.slice(3)]?.allowNo
      const flag = flags[flagName]
      if (flagName === 'help' || negated) continue
      if (!flag) {
        problems.push(`netlab ${name} has no flag --${flagName}`)
        continue
      }
      if (flag.type === 'boolean') continue
      const value = inline ?? rest[++i]
      if (value === undefined) problems.push(`netlab ${name} --${flagName} needs a value`)
      else problems.push(...badValue(name, `--${flagName}`, flag, value))
      if (flagName === 'topology' && value !== undefined) problems.push(...badTopology(value))
    } else if (/^-[A-Za-z]$/.test(word)) {
      if (word === '-h') continue
      const entry = Object.entries(flags).find(([, f]) => f.char === word[1])
      if (!entry) {
        problems.push(`netlab ${name} has no flag ${word}`)
        continue
      }
      const [flagName, flag] = entry
      if (flag.type === 'boolean') continue
      const value = rest[++i]
      if (value === undefined) problems.push(`netlab ${name} ${word} needs a value`)
      else problems.push(...badValue(name, word, flag, value))
      if (flagName === 'topology' && value !== undefined) problems.push(...badTopology(value))
    } else if (word.startsWith('-') && word !== '-') {
      problems.push(`netlab ${name} has no flag ${word}`)
    } else positional.push(word)
  }
  const most = Object.keys(command.args ?? {}).length
  if (positional.length > most)
    problems.push(`netlab ${name} takes at most ${most} argument(s), given ${positional.length}: ${positional.join(' ')}`)
  if (TOPOLOGY_ARG.has(id) && positional[0]) problems.push(...badTopology(positional[0]))
  return problems
}

function isValueFlag(command: CommandInfo, word: string): boolean {
  const flags = Object.entries(command.flags ?? {})
  const flag = word.startsWith('--') ? command.flags?.[word.slice(2)] : flags.find(([, f]) => `-${f.char}` === word)?.[1]
  return flag !== undefined && flag.type !== 'boolean' && !word.includes('=')
}

function badValue(command: string, flag: string, info: FlagInfo, value: string): string[] {
  if (!info.options) return []
  const values = info.multiple && info.delimiter ? value.split(info.delimiter) : [value]
  return values
    .filter((v) => !info.options!.includes(v))
    .map((v) => `netlab ${command} ${flag} ${v}: not one of ${info.options!.join(', ')}`)
}

/** A topology named by a command: a bundled name must be in topologies/; a path there must exist. */
function badTopology(value: string): string[] {
  if (/^[a-z][a-z0-9-]*$/.test(value))
    return existsSync(join(ROOT, 'topologies', `${value}.yaml`)) ? [] : [`no bundled topology ${value} (topologies/${value}.yaml)`]
  return []
}

/** topologies/… and examples/… paths among a command's words that do not exist. */
function missingPaths(words: string[]): string[] {
  return words
    .map((w) => w.replace(/^\.\//, ''))
    .filter((w) => /^(topologies|examples)\//.test(w) && !existsSync(join(ROOT, w)))
    .map((w) => `${w} does not exist`)
}

// ---------------------------------------------------------------------------------------------
// The checks

const pages = new Map(PAGES.map((file) => [file, readPage(file)]))
const anchorsOf = new Map<string, Set<string>>()
function anchorsOfFile(file: string): Set<string> {
  if (!anchorsOf.has(file)) anchorsOf.set(file, anchors(pages.get(file) ?? readPage(file)))
  return anchorsOf.get(file)!
}

/** What is wrong with one link of a page: undefined when it resolves. */
function badLink(page: Page, link: Link): string | undefined {
  const {target} = link
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
    if (!/^https?:/i.test(target)) return target.startsWith('mailto:') ? undefined : `link with an unexpected scheme: ${target}`
    try {
      const url = new URL(target)
      return url.hostname.includes('.') ? undefined : `malformed URL (no host): ${target}`
    } catch {
      return `malformed URL: ${target}`
    }
  }
  if (target === '') return 'empty link target'
  const [path, anchor] = target.split(/#(.*)/s, 2)
  let file = page.file
  if (path) {
    const abs = path.startsWith('/') ? join(ROOT, decodeURI(path)) : resolve(ROOT, dirname(page.file), decodeURI(path))
    const rel = relative(ROOT, abs)
    if (rel.startsWith('..') || rel.startsWith(sep)) return `${target} points outside the repository`
    if (!existsSync(abs)) return `${target}: no such file (${rel})`
    file = rel.split(sep).join('/')
    if (anchor !== undefined && statSync(abs).isDirectory()) return `${target}: an anchor into a directory`
  }
  if (anchor === undefined) return undefined
  if (!file.endsWith('.md')) return `${target}: an anchor into a file that is not Markdown`
  if (!anchorsOfFile(file).has(decodeURIComponent(anchor))) return `${target}: ${file} has no heading with the anchor #${anchor}`
  return undefined
}

/** Every simple command of a page's shell-like code blocks, with its netlab arguments when it runs netlab. */
function commandsOf(page: Page): {line: Line; words: string[]; argv?: string[]}[] {
  return page.blocks
    .filter((block) => SHELL_BLOCKS.has(block.lang))
    .flatMap((block) => commandLines(block))
    .flatMap((line) => withInner(simpleCommands(line.text)).map((words) => ({line, words, argv: netlabArgv(words)})))
}

/** Commands and the commands they hand to a shell: `bash -c '…'`, `sh -c '…'`, `vagrant ssh -c '…'`. */
function withInner(commands: string[][]): string[][] {
  return commands.flatMap((words) => {
    const c = words.indexOf('-c')
    const shell = ['bash', 'sh'].includes(words[0]) || (words[0] === 'vagrant' && words[1] === 'ssh')
    return shell && c > 0 && words[c + 1] ? [words, ...withInner(simpleCommands(words[c + 1]))] : [words]
  })
}

describe('slug: anchors as GitHub makes them', () => {
  it('drops backticks and punctuation but dashes, lower-cases, turns spaces into dashes', () => {
    expect(slug('Following a packet: `netlab trace`')).toBe('following-a-packet-netlab-trace')
    expect(slug("netlab-cni: netlab's own plugin")).toBe('netlab-cni-netlabs-own-plugin')
    expect(slug('Changing them: `netlab policy apply`')).toBe('changing-them-netlab-policy-apply')
    expect(slug('The cloud VPC modes: aws-vpc and vpc-native')).toBe('the-cloud-vpc-modes-aws-vpc-and-vpc-native')
    expect(slug('Exercises: `netlab break` and `netlab fix`')).toBe('exercises-netlab-break-and-netlab-fix')
    expect(slug('`ip_forward` and **bold** [a link](x.md)')).toBe('ip_forward-and-bold-a-link')
  })

  it('numbers a repeated heading as GitHub does', () => {
    const page: Page = {file: 'x.md', blocks: [], prose: ['# A', '## Proving it', '## Proving it'].map((text, i) => ({no: i + 1, text}))}
    expect([...anchors(page)]).toEqual(['a', 'proving-it', 'proving-it-1'])
  })
})

describe('the command-line reader of this test', () => {
  it('splits shell into simple commands, without comments and redirections', () => {
    expect(simpleCommands('netlab plan three-node --format sh > lab.sh   # the script')).toEqual([
      ['netlab', 'plan', 'three-node', '--format', 'sh'],
    ])
    expect(simpleCommands('source <(netlab autocomplete bash)   # or zsh')).toEqual([['source'], ['netlab', 'autocomplete', 'bash']])
    expect(simpleCommands('sudo netlab up x.yaml 2>&1 | grep \'a b\' && echo "#1"')).toEqual([
      ['sudo', 'netlab', 'up', 'x.yaml'],
      ['grep', 'a b'],
      ['echo', '#1'],
    ])
    expect(netlabArgv(['sudo', 'node', 'bin/run.js', 'probe'])).toEqual(['probe'])
    expect(netlabArgv(['NETLAB_STATE_DIR=/tmp/x', 'netlab', 'ls'])).toEqual(['ls'])
    expect(netlabArgv(['vagrant', 'ssh'])).toBeUndefined()
  })

  it('knows a valid command from an invalid one', () => {
    expect(checkNetlab(['probe', '--only', 'no-nat,egress', '--no-explain'])).toEqual([])
    expect(checkNetlab(['policy', 'apply', 'lab', 'f.yaml', '--dry-run'])).toEqual([])
    expect(checkNetlab(['exec', '--lab', 'three-node', 'node-0', 'ip', '-br', 'addr'])).toEqual([])
    expect(checkNetlab(['capture', 'node-1', '-c', '4', '--', '-e', 'icmp'])).toEqual([])
    expect(checkNetlab(['help', 'policy', 'apply'])).toEqual([])
    expect(checkNetlab(['probe', '--fulll'])).toEqual(['netlab probe has no flag --fulll'])
    expect(checkNetlab(['stauts'])).toEqual(['no such command: netlab stauts'])
    expect(checkNetlab(['policy'])).toEqual(['"netlab policy" is a topic, not a command'])
    expect(checkNetlab(['plan', '--format', 'yaml'])).toEqual(['netlab plan --format yaml: not one of text, sh, json'])
    expect(checkNetlab(['up', 'no-such-topology'])).toEqual(['no bundled topology no-such-topology (topologies/no-such-topology.yaml)'])
    expect(checkNetlab(['down', 'a', 'b'])).toEqual(['netlab down takes at most 1 argument(s), given 2: a b'])
  })

  it('finds the examples: the README and the pages hold dozens of netlab commands', () => {
    expect(commandsOf(pages.get('README.md')!).filter((c) => c.argv).length).toBeGreaterThan(8)
    expect([...pages.values()].flatMap((page) => commandsOf(page).filter((c) => c.argv)).length).toBeGreaterThan(30)
  })
})

describe.each(PAGES)('%s', (file) => {
  const page = pages.get(file)!

  it('every relative link and image points to a file that exists, and every #anchor to a heading of its page; external links are well-formed', () => {
    const problems = links(page).flatMap((link) => {
      const bad = badLink(page, link)
      return bad ? [`${file}:${link.line}: ${link.image ? 'image' : 'link'} ${bad}`] : []
    })
    expect(problems).toEqual([])
  })

  it('every netlab command in a code block is a command of the CLI, with flags it has; every topologies/ and examples/ path exists', () => {
    const problems = commandsOf(page).flatMap(({line, words, argv}) =>
      [...(argv ? checkNetlab(argv) : []), ...missingPaths(words)].map((p) => `${file}:${line.no}: ${p} (in: ${line.text})`),
    )
    expect(problems).toEqual([])
  })
})

describe('README.md links every page of docs/', () => {
  it('each docs/*.md is linked from README.md directly', () => {
    const readme = pages.get('README.md')!
    const linked = new Set(
      links(readme)
        .filter((l) => !/^[a-z][a-z0-9+.-]*:/i.test(l.target))
        .map((l) =>
          relative(ROOT, resolve(ROOT, l.target.split('#')[0]))
            .split(sep)
            .join('/'),
        ),
    )
    const unlinked = PAGES.filter((f) => f.startsWith('docs/') && !linked.has(f))
    expect(unlinked.map((f) => `README.md: no link to ${f}`)).toEqual([])
  })
})
