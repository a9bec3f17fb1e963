// A lab as a picture, before any drawing syntax: boxes, the namespaces that hold them, and the
// lines between them. Built from the model alone (src/graph/build.ts), rendered as dot, mermaid or SVG.

/** One box: a device of a node (eth0, cni0, an overlay device), a pod, a segment, a router, … */
export interface GraphNode {
  /** stable and unique in the graph (see ./graph-ids.ts) */
  id: string
  /** what it is: decides its look; kinds the renderers do not know get a plain box */
  kind: 'segment' | 'interface' | 'bridge' | 'overlay' | 'pod' | 'external' | 'router' | 'more' | 'note' | (string & {})
  /** lines of text, the name first */
  label: string[]
  /** the cluster it is drawn inside (a node's namespace, the fabric) */
  cluster?: string
}

/** A box around boxes: the namespace of a node (with its pods), or the fabric. */
export interface GraphCluster {
  id: string
  kind: 'fabric' | 'node' | (string & {})
  label: string[]
}

export interface GraphEdge {
  from: string
  to: string
  /** link: a cable (veth pair, bridge port); route: a route a routing mode installs; overlay: a tunnel; forward: the kernel routing between a node's devices */
  kind: 'link' | 'route' | 'overlay' | 'forward' | (string & {})
  label?: string
  /** drawn with an arrow (a route goes one way; a cable does not) */
  directed?: boolean
  /** does it shape the layout? default: by kind (cables do; routes drawn across the picture do not) */
  layout?: boolean
  /** how many layers apart its ends are drawn, at least (default 1): a router sits between the segments and the nodes */
  length?: number
}

export interface Graph {
  lab: string
  /** one line: lab, routing mode, pod range */
  title: string
  clusters: GraphCluster[]
  nodes: GraphNode[]
  edges: GraphEdge[]
  /** sentences drawn in a legend box: what the routing mode does, what was left out */
  notes: string[]
}

/**
 * What a routing mode adds to the picture (RoutingModeModule.graph): its routes as labelled
 * edges, devices it creates (a VXLAN device in each node's cluster), a note on how it works.
 * Edges whose ends are not drawn (nodes left out of a big lab's picture) are dropped.
 */
export interface GraphContribution {
  nodes?: GraphNode[]
  edges?: GraphEdge[]
  notes?: string[]
}
