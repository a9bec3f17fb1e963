// Whether netlab, running as root, may run a program from a path (a CNI plugin, its binDir):
// only when nobody but a trusted owner could have put it there or changed it, as ssh treats
// authorized_keys and sudo its sudoers. Every directory the path passes through, every symbolic
// link followed, and the file itself must belong to a trusted owner (root) and must not be
// writable by its group or others. A root-owned sticky directory (/tmp) may be passed through:
// no one else can rename or remove what root made in it; it cannot be the last directory, whose
// names are looked up (another user could add a name there).
import {lstatSync, readlinkSync, type Stats} from 'node:fs'
import {join} from 'node:path'

/** Symbolic links followed before giving up, as the kernel's own limit (ELOOP) */
const MAX_LINKS = 40

export type Trust =
  | {ok: true}
  /** the path or a component of it does not exist (nothing to run; whether that is an error is the caller's) */
  | {ok: false; missing: string}
  /** `path` (the component at fault) and why it cannot be trusted */
  | {ok: false; path: string; why: string}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0')

/** Why an entry could be changed by someone untrusted, or undefined. `lookedUp`: names in it are looked up, sticky or not. */
function problem(st: Stats, owners: readonly number[], lookedUp: boolean): string | undefined {
  if (!owners.includes(st.uid))
    return `is owned by uid ${st.uid}, not by ${owners.length === 1 ? 'root' : `root or uid ${owners.filter((o) => o !== 0).join(', ')}`}`
  if (st.isSymbolicLink()) return undefined // a link's own mode means nothing; its directory was checked
  const sticky = st.isDirectory() && (st.mode & 0o1000) !== 0 && st.uid === 0 && !lookedUp
  if (st.mode & 0o002 && !sticky) return `is writable by others (mode ${octal(st.mode)})`
  if (st.mode & 0o020 && !sticky) return `is writable by its group (gid ${st.gid}, mode ${octal(st.mode)})`
  return undefined
}

/**
 * Check every component of an absolute `path` from / (following symbolic links, each checked
 * too) and the entry it ends at, which must be a `kind` ('file': a regular file, 'dir': a
 * directory). `owners`: the uids trusted besides none (default root only).
 */
export function trustPath(path: string, kind: 'file' | 'dir', owners: readonly number[] = [0]): Trust {
  const todo = path.split('/').filter((c) => c !== '' && c !== '.')
  let cur = '/'
  let links = 0
  const rootProblem = problem(lstatSync('/'), owners, false)
  if (rootProblem) return {ok: false, path: '/', why: rootProblem}
  while (todo.length > 0) {
    const name = todo.shift()!
    if (name === '..') {
      cur = join(cur, '..')
      continue
    }
    const next = join(cur, name)
    let st: Stats
    try {
      st = lstatSync(next)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return {ok: false, missing: next}
      return {ok: false, path: next, why: `cannot be checked (${code ?? String(error)})`}
    }
    const why = problem(st, owners, todo.length === 0)
    if (why) return {ok: false, path: next, why}
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) return {ok: false, path, why: 'has too many levels of symbolic links'}
      const target = readlinkSync(next)
      if (target.startsWith('/')) cur = '/'
      todo.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'))
      continue
    }
    if (!st.isDirectory() && todo.length > 0) return {ok: false, missing: next}
    cur = next
  }
  // where the path ends (after links and ".."), checked as the last: no sticky directory here
  const end = lstatSync(cur)
  if (kind === 'file' && !end.isFile()) return {ok: false, path: cur, why: 'is not a regular file'}
  if (kind === 'dir' && !end.isDirectory()) return {ok: false, path: cur, why: 'is not a directory'}
  const why = problem(end, owners, true)
  return why ? {ok: false, path: cur, why} : {ok: true}
}
