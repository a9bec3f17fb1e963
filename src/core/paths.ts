// Where netlab's own files are. The code runs both as dist/src/**.js (tsc output) and as the
// single-file bundle dist/netlab.cjs, so paths are found from the package root, not from here.
import {existsSync, readdirSync, statSync} from 'node:fs'
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

/** The topologies shipped in topologies/, by name (three-node, fifty-node, …). */
export function bundledTopologies(): string[] {
  try {
    return readdirSync(join(packageRoot(), 'topologies'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.slice(0, -'.yaml'.length))
      .sort()
  } catch {
    return []
  }
}

/**
 * A bundled topology, asked for by name ("three-node", "three-node.yaml") or by its path in the
 * package ("topologies/three-node.yaml", as the README writes it), so an installed netlab finds
 * it from any directory. Only names and that one folder: nothing else of the package is reachable.
 */
export function bundledTopology(given: string): string | undefined {
  const m = /^(?:topologies\/)?([a-z][a-z0-9-]*)(?:\.yaml)?$/.exec(given)
  if (!m) return undefined
  const file = join(packageRoot(), 'topologies', `${m[1]}.yaml`)
  return existsSync(file) && statSync(file).isFile() ? file : undefined
}
