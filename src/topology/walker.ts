// Walking a parsed YAML document with positions: every value read is Located (file:line:col),
// every complaint points at the node it is about, and independent parts collect their errors so
// one run reports them all. The topology's walker (./parse.ts) and its cni and policies parts use it.
import {isAlias, isMap, isScalar, type LineCounter, type Node as YamlNode, type YAMLMap} from 'yaml'
import {throwAll, TopologyError, type SourcePos} from './errors.js'
import type {Located} from './types.js'

export class YamlWalker {
  /** problems found so far in parts that could be checked on their own (see collect) */
  private errors: TopologyError[] = []

  constructor(
    protected readonly file: string,
    private readonly lc: LineCounter,
  ) {}

  /**
   * Check one part of the file that the rest does not depend on (a node, a pod, an external
   * host, a policy): its error is kept and the walk goes on, so one run reports every such
   * problem. undefined when it failed.
   */
  collect<T>(f: () => T): T | undefined {
    try {
      return f()
    } catch (error) {
      if (!(error instanceof TopologyError)) throw error
      this.errors.push(error)
      return undefined
    }
  }

  /** Throw what collect kept: one error as itself, several as a TopologyErrors. */
  throwCollected(): void {
    throwAll(this.errors)
  }

  pos(node: YamlNode | null | undefined, fallback?: SourcePos): SourcePos {
    const offset = node?.range?.[0]
    if (offset === undefined) return fallback ?? {file: this.file, line: 1, col: 1}
    const {line, col} = this.lc.linePos(offset)
    return {file: this.file, line, col}
  }

  fail(node: YamlNode | null | undefined, msg: string): never {
    throw new TopologyError(this.pos(node), msg)
  }

  /** Aliases could expand into billions of nodes (the "billion laughs"); a topology never needs them. */
  noAlias(node: unknown, where: string): void {
    if (isAlias(node)) this.fail(node as YamlNode, `${where}: YAML aliases (*name) are not supported in topology files`)
  }

  map(node: unknown, where: string, allowed: readonly string[]): Map<string, {key: YamlNode; value: YamlNode | null}> {
    this.noAlias(node, where)
    if (!isMap(node)) this.fail(node as YamlNode, `${where} must be a mapping`)
    const out = new Map<string, {key: YamlNode; value: YamlNode | null}>()
    for (const pair of (node as YAMLMap).items) {
      const key = pair.key as YamlNode
      this.noAlias(key, where)
      if (!isScalar(key) || typeof key.value !== 'string') this.fail(key, `${where}: keys must be plain names`)
      const name = key.value as string
      if (name === '<<') this.fail(key, `${where}: YAML merge keys (<<) are not supported in topology files`)
      if (!allowed.includes(name)) this.fail(key, `${where}: unknown key "${name}" (allowed: ${allowed.join(', ')})`)
      const value = (pair.value ?? null) as YamlNode | null
      this.noAlias(value, `${where}.${name}`)
      // "key:" with nothing after it parses as a null scalar, not as a missing value.
      out.set(name, {key, value: isScalar(value) && value.value === null ? null : value})
    }
    return out
  }

  str(entry: {key: YamlNode; value: YamlNode | null}, where: string): Located<string> {
    const v = entry.value
    if (!isScalar(v) || (typeof v.value !== 'string' && typeof v.value !== 'number') || v.value === '') {
      this.fail(v ?? entry.key, `${where} must be a non-empty string`)
    }
    return {value: String((v as {value: unknown}).value), pos: this.pos(v)}
  }
}
