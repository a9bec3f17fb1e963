import type {GraphEdge} from '../model/graph.js'

// How each kind of box and line looks, shared by the dot and mermaid renderers so the two
// pictures agree. Kinds not listed here (a new mode's) get the plain look.
export interface BoxStyle {
  fill: string
  stroke: string
  /** dot shape */
  shape: string
}

export const BOX: Record<string, BoxStyle> = {
  segment: {fill: '#dbe9f6', stroke: '#3b6ea5', shape: 'box'},
  interface: {fill: '#ffffff', stroke: '#555555', shape: 'box'},
  bridge: {fill: '#fff4c2', stroke: '#a08000', shape: 'box'},
  overlay: {fill: '#eadcf5', stroke: '#7a3fa0', shape: 'box'},
  pod: {fill: '#dff2dc', stroke: '#3f8a3a', shape: 'box'},
  external: {fill: '#eeeeee', stroke: '#666666', shape: 'box'},
  router: {fill: '#fde2cf', stroke: '#c0602a', shape: 'box'},
  more: {fill: '#ffffff', stroke: '#999999', shape: 'box'},
  service: {fill: '#e3f4f4', stroke: '#2a8a8a', shape: 'box'},
  note: {fill: '#fafafa', stroke: '#bbbbbb', shape: 'note'},
}
export const PLAIN_BOX: BoxStyle = {fill: '#ffffff', stroke: '#555555', shape: 'box'}

export interface LineStyle {
  color: string
  /** solid, dashed or dotted */
  pattern: 'solid' | 'dashed' | 'dotted'
  /** does it shape the layout (cables do; routes drawn across the picture do not) */
  constraint: boolean
}

export const LINE: Record<string, LineStyle> = {
  link: {color: '#555555', pattern: 'solid', constraint: true},
  forward: {color: '#999999', pattern: 'dotted', constraint: true},
  route: {color: '#1f5fbf', pattern: 'dashed', constraint: false},
  overlay: {color: '#7a3fa0', pattern: 'dashed', constraint: false},
  // the VPC handing a pod address to the node that holds it (aws-vpc, vpc-native)
  delivery: {color: '#3b6ea5', pattern: 'dashed', constraint: false},
  // a Service's ClusterIP to one of its endpoints (kube-proxy's DNAT, in every node)
  endpoint: {color: '#2a8a8a', pattern: 'dashed', constraint: false},
}
export const PLAIN_LINE: LineStyle = {color: '#555555', pattern: 'solid', constraint: false}

export const CLUSTER: Record<string, {fill: string; stroke: string}> = {
  fabric: {fill: '#f3f7fb', stroke: '#3b6ea5'},
  node: {fill: '#f7f7f7', stroke: '#888888'},
  more: {fill: '#ffffff', stroke: '#ffffff'},
}
export const PLAIN_CLUSTER = {fill: '#ffffff', stroke: '#888888'}

/** A line as drawn: opposite arrows of one kind between the same two boxes become one line. */
export interface DrawnEdge {
  from: string
  to: string
  kind: string
  dir: 'none' | 'forward' | 'both'
  labels: string[]
  length: number
  layout?: boolean
}

/**
 * Two routes in opposite directions between the same boxes (node-0 to node-1 and back) are
 * drawn as one line with arrows at both ends and both labels: each label names its next hop
 * ("… via 192.168.50.21"), so it still says which way it goes, and the two never overlap.
 */
export function drawnEdges(edges: GraphEdge[]): DrawnEdge[] {
  const out: DrawnEdge[] = []
  const index = new Map<string, DrawnEdge>()
  for (const e of edges) {
    const reverse = e.directed ? index.get(`${e.kind}\0${e.to}\0${e.from}`) : undefined
    if (reverse && reverse.dir === 'forward') {
      reverse.dir = 'both'
      if (e.label) reverse.labels.push(e.label)
      if (e.layout !== undefined) reverse.layout = reverse.layout || e.layout
      continue
    }
    const d: DrawnEdge = {
      from: e.from,
      to: e.to,
      kind: e.kind,
      dir: e.directed ? 'forward' : 'none',
      labels: e.label ? [e.label] : [],
      length: e.length ?? 1,
      ...(e.layout !== undefined ? {layout: e.layout} : {}),
    }
    if (e.directed) index.set(`${e.kind}\0${e.from}\0${e.to}`, d)
    out.push(d)
  }
  return out
}
