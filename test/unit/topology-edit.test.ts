// The shortcuts' edits of a lab's topology text (src/topology/edit.ts): each edit does what it
// says to the topology (checked through the parser, as apply reads it), and nothing else to the
// text: comments, blank lines and layout stay byte for byte outside what changed.
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import fc from 'fast-check'
import {stringify} from 'yaml'
import {describe, expect, it} from 'vitest'
import {addNode, addPod, deleteNode, deletePod} from '../../src/topology/edit.js'
import {parseTopology} from '../../src/topology/parse.js'
import {UsageError} from '../../src/core/errors.js'
import {TOPOLOGIES} from '../helpers/constants.js'
import {propertySeed, validTopology, type TopologyDoc} from '../helpers/topologies.js'

const F = '<lab t topology>'

/** What a topology says, without positions: the part the edits change, and the rest, which they must keep. */
function view(text: string) {
  const t = parseTopology(text, F)
  return {
    name: t.name.value,
    cluster: JSON.stringify(t.cluster, (k, v: unknown) => (k === 'pos' || k === 'given' ? undefined : v)),
    nodes: t.nodes.map((n) => ({
      name: n.name.value,
      ip: n.ip?.value,
      podCIDR: n.podCIDR?.value,
      segment: n.segment?.value,
      pods: n.pods.map((p) => ({name: p.name.value, ip: p.ip?.value, labels: p.labels, namespace: p.namespace?.value})),
    })),
    external: t.external.map((e) => e.name.value),
    namespaces: t.namespaces?.map((n) => n.name.value),
    policies: t.policies?.length,
    services: t.services?.length,
  }
}
type View = ReturnType<typeof view>
type PodView = View['nodes'][number]['pods'][number]

const pod = (name: string, extra: Partial<PodView> = {}): PodView => ({
  name,
  ip: undefined,
  labels: undefined,
  namespace: undefined,
  ...extra,
})

