// The shortcuts' edits of a topology's text (netlab pod add|delete, node add|delete): pure, text in,
// text out. The parser's YAML document says where each node and pod is (every node keeps its
// offsets); the edit then changes those bytes only, and apply parses the result as any topology. Printing the whole document again (String(doc)) would
// keep the comments but not the layout: aligned comments lose their columns and long flow lists
// are folded (try it on topologies/services.yaml), and the user edits this text next.
import {isScalar, isSeq, stringify, type Document, type Node as YamlNode, type YAMLMap, type YAMLSeq} from 'yaml'
import {UsageError} from '../core/errors.js'
import {DEFAULT_NAMESPACE, podName} from '../core/names.js'
import {LIMITS, nameProblem} from './names.js'
import {parseTopologyDocument} from './parse.js'
import {labelKeyProblem, labelValueProblem} from './policies.js'
import type {Topology} from './types.js'

export interface PodAdd {
  node: string
  /** NAME, or NS/NAME */
  name: string
  namespace?: string
  /** key=value, each */
  labels?: string[]
}

export interface NodeAdd {
  name: string
  /** how many pods (named NAME-p0, NAME-p1, … as a count in a topology names them) */
  pods?: number
}

/** A YAML item as one line (a name, or a flow mapping {name: a, labels: {app: web}}), quoted where YAML needs it. */
function flowText(value: unknown): string {
  return stringify(value, {collectionStyle: 'flow', flowCollectionPadding: false, lineWidth: 0}).trimEnd()
}

/** The topology (checked: an edit starts from a valid one) and the document that says where each part is. */
function open(input: string, file: string): {topo: Topology; doc: Document; text: string} {
  // the parser reads the text without a byte-order mark: the document's offsets are into that
  const text = input.replace(/^\uFEFF/, '')
  const {topology, doc} = parseTopologyDocument(text, file)
  return {topo: topology, doc, text}
}

/** Every name the lab uses (nodes, pods, external hosts share one space: they name namespaces). */
function namesIn(topo: Topology): Map<string, string> {
  const names = new Map<string, string>()
  for (const n of topo.nodes) {
    names.set(n.name.value, 'a node')
    for (const p of n.pods) names.set(p.name.value, `a pod on node ${n.name.value}`)
  }
  for (const e of topo.external) names.set(e.name.value, 'an external host')
  return names
}

function listed(names: string[]): string {
  const MAX = 20
  return names.slice(0, MAX).join(', ') + (names.length > MAX ? ` and ${names.length - MAX} more` : '') || 'none'
}

function nodeIndex(topo: Topology, name: string): number {
  const i = topo.nodes.findIndex((n) => n.name.value === name)
  if (i < 0) throw new UsageError(`the topology has no node named "${name}" (its nodes: ${listed(topo.nodes.map((n) => n.name.value))})`)
  return i
}

/** NAME or NS/NAME, and --namespace: the pod's namespace (undefined: default) and name. */
function podRef(name: string, namespace: string | undefined): {namespace?: string; name: string} {
  const slash = name.indexOf('/')
  const [ns, bare] = slash >= 0 ? [name.slice(0, slash), name.slice(slash + 1)] : [namespace, name]
  if (slash >= 0 && namespace !== undefined && namespace !== ns)
    throw new UsageError(
      `pod ${name} is not in namespace ${namespace} (--namespace ${namespace}); name it ${bare}, or leave --namespace out`,
    )
  return {...(ns === undefined || ns === DEFAULT_NAMESPACE ? {} : {namespace: ns}), name: bare}
}

function parseLabelArgs(args: string[]): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const arg of args) {
    const eq = arg.indexOf('=')
    if (eq < 0) throw new UsageError(`--label ${arg}: a label is key=value`)
    const [key, value] = [arg.slice(0, eq), arg.slice(eq + 1)]
    const problem = labelKeyProblem(key) ?? labelValueProblem(value)
    if (problem) throw new UsageError(`--label ${arg}: ${problem}`)
    if (key in labels) throw new UsageError(`--label ${key} is given twice`)
    labels[key] = value
  }
  return labels
}

