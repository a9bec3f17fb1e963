// Where netlab's own files are. The code runs both as dist/src/**.js (tsc output) and as the
// single-file bundle dist/netlab.mjs, so paths are found from the package root, not from here.
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

let root: string | undefined

export function packageRoot(): string {
  if (root) return root
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'assets'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('netlab: cannot find its own package directory')
    dir = up
  }
  return (root = dir)
}

/** A file shipped in assets/ (the Perl helpers). */
export function asset(name: string): string {
  return join(packageRoot(), 'assets', name)
}