/** The comments of a text, in order (what follows a " #" or starts a line with "#"). */
const comments = (text: string) => text.split('\n').flatMap((l) => /(^|\s)(#.*)$/.exec(l)?.[2] ?? [])

const usage = (f: () => unknown): string => {
  try {
    f()
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    return (error as Error).message
  }
  throw new Error('no error')
}

const COMMENTED = `# a lab to change
name: t                # the lab

cluster:
  routing: host-gw     # aligned comment

nodes:
  - name: a            # counted
    pods: 2            # two pods
  # b has names and objects
  - name: b
    pods:
      - b1             # plain
      - {name: b2, labels: {app: web}}   # an object

  - {name: c, pods: [c1, c2]}
  - name: d
    pods:
  - name: e            # no pods key

external:
  - name: internet     # the world
`

describe('pod add', () => {
  it('appends to a list of names, in its style, keeping every comment and the layout', () => {
    const out = addPod(COMMENTED, F, {node: 'b', name: 'b3'})
    expect(out).toBe(COMMENTED.replace('      - {name: b2, labels: {app: web}}   # an object\n', '$&      - b3\n'))
    expect(view(out).nodes[1].pods.map((p) => p.name)).toEqual(['b1', 'b2', 'b3'])
  })

  it('writes a pod with labels or a namespace as an object on one line, values quoted where YAML needs it', () => {
    const out = addPod(COMMENTED, F, {node: 'b', name: 'b3', labels: ['app=web', 'tier=2']})
    expect(out).toContain('      - {name: b3, labels: {app: web, tier: "2"}}\n')
    expect(view(out).nodes[1].pods[2]).toEqual(pod('b3', {labels: {app: 'web', tier: '2'}}))
    // a name YAML would read as something else is quoted
    expect(view(addPod(COMMENTED, F, {node: 'b', name: 'true'})).nodes[1].pods[2].name).toBe('true')
    expect(view(addPod(COMMENTED, F, {node: 'b', name: '123'})).nodes[1].pods[2].name).toBe('123')
  })

  it('turns a count into the names it implied, so the pods keep their names, then adds the new one', () => {
    const out = addPod(COMMENTED, F, {node: 'a', name: 'new'})
    expect(view(out).nodes[0].pods.map((p) => p.name)).toEqual(['a-p0', 'a-p1', 'new'])
    expect(out).toContain('    pods:             # two pods\n      - a-p0\n      - a-p1\n      - new\n  # b has')
    expect(comments(out)).toEqual(comments(COMMENTED))
  })

  it('adds to a flow list, an empty pods:, and a node without pods', () => {
    expect(addPod(COMMENTED, F, {node: 'c', name: 'c3', labels: ['x=y']})).toContain(
      '- {name: c, pods: [c1, c2, {name: c3, labels: {x: y}}]}\n',
    )
    expect(addPod(COMMENTED, F, {node: 'd', name: 'd1'})).toContain('  - name: d\n    pods:\n      - d1\n  - name: e')
    const e = addPod(COMMENTED, F, {node: 'e', name: 'e1'})
    expect(e).toContain('  - name: e            # no pods key\n    pods:\n      - e1\n\nexternal:')
    for (const [node, text] of [
      ['c', 'c3'],
      ['d', 'd1'],
      ['e', 'e1'],
    ]) {
      const v = view(addPod(COMMENTED, F, {node, name: text}))
      expect(v.nodes.find((n) => n.name === node)!.pods.at(-1)!.name).toBe(text)
    }
    expect(addPod('name: t\nnodes: [{name: a}]\n', F, {node: 'a', name: 'p'})).toBe('name: t\nnodes: [{name: a, pods: [p]}]\n')
    expect(addPod('name: t\nnodes: [{name: a, pods: 1}]\n', F, {node: 'a', name: 'p'})).toBe(
      'name: t\nnodes: [{name: a, pods: [a-p0, p]}]\n',
    )
    // no blanks left where the count was
    expect(addPod('name: t\nnodes:\n  - name: a\n    pods: 1\n', F, {node: 'a', name: 'p'})).toBe(
      'name: t\nnodes:\n  - name: a\n    pods:\n      - a-p0\n      - p\n',
    )
  })

  it('puts a pod in a namespace: NS/NAME or --namespace, only a namespace the topology lists', () => {
    const base = COMMENTED.replace('\nnodes:', '\nnamespaces:\n  - name: x\n\nnodes:')
    const a = view(addPod(base, F, {node: 'b', name: 'x/p'}))
    const b = view(addPod(base, F, {node: 'b', name: 'p', namespace: 'x'}))
    expect(a.nodes[1].pods[2]).toEqual(pod('x/p', {namespace: 'x'}))
    expect(b).toEqual(a)
    // default is no namespace at all; the same name in another namespace is another pod
    expect(view(addPod(base, F, {node: 'b', name: 'default/p'})).nodes[1].pods[2]).toEqual(pod('p'))
    expect(view(addPod(base, F, {node: 'b', name: 'x/b1'})).nodes[1].pods[2].name).toBe('x/b1')
    expect(usage(() => addPod(base, F, {node: 'b', name: 'y/p'}))).toBe(
      "namespace y is not in the topology's namespaces: (x); add it there first and run netlab apply",
    )
    expect(usage(() => addPod(COMMENTED, F, {node: 'b', name: 'x/p'}))).toContain("namespace x is not in the topology's namespaces: (none)")
    expect(usage(() => addPod(base, F, {node: 'b', name: 'x/p', namespace: 'y'}))).toContain('pod x/p is not in namespace y')
  })

  it('refuses what the lab cannot take, saying what is wrong', () => {
    expect(usage(() => addPod(COMMENTED, F, {node: 'z', name: 'p'}))).toBe('the topology has no node named "z" (its nodes: a, b, c, d, e)')
    expect(usage(() => addPod(COMMENTED, F, {node: 'a', name: 'b1'}))).toBe('the name b1 is taken: it is a pod on node b')
    expect(usage(() => addPod(COMMENTED, F, {node: 'a', name: 'a-p1'}))).toBe('the name a-p1 is taken: it is a pod on node a')
    expect(usage(() => addPod(COMMENTED, F, {node: 'a', name: 'c'}))).toBe('the name c is taken: it is a node')
    expect(usage(() => addPod(COMMENTED, F, {node: 'a', name: 'internet'}))).toBe('the name internet is taken: it is an external host')
    expect(usage(() => addPod(COMMENTED, F, {node: 'a', name: 'Bad_Name'}))).toContain('pod name "Bad_Name" is not allowed')
    expect(usage(() => addPod(COMMENTED, F, {node: 'a', name: 'p', labels: ['app']}))).toBe('--label app: a label is key=value')
    expect(usage(() => addPod(COMMENTED, F, {node: 'a', name: 'p', labels: ['a=1', 'a=2']}))).toBe('--label a is given twice')
    expect(usage(() => addPod(COMMENTED, F, {node: 'a', name: 'p', labels: ['a=b c']}))).toContain('label value "b c" is not allowed')
  })
})

describe('any edit', () => {
  it('works on a text with a byte-order mark (the offsets are past it) and with CRLF line ends', () => {
    expect(addPod(`\uFEFF${COMMENTED}`, F, {node: 'b', name: 'b3'})).toBe(addPod(COMMENTED, F, {node: 'b', name: 'b3'}))
    const crlf = COMMENTED.replace(/\n/g, '\r\n')
    for (const out of [addPod(crlf, F, {node: 'a', name: 'new'}), deleteNode(crlf, F, 'b'), addNode(crlf, F, {name: 'f', pods: 1})]) {
      expect(out.replace(/\r\n/g, '')).not.toContain('\n')
      expect(view(out)).toEqual(view(out.replace(/\r\n/g, '\n')))
    }
  })

  it("starts from a valid topology: a saved text that is not one is the parser's error, with its position", () => {
    expect(() => addPod('name: t\nnodes: 3\n', F, {node: 'a', name: 'p'})).toThrow(`${F}:2:8: nodes must be a non-empty list`)
  })
})

describe('pod delete', () => {
  it("removes a pod's line, and nothing else", () => {
    expect(deletePod(COMMENTED, F, 'b1')).toBe(COMMENTED.replace('      - b1             # plain\n', ''))
    expect(deletePod(COMMENTED, F, 'b2')).toBe(COMMENTED.replace('      - {name: b2, labels: {app: web}}   # an object\n', ''))
    expect(deletePod(COMMENTED, F, 'c1')).toContain('- {name: c, pods: [c2]}')
    expect(deletePod(COMMENTED, F, 'c2')).toContain('- {name: c, pods: [c1]}')
    expect(deletePod(deletePod(COMMENTED, F, 'c2'), F, 'c1')).toContain('- {name: c, pods: []}')
  })

  it('turns a count into the names it implied, without the one deleted (the others keep their names)', () => {
    const out = deletePod(COMMENTED, F, 'a-p0')
    expect(view(out).nodes[0].pods.map((p) => p.name)).toEqual(['a-p1'])
    expect(comments(out)).toEqual(comments(COMMENTED))
    expect(view(deletePod(out, F, 'a-p1')).nodes[0].pods).toEqual([])
    expect(deletePod('name: t\nnodes:\n  - name: a\n    pods: 1\n', F, 'a-p0')).toBe('name: t\nnodes:\n  - name: a\n    pods: []\n')
  })

  it('finds a pod of another namespace by NS/NAME or --namespace', () => {
    const base = 'name: t\nnamespaces: [{name: x}]\nnodes:\n  - name: a\n    pods: [p, {name: p, namespace: x}]\n'
    expect(deletePod(base, F, 'x/p')).toContain('pods: [p]')
    expect(deletePod(base, F, 'p', 'x')).toContain('pods: [p]')
    expect(deletePod(base, F, 'p')).toContain('pods: [{name: p, namespace: x}]')
    expect(deletePod(base, F, 'default/p')).toContain('pods: [{name: p, namespace: x}]')
  })

  it('refuses a pod the topology does not have', () => {
    expect(usage(() => deletePod(COMMENTED, F, 'zz'))).toBe('the topology has no pod named zz (its pods: a-p0, a-p1, b1, b2, c1, c2)')
    expect(usage(() => deletePod(COMMENTED, F, 'x/b1'))).toContain('no pod named x/b1')
  })
})

describe('node add and delete', () => {
  it('appends a node (with a count of pods when asked) in the list’s style', () => {
    const out = addNode(COMMENTED, F, {name: 'f', pods: 3})
    expect(out).toBe(COMMENTED.replace('  - name: e            # no pods key\n', '$&  - name: f\n    pods: 3\n'))
    expect(view(out).nodes.at(-1)).toEqual({
      name: 'f',
      ip: undefined,
      podCIDR: undefined,
      segment: undefined,
      pods: ['f-p0', 'f-p1', 'f-p2'].map((n) => pod(n)),
    })
    expect(addNode(COMMENTED, F, {name: 'f'})).toContain('  - name: e            # no pods key\n  - name: f\n\nexternal:')
    expect(addNode('name: t\nnodes: [{name: a}]', F, {name: 'b', pods: 0})).toBe('name: t\nnodes: [{name: a}, {name: b, pods: 0}]')
    expect(addNode('name: t\nnodes:\n- name: a', F, {name: 'b'})).toBe('name: t\nnodes:\n- name: a\n- name: b\n')
  })

  it('refuses a name that is taken, by the node or by the pods it would have', () => {
    expect(usage(() => addNode(COMMENTED, F, {name: 'b'}))).toBe('the name b is taken: it is a node')
    expect(usage(() => addNode(COMMENTED, F, {name: 'b1'}))).toBe('the name b1 is taken: it is a pod on node b')
    expect(usage(() => addNode(COMMENTED, F, {name: 'a', pods: 1}))).toBe('the name a is taken: it is a node')
    const withPod = addPod(COMMENTED, F, {node: 'b', name: 'f-p1'})
    expect(usage(() => addNode(withPod, F, {name: 'f', pods: 2}))).toBe('the name f-p1 is taken: it is a pod on node b')
    expect(usage(() => addNode(COMMENTED, F, {name: 'fabric'}))).toContain('reserved')
  })

  it("deletes a node's lines (its pods with it), and keeps a lab's last node", () => {
    const out = deleteNode(COMMENTED, F, 'b')
    expect(out).toBe(COMMENTED.replace(/ {2}- name: b\n(.*\n){3}/, ''))
    expect(view(out).nodes.map((n) => n.name)).toEqual(['a', 'c', 'd', 'e'])
    expect(deleteNode(COMMENTED, F, 'c')).toBe(COMMENTED.replace('  - {name: c, pods: [c1, c2]}\n', ''))
    expect(deleteNode('name: t\nnodes: [{name: a}, {name: b}]\n', F, 'b')).toBe('name: t\nnodes: [{name: a}]\n')
    expect(usage(() => deleteNode('name: t\nnodes: [{name: a}]\n', F, 'a'))).toBe(
      "node a is the lab's only node: a topology needs one (netlab down removes the whole lab)",
    )
    expect(usage(() => deleteNode(COMMENTED, F, 'z'))).toContain('the topology has no node named "z"')
  })
})

describe('on every bundled topology', () => {
  const files = readdirSync(TOPOLOGIES).filter((f) => f.endsWith('.yaml'))
  it.each(files)('%s: each edit changes what it says and keeps every other comment', (f) => {
    const text = readFileSync(join(TOPOLOGIES, f), 'utf8')
    const before = view(text)
    const first = before.nodes[0].name
    const added = view(addPod(text, f, {node: first, name: 'zz-new', labels: ['app=zz']}))
    const expected = structuredClone(before)
    expected.nodes[0].pods.push(pod('zz-new', {labels: {app: 'zz'}}))
    expect(added).toEqual(expected)
    expect(comments(addPod(text, f, {node: first, name: 'zz-new'}))).toEqual(comments(text))
    expect(comments(addNode(text, f, {name: 'zz-node', pods: 2}))).toEqual(comments(text))
    const victim = before.nodes.flatMap((n) => n.pods)[0]
    if (victim) {
      const gone = structuredClone(before)
      for (const n of gone.nodes) n.pods = n.pods.filter((p) => p.name !== victim.name)
      expect(view(deletePod(text, f, victim.name))).toEqual(gone)
    }
    if (before.nodes.length > 1) {
      const last = before.nodes.at(-1)!.name
      expect(view(deleteNode(text, f, last))).toEqual({...before, nodes: before.nodes.slice(0, -1)})
    }
  })
})

// Random valid topologies (test/helpers/topologies.ts: counts, names, objects, empty forms, fixed
// addresses), written block or flow, and a random edit: the topology the parser reads afterwards
// is the one before with exactly that change.
describe('property: an edit changes exactly what it says', () => {
  type Edit = {op: 'add-pod' | 'delete-pod' | 'add-node' | 'delete-node'; at: number; pods: number; labels: boolean}
  const edit = fc.record({
    op: fc.constantFrom('add-pod' as const, 'delete-pod' as const, 'add-node' as const, 'delete-node' as const),
    at: fc.nat(),
    pods: fc.integer({min: 0, max: 3}),
    labels: fc.boolean(),
  })

  /** The edit `e` on `text`, checked against the view changed by hand; its result, for the next edit. */
  function expectEdit(text: string, e: Edit, tag: string): string {
    const before = view(text)
    const want = structuredClone(before)
    const nodes = before.nodes
    const pods = nodes.flatMap((n) => n.pods.map((p) => p.name))
    let out: string
    if (e.op === 'add-pod') {
      const k = e.at % nodes.length
      out = addPod(text, F, {node: nodes[k].name, name: `zz-${tag}`, labels: e.labels ? ['app=zz'] : []})
      want.nodes[k].pods.push(pod(`zz-${tag}`, e.labels ? {labels: {app: 'zz'}} : {}))
    } else if (e.op === 'delete-pod' && pods.length > 0) {
      const name = pods[e.at % pods.length]
      out = deletePod(text, F, name)
      for (const n of want.nodes) n.pods = n.pods.filter((p) => p.name !== name)
    } else if (e.op === 'delete-node' && nodes.length > 1) {
      const k = e.at % nodes.length
      out = deleteNode(text, F, nodes[k].name)
      want.nodes.splice(k, 1)
    } else {
      out = addNode(text, F, {name: `zz-node-${tag}`, pods: e.pods})
      const names = Array.from({length: e.pods}, (_, j) => pod(`zz-node-${tag}-p${j}`))
      want.nodes.push({name: `zz-node-${tag}`, ip: undefined, podCIDR: undefined, segment: undefined, pods: names})
    }
    expect(view(out)).toEqual(want)
    // an addition keeps every comment; a deletion only loses those on the lines it removed
    if (e.op.startsWith('add')) expect(comments(out)).toEqual(comments(text))
    else expect(isSubsequence(comments(out), comments(text))).toBe(true)
    return out
  }

  const isSubsequence = (xs: string[], of: string[]) => {
    let i = 0
    for (const x of of) if (x === xs[i]) i++
    return i === xs.length
  }

  /** The text with a comment at the end of every line and one on a line of its own before every third (where YAML takes them). */
  function commented(text: string): string {
    const out = text
      .split('\n')
      .map((l, i) => (l === '' ? l : `${i % 3 === 0 ? `# own ${i}\n` : ''}${l} # c${i}`))
      .join('\n')
    try {
      parseTopology(out, F)
      return out
    } catch {
      return text // a comment where YAML takes none (inside a folded flow line): the text as it was
    }
  }

  it('block and flow style, with comments, three edits in a row (each on the text the one before left)', () => {
    const arb = fc.tuple(validTopology('t'), fc.boolean(), fc.array(edit, {minLength: 1, maxLength: 3}))
    fc.assert(
      fc.property(arb, ([t, flow, edits]: [TopologyDoc, boolean, Edit[]]) => {
        const plain = stringify(t, flow ? {collectionStyle: 'flow'} : {})
        let text = commented(plain)
        expect(view(text)).toEqual(view(plain))
        edits.forEach((e, k) => (text = expectEdit(text, e, String(k))))
      }),
      {numRuns: 300, seed: propertySeed(25)},
    )
  })
})