/** `netlab pod add`: a pod on a node (a count of pods becomes the list of the names it implied, then the new one). */
export function addPod(input: string, file: string, add: PodAdd): string {
  const {topo, doc, text} = open(input, file)
  const ref = podRef(add.name, add.namespace)
  const problem = nameProblem('pod', ref.name, LIMITS.podName)
  if (problem) throw new UsageError(problem)
  const known = (topo.namespaces ?? []).map((n) => n.name.value)
  if (ref.namespace !== undefined && !known.includes(ref.namespace))
    throw new UsageError(
      `namespace ${ref.namespace} is not in the topology's namespaces: (${listed(known)}); add it there first and run netlab apply`,
    )
  const i = nodeIndex(topo, add.node)
  const full = podName(ref.namespace, ref.name)
  const taken = namesIn(topo).get(full)
  if (taken) throw new UsageError(`the name ${full} is taken: it is ${taken}`)
  const labels = parseLabelArgs(add.labels ?? [])
  const item =
    ref.namespace === undefined && Object.keys(labels).length === 0
      ? ref.name
      : {name: ref.name, ...(ref.namespace === undefined ? {} : {namespace: ref.namespace}), ...(add.labels?.length ? {labels} : {})}
  const node = nodeMap(doc, i)
  const pods = node.get('pods', true) as YamlNode | undefined
  return isSeq(pods)
    ? appendItem(text, pods, item, true)
    : setPods(
        text,
        node,
        [...topo.nodes[i].pods.map((p) => p.name.value), item], // a count's pods keep their names
      )
}

/** `netlab pod delete`: NAME or NS/NAME; a pod of a count becomes the list of the other names. */
export function deletePod(input: string, file: string, name: string, namespace?: string): string {
  const {topo, doc, text} = open(input, file)
  const ref = podRef(name, namespace)
  const full = podName(ref.namespace, ref.name)
  const i = topo.nodes.findIndex((n) => n.pods.some((p) => p.name.value === full))
  if (i < 0) {
    const pods = topo.nodes.flatMap((n) => n.pods.map((p) => p.name.value))
    throw new UsageError(`the topology has no pod named ${full} (its pods: ${listed(pods)})`)
  }
  const j = topo.nodes[i].pods.findIndex((p) => p.name.value === full)
  const node = nodeMap(doc, i)
  const pods = node.get('pods', true) as YamlNode | undefined
  return isSeq(pods)
    ? removeItem(text, pods, j)
    : setPods(
        text,
        node,
        topo.nodes[i].pods.filter((_, k) => k !== j).map((p) => p.name.value),
      )
}

/** `netlab node add`: a node at the end of nodes:, with a count of pods when asked. */
export function addNode(input: string, file: string, add: NodeAdd): string {
  const {topo, doc, text} = open(input, file)
  const problem = nameProblem('node', add.name, LIMITS.nodeName)
  if (problem) throw new UsageError(problem)
  const names = namesIn(topo)
  // its pods are named after it: none of their names may be taken either
  const wanted = [add.name, ...Array.from({length: add.pods ?? 0}, (_, k) => `${add.name}-p${k}`)]
  for (const n of wanted) {
    const taken = names.get(n)
    if (taken) throw new UsageError(`the name ${n} is taken: it is ${taken}`)
  }
  const item = {name: add.name, ...(add.pods === undefined ? {} : {pods: add.pods})}
  return appendItem(text, doc.get('nodes', true) as YAMLSeq, item)
}

/** `netlab node delete`: the node and its pods; a lab keeps at least one node. */
export function deleteNode(input: string, file: string, name: string): string {
  const {topo, doc, text} = open(input, file)
  const i = nodeIndex(topo, name)
  if (topo.nodes.length === 1)
    throw new UsageError(`node ${name} is the lab's only node: a topology needs one (netlab down removes the whole lab)`)
  return removeItem(text, doc.get('nodes', true) as YAMLSeq, i)
}

function nodeMap(doc: Document, i: number): YAMLMap {
  // the topology parsed: nodes is a list of mappings, in the order of topo.nodes
  return (doc.get('nodes', true) as YAMLSeq).items[i] as YAMLMap
}

// Text positions. yaml's ranges are [start, value end, node end (after a trailing comment)].

const lineStart = (text: string, at: number) => text.lastIndexOf('\n', at - 1) + 1
const column = (text: string, at: number) => at - lineStart(text, at)
const eolOf = (text: string) => (text.includes('\r\n') ? '\r\n' : '\n')

/** Where the line holding offset `end - 1` ends, after its newline (a node's end may already be there). */
function afterLine(text: string, end: number): number {
  if (end > 0 && text[end - 1] === '\n') return end
  const nl = text.indexOf('\n', end)
  return nl < 0 ? text.length : nl + 1
}

