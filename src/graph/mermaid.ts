// Graph -> mermaid flowchart text (GitHub and many wikis draw it from a ```mermaid block). Pure.
// Mermaid ids must be plain words, so boxes are numbered; labels are quoted and escaped.
import {BOX, CLUSTER, drawnEdges, LINE, PLAIN_BOX, PLAIN_CLUSTER} from './style.js'
import type {Graph} from '../model/graph.js'

/** Text inside a quoted mermaid label: quotes and angle brackets as entities (<br/> is the only markup). */
function esc(s: string): string {
  return s.replace(/#/g, '#35;').replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;')
}

function label(lines: string[]): string {
  return `"${lines.map(esc).join('<br/>')}"`
}

function className(kind: string): string {
  return `k_${kind.replace(/[^a-zA-Z0-9]/g, '_')}`
}

export function toMermaid(g: Graph): string {
  const id = new Map<string, string>()
  const ref = (x: string) => {
    if (!id.has(x)) id.set(x, `n${id.size}`)
    return id.get(x)!
  }
  const out: string[] = ['---', `title: ${JSON.stringify(g.title)}`, '---', 'flowchart TB']
  if (g.notes.length > 0) out.push(`  notes[${label(g.notes)}]:::k_note`)
  const box = (n: Graph['nodes'][number], indent: string) => out.push(`${indent}${ref(n.id)}[${label(n.label)}]:::${className(n.kind)}`)
  g.clusters.forEach((c, i) => {
    out.push(`  subgraph c${i}[${label(c.label.length ? c.label : [' '])}]`)
    for (const n of g.nodes.filter((x) => x.cluster === c.id)) box(n, '    ')
    out.push('  end')
    out.push(`  style c${i} fill:${(CLUSTER[c.kind] ?? PLAIN_CLUSTER).fill},stroke:${(CLUSTER[c.kind] ?? PLAIN_CLUSTER).stroke}`)
  })
  for (const n of g.nodes.filter((x) => !x.cluster)) box(n, '  ')
  const styles: string[] = []
  drawnEdges(g.edges).forEach((e, i) => {
    const dotted = (LINE[e.kind]?.pattern ?? 'solid') !== 'solid'
    const arrow = dotted ? {none: '-.-', forward: '-.->', both: '<-.->'}[e.dir] : {none: '---', forward: '-->', both: '<-->'}[e.dir]
    out.push(`  ${ref(e.from)} ${arrow}${e.labels.length ? `|${label(e.labels)}|` : ''} ${ref(e.to)}`)
    const color = LINE[e.kind]?.color
    if (color) styles.push(`  linkStyle ${i} stroke:${color},color:${color}`)
  })
  out.push(...styles)
  for (const kind of new Set([...g.nodes.map((n) => n.kind), 'note'])) {
    const s = BOX[kind] ?? PLAIN_BOX
    out.push(`  classDef ${className(kind)} ` + `fill:${s.fill},stroke:${s.stroke}${kind === 'more' ? ',stroke-dasharray:4 3' : ''}`)
  }
  return out.join('\n') + '\n'
}
