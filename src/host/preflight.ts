// Checks that turn a cryptic failure halfway through into a clear sentence before anything runs.
import {accessSync, constants, readFileSync} from 'node:fs'
import {basename, delimiter, dirname, join} from 'node:path'
import {NetlabError} from '../core/errors.js'
import {run} from '../exec/runner.js'

export function requireRoot(what: string): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new NetlabError(
      `${what} needs root (it creates and deletes network namespaces): run it with sudo, e.g. ` +
        `sudo netlab ${what.replace(/^netlab /, '')}`,
    )
  }
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

export function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin']
  for (const dir of dirs) {
    if (!dir) continue
    try {
      accessSync(join(dir, name), constants.X_OK)
      return join(dir, name)
    } catch {
      // not here
    }
  }
  return undefined
}

/** tool name -> the Debian package that provides it */
export function requireTools(tools: Record<string, string>): void {
  const missing = Object.entries(tools).filter(([tool]) => !findTool(tool))
  if (missing.length === 0) return
  const pkgs = [...new Set(missing.map(([, pkg]) => pkg))].join(' ')
  throw new NetlabError(`missing ${missing.map(([t]) => t).join(', ')}: install with: sudo apt-get install -y ${pkgs}`)
}

/** what `up` runs besides perl (checked by requirePerl) */
export const BUILD_TOOLS = {ip: 'iproute2', 'iptables-restore': 'iptables'}
/** routing bgp: the daemon on every node, and its client for convergence, status and netlab bgp */
export const BGP_TOOLS = {bird: 'bird2', birdc: 'bird2'}
/** exec and shell enter a namespace with ip netns exec; the shell is bash */
export const ENTER_TOOLS = {ip: 'iproute2'}
export const SHELL_TOOLS = {...ENTER_TOOLS, bash: 'bash'}
export const CAPTURE_TOOLS = {...ENTER_TOOLS, tcpdump: 'tcpdump'}

// Perl: netlab's helpers (assets/*.pl) are Perl programs, and Debian's perl-base, which every
// system has, lacks modules they use (Time::HiRes). What they need is read from the helpers
// themselves, so a new `use` is checked without anyone remembering to list it here.

/** The Debian package with every core Perl module (perl-base has only some). */
const PERL_PACKAGE = 'perl'

/** The one place that looks for perl. */
export function findPerl(): string {
  const perl = findTool('perl')
  if (!perl) throw new NetlabError(`missing perl: install with: sudo apt-get install -y ${PERL_PACKAGE}`)
  return perl
}

export interface PerlNeeds {
  /** modules named by `use`, `no` and `require Module` statements */
  modules: string[]
  /** other helpers it loads by file name (`require(... . 'netlab-setns.pl')`), relative to its own directory */
  files: string[]
  /** `use`/`require` lines of a form not understood here: a test keeps this empty */
  unknown: string[]
}

/** What one Perl source loads. Statements at the start of a line; a `require` inside an eval is optional and not counted. */
export function perlNeeds(source: string): PerlNeeds {
  const needs: PerlNeeds = {modules: [], files: [], unknown: []}
  let pod = false
  for (const line of source.split('\n')) {
    if (/^__(END|DATA)__\b/.test(line)) break
    if (/^=cut\b/.test(line)) pod = false
    else if (/^=\w/.test(line)) pod = true
    if (pod) continue
    const m = /^\s*(use|no|require)\b\s*(.*)$/.exec(line)
    if (!m) continue
    const what = m[2]
    const module = /^([A-Za-z_]\w*(?:::\w+)*)\s*[\s;({'"q]/.exec(`${what} `)?.[1]
    const file = /['"]([\w-]+\.pl)['"]/.exec(what)?.[1]
    if (/^v?\d[\d._]*\s*;/.test(what)) continue // use 5.010: a Perl version, not a module
    if (module && !/^v\d/.test(module)) needs.modules.push(module)
    else if (m[1] === 'require' && file) needs.files.push(file)
    else needs.unknown.push(line.trim())
  }
  return needs
}

/** Every module the Perl programs `files` use, following the helpers they load; module -> the file that uses it. */
export function perlModules(files: string[]): Map<string, string> {
  const modules = new Map<string, string>()
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const needs = perlNeeds(readFileSync(file, 'utf8'))
    for (const m of needs.modules) if (!modules.has(m)) modules.set(m, file)
    for (const f of needs.files) visit(join(dirname(file), f))
  }
  files.forEach(visit)
  return modules
}

/** modules this process has seen perl load: each is checked once */
const loadable = new Set<string>()

/**
 * perl, able to load every module the Perl programs `files` use: one `perl -mX -mY -e1` for the
 * modules not checked yet (-m: load without importing anything). Returns perl's path.
 */
export async function requirePerl(files: string[]): Promise<string> {
  const perl = findPerl()
  const modules = [...perlModules(files)].filter(([m]) => !loadable.has(m))
  if (modules.length === 0) return perl
  const r = await run(perl, [...modules.map(([m]) => `-m${m}`), '-e1'], {timeoutMs: 30_000})
  if (r.exitCode !== 0) throw new NetlabError(perlModuleError(r.stderr, new Map(modules)))
  modules.forEach(([m]) => loadable.add(m))
  return perl
}

/** One line from perl's complaint: which module, which helper needs it, which package has it. */
export function perlModuleError(stderr: string, usedBy: Map<string, string>): string {
  const path = /Can't locate (\S+)\.pm in @INC/.exec(stderr)?.[1]
  const module = path?.replaceAll('/', '::')
  const user = module && usedBy.get(module)
  const what = module
    ? `${module}${user ? `, which ${basename(user)} uses` : ''}`
    : `the modules netlab's Perl helpers use (${stderr.trim().split('\n')[0] || 'no message'})`
  return (
    `perl cannot load ${what}: install the full perl (Debian's perl-base lacks many modules) ` +
    `with: sudo apt-get install -y ${PERL_PACKAGE}`
  )
}