/** Insert whole lines at `at` (the start of a line, or the end of a text without a final newline). */
function insertLines(text: string, at: number, lines: string[]): string {
  const eol = eolOf(text)
  const lead = at > 0 && text[at - 1] !== '\n' ? eol : ''
  return text.slice(0, at) + lead + lines.map((l) => l + eol).join('') + text.slice(at)
}

const range = (n: unknown) => (n as YamlNode).range!

/**
 * An item as block lines under a "- " at column `col`: a node one key a line; a pod (oneLine) on
 * one line, {name: a, labels: {app: web}}, as the bundled topologies write them.
 */
function blockItem(item: unknown, col: number, oneLine = false): string[] {
  const pad = ' '.repeat(col)
  if (oneLine || typeof item !== 'object' || item === null) return [`${pad}- ${flowText(item)}`]
  return Object.entries(item).map(([k, v], n) => `${pad}${n === 0 ? '- ' : '  '}${flowText(k)}: ${flowText(v)}`)
}

/** Append an item to a list: in its own style (`[a, b]` or one "- " line per item). */
function appendItem(text: string, seq: YAMLSeq, item: unknown, oneLine = false): string {
  if (seq.flow) {
    const last = seq.items.at(-1)
    const at = last ? range(last)[1] : text.indexOf('[', range(seq)[0]) + 1
    return text.slice(0, at) + (last ? ', ' : '') + flowText(item) + text.slice(at)
  }
  const last = seq.items.at(-1)!
  return insertLines(text, afterLine(text, range(last)[2]), blockItem(item, column(text, range(seq)[0]), oneLine))
}

/** Remove a list's item: its lines (block), or it and a comma (flow). Comments on lines of their own stay. */
function removeItem(text: string, seq: YAMLSeq, i: number): string {
  const item = range(seq.items[i])
  if (seq.flow) {
    const next = seq.items[i + 1]
    const prev = seq.items[i - 1]
    const [from, to] = next ? [item[0], range(next)[0]] : prev ? [range(prev)[1], item[1]] : [item[0], item[1]]
    return text.slice(0, from) + text.slice(to) // "[a, b]" without a is "[b]"; without b, "[a]"
  }
  const dash = text.lastIndexOf('-', item[0])
  return text.slice(0, lineStart(text, dash)) + text.slice(afterLine(text, item[2]))
}

/**
 * A node's pods: set to a list of these names (in place of a count, an empty value, or no key).
 * Block style in a block mapping (one "- " line each under pods:), flow ([a, b]) in a flow one.
 */
function setPods(text: string, node: YAMLMap, pods: unknown[]): string {
  const pair = node.items.find((p) => isScalar(p.key) && p.key.value === 'pods')
  const key = pair ? range(pair.key) : undefined
  const value = pair?.value as YamlNode | null | undefined
  if (node.flow) {
    const list = flowText(pods)
    if (value && isScalar(value) && value.value !== null) return text.slice(0, range(value)[0]) + list + text.slice(range(value)[1])
    if (key) {
      const colon = text.indexOf(':', key[1]) + 1
      return text.slice(0, colon) + ` ${list}` + text.slice(isScalar(value) ? range(value)[1] : colon)
    }
    const end = range(node.items.at(-1)!.value ?? node.items.at(-1)!.key)[1]
    return text.slice(0, end) + `, pods: ${list}` + text.slice(end)
  }
  if (!key) {
    const col = column(text, range(node)[0])
    return insertLines(text, afterLine(text, range(node)[2]), [
      `${' '.repeat(col)}pods:`,
      ...pods.flatMap((p) => blockItem(p, col + 2, true)),
    ])
  }
  // a count or nothing after "pods:": the value goes, the list follows on the lines after (a comment stays on its line)
  const col = column(text, key[0])
  const [from, to] = value && isScalar(value) ? [range(value)[0], range(value)[1]] : [key[1], key[1]]
  // nothing but a comment may stay after "pods:": no trailing blanks where the count was
  const [before, after] = [text.slice(0, from), text.slice(to)]
  const cut = /^[ \t]*\r?(\n|$)/.test(after) ? before.replace(/[ \t]+$/, '') + after.replace(/^[ \t]+/, '') : before + after
  const lines = pods.flatMap((p) => blockItem(p, col + 2, true))
  if (lines.length === 0) return text.slice(0, from) + (text[from - 1] === ' ' ? '' : ' ') + '[]' + text.slice(to)
  return insertLines(cut, afterLine(cut, from), lines)
}
