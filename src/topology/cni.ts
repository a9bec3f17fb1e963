// cluster.cni: the CNI conflist netlab calls as the container runtime, and where its plugins
// are. The key is checked here; a conflist file is read and checked by loadConflist, with every
// complaint at a line and column of the topology or of the conflist itself.
import {readFileSync, statSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {isScalar, parseDocument, type Node as YamlNode} from 'yaml'
import {TopologyError, type SourcePos} from './errors.js'
import {CNI_PRESETS, type CniPresetName, type CniSpec, type Located} from './types.js'
import type {YamlWalker as Walker} from './walker.js'

/** The CNI spec versions netlab speaks as a runtime (libcni's, and 1.1.0's STATUS and GC). */
const RUNTIME_CNI_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const

const versionKey = (v: string) => v.split('.').map(Number)

/** a < b as dotted versions ("0.4.0" < "1.0.0" < "1.1.0") */
export function versionBefore(a: string, b: string): boolean {
  const [x, y] = [versionKey(a), versionKey(b)]
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) < (y[i] ?? 0)
  return false
}

/**
 * The version the runtime speaks with a conflist's plugins: with `cniVersions` (CNI 1.1), the
 * highest one it lists that netlab speaks too; without, its `cniVersion`. Undefined when the
 * list names none netlab speaks (checkConflist refuses such a conflist).
 */
export function negotiatedCniVersion(conflist: {cniVersion: string; cniVersions?: string[]}): string | undefined {
  if (!conflist.cniVersions) return conflist.cniVersion
  const common = conflist.cniVersions.filter((v) => (RUNTIME_CNI_VERSIONS as readonly string[]).includes(v))
  return common.sort((a, b) => (versionBefore(a, b) ? 1 : -1))[0]
}

/** What a conflist template may say, filled in per node as containerd's conf_template is. */
const CONFLIST_FIELDS = ['PodCIDR', 'Gateway', 'DataDir'] as const

const MAX_CONFLIST_BYTES = 64 * 1024

type Entry = {key: YamlNode; value: YamlNode | null}

export function parseCni(w: Walker, entry: Entry): CniSpec {
  const pos = w.pos(entry.value ?? entry.key)
  if (entry.value === null || (isScalar(entry.value) && typeof entry.value.value === 'string'))
    w.fail(entry.value ?? entry.key, `cluster.cni must be a mapping: {preset: ${CNI_PRESETS.join('|')}} or {conflist: FILE}`)
  const m = w.map(entry.value, 'cluster.cni', ['preset', 'conflist', 'binDir'])
  const spec: CniSpec = {pos}
  const preset = m.get('preset')
  const conflist = m.get('conflist')
  if (preset && conflist)
    w.fail(conflist.key, 'cluster.cni: give either preset or conflist, not both (a preset is a conflist netlab ships)')
  if (!preset && !conflist) w.fail(entry.value, `cluster.cni: missing key "preset" (${CNI_PRESETS.join(', ')}) or "conflist" (a file)`)
  if (preset) {
    const p = w.str(preset, 'cluster.cni.preset')
    if (!(CNI_PRESETS as readonly string[]).includes(p.value))
      w.fail(preset.value, `cluster.cni.preset: unknown preset "${p.value}" (known: ${CNI_PRESETS.join(', ')})`)
    spec.preset = p as Located<CniPresetName>
  }
  if (conflist) spec.conflist = w.str(conflist, 'cluster.cni.conflist')
  const binDir = m.get('binDir')
  if (binDir) {
    spec.binDir = w.str(binDir, 'cluster.cni.binDir')
    if (!spec.binDir.value.startsWith('/') || spec.binDir.value.includes(':'))
      w.fail(binDir.value, 'cluster.cni.binDir must be an absolute directory (no ":"), e.g. /opt/cni/bin')
  }
  return spec
}

/** Line and column (1-based) of a character offset in a text. */
function posAt(text: string, offset: number, file: string): SourcePos {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)))
  const lines = before.split('\n')
  return {file, line: lines.length, col: lines.at(-1)!.length + 1}
}

/** Where `"key"` first appears in the text, or the start. */
function keyPos(text: string, key: string, file: string): SourcePos {
  const at = text.indexOf(JSON.stringify(key))
  return posAt(text, at < 0 ? 0 : at, file)
}

