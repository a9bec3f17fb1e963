// cluster.cni: the CNI conflist netlab calls as the container runtime, and where its plugins
// are. The key is checked here; a conflist file is read and checked by loadConflist, with every
// complaint at a line and column of the topology or of the conflist itself. The conflist may
// be any file the topology names, read as root: a complaint about it gives a position and a
// reason, never what the file holds. A binDir names programs netlab runs as root: checkBinDir.
import {dirname, resolve} from 'node:path'
import {isScalar, parseDocument, type Node as YamlNode} from 'yaml'
import {trustPath} from '../core/trust.js'
import {TopologyError, type SourcePos} from './errors.js'
import {readRegularFile} from './files.js'
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
 * What JSON.parse's message says is wrong, in our words: its own messages quote the input
 * ("Unexpected token 'r', "root:*:202"... is not valid JSON"), and the input may be any file.
 */
const JSON_REASONS: [RegExp, string][] = [
  [/^Unexpected end of JSON input/, 'the text ends before the JSON value does'],
  [/^Unterminated string/, 'a string is not closed'],
  [/^Bad control character/, 'a control character (a tab, a newline) inside a string'],
  [/^Bad (escaped character|Unicode escape)/, 'a bad \\ escape inside a string'],
  [/^Expected (double-quoted property name|property name or)/, 'expected a property name in double quotes'],
  [/^Expected ':'/, 'expected ":" after a property name'],
  [/^Expected ',' or '\}'/, 'expected "," or "}" after a property value'],
  [/^Expected ',' or '\]'/, 'expected "," or "]" after an array element'],
  [/^Unexpected non-whitespace character after JSON/, 'more text after the JSON value'],
  [/^(Unexpected number|No number after minus sign|Exponent part is missing|Unterminated fractional)/, 'a malformed number'],
]

/** JSON.parse's error as a position in the text and a reason of ours; nothing of the text itself. */
function jsonProblem(text: string, error: Error, file: string): TopologyError {
  // Node names the position in some messages only; JSON is YAML, whose parser always does
  const at = /position (\d+)/.exec(error.message)?.[1] ?? parseDocument(text, {prettyErrors: false}).errors[0]?.pos[0]
  const reason = JSON_REASONS.find(([re]) => re.test(error.message))?.[1] ?? 'an unexpected character'
  return new TopologyError(posAt(text, Number(at ?? 0), file), `not valid JSON: ${reason}`)
}

/**
 * Check a conflist template: JSON, a conflist (name, cniVersion, a non-empty plugins list, each
 * with a type), and only placeholders netlab fills. Pure; throws a TopologyError in the file,
 * which says where and why but quotes nothing of the text.
 */
export function checkConflist(text: string, file: string): void {
  for (const m of text.matchAll(/\{\{([^}]*)\}\}/g)) {
    const field = /^\s*\.(\w+)\s*$/.exec(m[1])?.[1]
    if (!field || !(CONFLIST_FIELDS as readonly string[]).includes(field))
      throw new TopologyError(
        posAt(text, m.index!, file),
        `unknown template field (netlab fills ${CONFLIST_FIELDS.map((f) => `{{.${f}}}`).join(', ')})`,
      )
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (error) {
    throw jsonProblem(text, error as Error, file)
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
  const read = readRegularFile(path, MAX_CONFLIST_BYTES)
  if (read.reason === 'missing') throw new TopologyError(conflist.pos, `cluster.cni.conflist: no such file ${path}`)
  if (read.reason === 'not-regular') throw new TopologyError(conflist.pos, `cluster.cni.conflist: ${path} is not a regular file`)
  if (read.reason === 'too-large')
    throw new TopologyError(conflist.pos, `cluster.cni.conflist: ${path} is too large (a conflist is at most 64 KiB)`)
  if (read.reason === 'unreadable') throw new TopologyError(conflist.pos, `cluster.cni.conflist: cannot read ${path} (${read.code})`)
  const text = read.bytes.toString('utf8')
  checkConflist(text, path)
  return {path, text}
}

/**
 * A binDir the topology names holds programs netlab runs as root: it, and every directory above
 * it, must be root's and writable by nobody else. One that does not exist holds nothing to run
 * (`up` says which plugin it misses).
 */
export function checkBinDir(binDir: Located<string>): void {
  const t = trustPath(binDir.value, 'dir')
  if (t.ok || 'missing' in t) return
  throw new TopologyError(
    binDir.pos,
    `cluster.cni.binDir: netlab runs the plugins in ${binDir.value} as root, but ${t.path} ${t.why}: it uses ` +
      `only a directory that root owns and nobody else can write, below directories alike (chown root, chmod go-w)`,
  )
}
