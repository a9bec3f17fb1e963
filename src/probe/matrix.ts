// The reachability matrix of the policy section, in the form of Kubernetes' NetworkPolicy e2e
// suite (test/e2e/network/netpol, truthtable.go): per port and protocol probed, rows are the
// source pods, columns the destinations, "." reachable, "X" blocked. Built from the policy-ports
// check's pod → pod probes as they are judged (a big check keeps only its failures; the matrix
// keeps a bit per cell), so it holds whatever the report keeps. A cell where the kernel did not do
// what the policies say (src/model/verdict.ts) is marked. Pure.
import type {Probe, ProbeResult, ReachMatrix} from './types.js'

/** Labs up to this many pods get their matrices; above, a row no longer fits a screen and the violations list is the view. */
const MATRIX_MAX_PODS = 40

/** "x/a" before "x/b" before "y/a"; a pod of the default namespace (no "/") first: upstream's order, namespace by namespace. */
export function matrixOrder(a: string, b: string): number {
  const key = (n: string) => (n.includes('/') ? n : `/${n}`)
  const [ka, kb] = [key(a), key(b)]
  return ka < kb ? -1 : ka > kb ? 1 : 0
}

interface Cell {
  /** a reply came back (TCP: connected and answered; UDP: the datagram's echo came back) */
  reached: boolean
  /** what the policies say */
  allowed: boolean
}

/** A probe that is a cell of a matrix: pod → pod, of the policy-ports check, with the policies' verdict. */
const cellOf = (p: Probe) => p.check === 'policy-ports' && p.src.kind === 'pod' && p.dst.kind === 'pod' && p.policy !== undefined

/** Upstream's ("." / "X") value of one cell. */
const mark = (reached: boolean) => (reached ? '.' : 'X')

export class MatrixTally {
  /** "80/TCP" → "from\tto" → cell */
  private readonly cells = new Map<string, Map<string, Cell>>()
  private readonly services: {key: string; port: number; protocol: 'TCP' | 'UDP'}[] = []
  readonly pods: string[]

  /** `probes`: the run's; its pods are those of the policy-ports check's pod → pod probes (none: a lab without policies) */
  constructor(probes: readonly Probe[]) {
    const pods = new Set<string>()
    for (const p of probes) if (cellOf(p)) pods.add(p.src.name).add(p.dst.name)
    this.pods = pods.size <= MATRIX_MAX_PODS ? [...pods].sort(matrixOrder) : []
  }

  /** Take one judged probe: a pod → pod probe of the policy-ports check becomes a cell. */
  add(p: Probe, r: ProbeResult): void {
    if (this.pods.length === 0 || !cellOf(p) || p.port === undefined || p.tool === 'ping' || r.seen === 'not probed') return
    const protocol = p.tool === 'udp' ? 'UDP' : 'TCP'
    const key = `${p.port}/${protocol}`
    let cells = this.cells.get(key)
    if (!cells) {
      this.cells.set(key, (cells = new Map()))
      this.services.push({key, port: p.port, protocol})
    }
    cells.set(`${p.src.name}\t${p.dst.name}`, {reached: r.seen !== 'no reply', allowed: p.policy!.verdict === 'allowed'})
  }

  /** One matrix per port and protocol probed, TCP before UDP, by port. */
  matrices(): ReachMatrix[] {
    const order = (s: {port: number; protocol: string}) => (s.protocol === 'TCP' ? 0 : 1) * 65536 + s.port
    return [...this.services]
      .sort((a, b) => order(a) - order(b))
      .map(({key, port, protocol}) => {
        const cells = this.cells.get(key)!
        const table = (value: (c: Cell) => boolean) => [
          ['-', ...this.pods].join('\t'),
          ...this.pods.map((from) =>
            [from, ...this.pods.map((to) => ((c) => (c ? mark(value(c)) : '-'))(cells.get(`${from}\t${to}`)))].join('\t'),
          ),
        ]
        const differences: ReachMatrix['differences'] = []
        for (const from of this.pods)
          for (const to of this.pods) {
            const c = cells.get(`${from}\t${to}`)
            if (c && c.reached !== c.allowed) differences.push({from, to, kernel: c.reached ? 'reached' : 'blocked'})
          }
        return {port, protocol, pods: this.pods, observed: table((c) => c.reached), expected: table((c) => c.allowed), differences}
      })
  }
}

/**
 * A matrix as text: its heading, then upstream's table with the columns aligned, a cell the
 * kernel got wrong followed by "!" ("X!": blocked, though the policies allow it).
 */
export function renderMatrix(m: ReachMatrix): string[] {
  const wrong = new Set(m.differences.map((d) => `${d.from}\t${d.to}`))
  const width = Math.max(2, ...m.pods.map((p) => p.length)) + 1
  const rows = m.observed.map((line, i) => {
    const cells = line.split('\t')
    const from = cells[0]
    return cells
      .map((c, j) => (i > 0 && j > 0 && wrong.has(`${from}\t${m.pods[j - 1]}`) ? `${c}!` : c))
      .map((c, j) => (j === cells.length - 1 ? c : c.padEnd(width)))
      .join('')
  })
  const verdict =
    m.differences.length === 0
      ? 'every cell as the policies say'
      : `${m.differences.length} ${m.differences.length === 1 ? 'cell differs' : 'cells differ'} from what the policies say (!)`
  return [`${m.port}/${m.protocol}: ${verdict}`, ...rows]
}