/**
 * Check a conflist template: JSON, a conflist (name, cniVersion, a non-empty plugins list, each
 * with a type), and only placeholders netlab fills. Pure; throws a TopologyError in the file.
 */
export function checkConflist(text: string, file: string): void {
  for (const m of text.matchAll(/\{\{([^}]*)\}\}/g)) {
    const field = /^\s*\.(\w+)\s*$/.exec(m[1])?.[1]
    if (!field || !(CONFLIST_FIELDS as readonly string[]).includes(field))
      throw new TopologyError(
        posAt(text, m.index!, file),
        `unknown template field ${m[0]} (netlab fills ${CONFLIST_FIELDS.map((f) => `{{.${f}}}`).join(', ')})`,
      )
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (error) {
    const msg = (error as Error).message
    // Node names the position in some messages only; JSON is YAML, whose parser always does
    const at = /position (\d+)/.exec(msg)?.[1] ?? parseDocument(text, {prettyErrors: false}).errors[0]?.pos[0]
    const what = msg.replace(/ in JSON at position \d+.*$| \(line \d+ column \d+\)$/, '').replace(/, ".*" is not valid JSON$/s, '')
    throw new TopologyError(posAt(text, Number(at ?? 0), file), `not valid JSON: ${what}`)
  }
  const at1 = {file, line: 1, col: 1}
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new TopologyError(at1, 'a conflist is a JSON object with name, cniVersion and plugins')
  const c = doc as Record<string, unknown>
  if (typeof c.name !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(c.name))
    throw new TopologyError(keyPos(text, 'name', file), 'conflist: "name" must be a network name (letters, digits, _ . -)')
  if (typeof c.cniVersion !== 'string') throw new TopologyError(keyPos(text, 'cniVersion', file), 'conflist: "cniVersion" must be a string')
  if (c.cniVersions !== undefined) {
    const at = keyPos(text, 'cniVersions', file)
    if (!Array.isArray(c.cniVersions) || c.cniVersions.length === 0 || !c.cniVersions.every((v) => typeof v === 'string'))
      throw new TopologyError(at, 'conflist: "cniVersions" must be a non-empty list of versions, e.g. ["1.0.0", "1.1.0"]')
    if (negotiatedCniVersion({cniVersion: c.cniVersion, cniVersions: c.cniVersions as string[]}) === undefined)
      throw new TopologyError(at, `conflist: "cniVersions" lists no version netlab speaks (${RUNTIME_CNI_VERSIONS.join(', ')})`)
  }
  if (!Array.isArray(c.plugins) || c.plugins.length === 0) {
    const hint = typeof c.type === 'string' ? ' (this looks like a single-plugin .conf: put it in a "plugins" list)' : ''
    throw new TopologyError(keyPos(text, 'plugins', file), `conflist: "plugins" must be a non-empty list${hint}`)
  }
  c.plugins.forEach((p, i) => {
    const type = (p as Record<string, unknown> | null)?.type
    if (typeof p !== 'object' || p === null || typeof type !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(type))
      throw new TopologyError(keyPos(text, 'plugins', file), `conflist: plugins[${i}] needs a "type" (a plugin's file name)`)
  })
}

/** Read the conflist named in the topology (relative to the topology file) and check it. */
export function loadConflist(topologyFile: string, conflist: Located<string>): {path: string; text: string} {
  const path = resolve(dirname(topologyFile), conflist.value)
  let text: string
  try {
    if (!statSync(path).isFile()) throw new TopologyError(conflist.pos, `cluster.cni.conflist: ${path} is not a regular file`)
    if (statSync(path).size > MAX_CONFLIST_BYTES)
      throw new TopologyError(conflist.pos, `cluster.cni.conflist: ${path} is too large (a conflist is at most 64 KiB)`)
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if (error instanceof TopologyError) throw error
    const code = (error as NodeJS.ErrnoException).code
    throw new TopologyError(conflist.pos, `cluster.cni.conflist: ${code === 'ENOENT' ? 'no such file' : `cannot read`} ${path}`)
  }
  checkConflist(text, path)
  return {path, text}
}
