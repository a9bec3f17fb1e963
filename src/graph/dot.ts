// Graph -> Graphviz dot text. Pure. Each node's namespace is a cluster; cables shape the layout,
// routes are drawn across it (constraint=false) so the picture keeps the physical shape.
import {BOX, CLUSTER, drawnEdges, LINE, PLAIN_BOX, PLAIN_CLUSTER, PLAIN_LINE} from './style.js'
import type {Graph, GraphNode} from '../model/graph.js'

// Graphviz sizes boxes from the metrics of one named font (a list would fall back to Times, and
// the text would overflow its boxes). Verdana is the widest common sans; ./svg.ts gives the SVG
// fallbacks, all narrower, so the text fits wherever the picture is viewed.
export const FONT = 'Verdana'

/** Text inside a dot string: backslashes and quotes escaped (so a \\N or \\l in a name stays text). */
function esc(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, ' ')
}

function q(s: string): string {
  return `"${esc(s)}"`
}

/** A multi-line label: lines centred, or left-aligned (dot's \\l ends a left-aligned line). */
function lines(text: string[], align: 'center' | 'left' = 'center'): {raw: string} {
  return {raw: align === 'left' ? `"${text.map((l) => `${esc(l)}\\l`).join('')}"` : `"${text.map(esc).join('\\n')}"`}
}

function attrs(a: Record<string, string | number | boolean | {raw: string}>): string {
  return `[${Object.entries(a)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? v.raw : typeof v === 'string' ? q(v) : String(v)}`)
    .join(', ')}]`
}

function box(n: GraphNode): string {
  const s = BOX[n.kind] ?? PLAIN_BOX
  return `${q(n.id)} ${attrs({label: lines(n.label), shape: s.shape, fillcolor: s.fill, color: s.stroke, ...(n.kind === 'more' ? {style: 'rounded,filled,dashed'} : {})})}`
}

export function toDot(g: Graph): string {
  const out: string[] = []
  out.push(`digraph ${q(`netlab ${g.lab}`)} {`)
  // the title and the notes (what the routing mode does, what was left out) head the picture
  out.push(
    `  graph ${attrs({label: lines([g.title, ...g.notes.map((n) => `  ${n}`)], 'left'), labelloc: 't', labeljust: 'l', fontname: FONT, fontsize: 11, rankdir: 'TB', nodesep: 0.25, ranksep: 0.45, newrank: true})}`,
  )
  out.push(`  node ${attrs({fontname: FONT, fontsize: 10, shape: 'box', style: 'rounded,filled', margin: '0.12,0.05'})}`)
  out.push(`  edge ${attrs({fontname: FONT, fontsize: 9, arrowsize: 0.6})}`)
  for (const c of g.clusters) {
    const s = CLUSTER[c.kind] ?? PLAIN_CLUSTER
    out.push(`  subgraph ${q(`cluster_${c.id}`)} {`)
    out.push(
      `    graph ${attrs({label: lines(c.label), labeljust: 'l', fontsize: 11, style: 'rounded,filled', fillcolor: s.fill, color: s.stroke})}`,
    )
    for (const n of g.nodes.filter((x) => x.cluster === c.id)) out.push(`    ${box(n)}`)
    out.push('  }')
  }
  for (const n of g.nodes.filter((x) => !x.cluster)) out.push(`  ${box(n)}`)
  for (const e of drawnEdges(g.edges)) {
    const s = LINE[e.kind] ?? PLAIN_LINE
    out.push(
      `  ${q(e.from)} -> ${q(e.to)} ` +
        `${attrs({color: s.color, fontcolor: s.color, style: s.pattern, dir: e.dir, ...((e.layout ?? s.constraint) ? {} : {constraint: false}), ...(e.length !== 1 ? {minlen: e.length} : {}), ...(e.labels.length ? {label: lines(e.labels)} : {})})}`,
    )
  }
  out.push('}')
  return out.join('\n') + '\n'
}
