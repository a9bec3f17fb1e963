// The topology parser: YAML text -> Topology, with defaults filled in and positions kept.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {TopologyError} from '../../src/topology/errors.js'
import {LIMITS, nameProblem} from '../../src/topology/names.js'
import {DEFAULT_CLUSTER, loadTopologyFile, parseTopology} from '../../src/topology/parse.js'
import {THREE_NODE} from '../helpers/constants.js'
import {topologyError} from '../helpers/model.js'

const parse = (text: string) => parseTopology(text, 'test.yaml')

const MINIMAL = 'name: lab\nnodes:\n  - name: node-0\n'

describe('cluster defaults', () => {
  const expectDefaults = (c: ReturnType<typeof parse>['cluster']) => {
    expect(c.podCIDR.value).toBe('10.244.0.0/16')
    expect(c.nodeSubnetSize.value).toBe(24)
    expect(c.underlay.map((u) => u.value)).toEqual(['192.168.50.0/24'])
    expect(c.routing.value).toBe('host-gw')
    expect(c.ipMasq.value).toBe(true)
  }

  it('are the documented ones', () => {
    expect(DEFAULT_CLUSTER).toEqual({
      podCIDR: '10.244.0.0/16',
      nodeSubnetSize: 24,
      underlay: '192.168.50.0/24',
      routing: 'host-gw',
      ipMasq: true,
      serviceCIDR: '10.96.0.0/12',
      proxy: 'iptables',
    })
  })

  it('fill in every key when there is no cluster section', () => {
    expectDefaults(parse(MINIMAL).cluster)
  })

  it('fill in every key when the cluster section is empty or null', () => {
    expectDefaults(parse('name: lab\ncluster:\nnodes:\n  - name: node-0\n').cluster)
    expectDefaults(parse('name: lab\ncluster: ~\nnodes:\n  - name: node-0\n').cluster)
    expectDefaults(parse('name: lab\ncluster: {}\nnodes:\n  - name: node-0\n').cluster)
  })

  it('fill in only the keys that are absent', () => {
    const c = parse('name: lab\ncluster:\n  podCIDR: 10.100.0.0/16\n  ipMasq: false\nnodes:\n  - name: node-0\n').cluster
    expect(c.podCIDR.value).toBe('10.100.0.0/16')
    expect(c.ipMasq.value).toBe(false)
    expect(c.nodeSubnetSize.value).toBe(24)
    expect(c.underlay.map((u) => u.value)).toEqual(['192.168.50.0/24'])
    expect(c.routing.value).toBe('host-gw')
  })

  it('keep the position of every value the user wrote', () => {
    const c = parse('name: lab\ncluster:\n  podCIDR: 10.100.0.0/16\n  nodeSubnetSize: 26\nnodes:\n  - name: node-0\n').cluster
    expect([c.podCIDR.pos.line, c.podCIDR.pos.col]).toEqual([3, 12])
    expect([c.nodeSubnetSize.pos.line, c.nodeSubnetSize.pos.col]).toEqual([4, 19])
  })
})

describe('lab and nodes', () => {
  it('reads the lab name and the nodes in order, with positions', () => {
    const t = parse('name: my-lab\nnodes:\n  - name: a\n  - name: b\n    ip: 192.168.50.99\n    podCIDR: 10.244.7.0/24\n')
    expect(t.file).toBe('test.yaml')
    expect(t.name.value).toBe('my-lab')
    expect(t.name.pos).toEqual({file: 'test.yaml', line: 1, col: 7})
    expect(t.nodes.map((n) => n.name.value)).toEqual(['a', 'b'])
    expect(t.nodes[0].ip).toBeUndefined()
    expect(t.nodes[0].podCIDR).toBeUndefined()
    expect(t.nodes[1].ip?.value).toBe('192.168.50.99')
    expect(t.nodes[1].podCIDR?.value).toBe('10.244.7.0/24')
    expect(t.nodes[1].name.pos).toMatchObject({line: 4, col: 11})
    expect(t.external).toEqual([])
  })

  it('accepts a Buffer, a byte-order mark and CRLF line ends', () => {
    const t = parseTopology(Buffer.from('\uFEFFname: lab\r\nnodes:\r\n  - name: node-0\r\n'), 'x.yaml')
    expect(t.name.value).toBe('lab')
    expect(t.name.pos).toMatchObject({line: 1, col: 7})
    expect(t.nodes[0].name.pos).toMatchObject({line: 3, col: 11})
  })
})

describe('pods', () => {
  const podsOf = (pods: string) => parse(`name: lab\nnodes:\n  - name: node-0\n    pods: ${pods}\n`).nodes[0]

  it('may be a list of names', () => {
    const n = podsOf('[web-0, web-1]')
    expect(n.pods.map((p) => p.name.value)).toEqual(['web-0', 'web-1'])
    expect(n.pods.every((p) => p.ip === undefined)).toBe(true)
    expect(n.pods[1].name.pos).toMatchObject({line: 4, col: 19})
  })

  it('may be a list of {name, ip} objects, mixed with names', () => {
    const t = parse(
      'name: lab\nnodes:\n  - name: node-0\n    pods:\n      - name: db\n        ip: 10.244.0.10\n      - cache\n      - {name: web}\n',
    )
    const pods = t.nodes[0].pods
    expect(pods.map((p) => p.name.value)).toEqual(['db', 'cache', 'web'])
    expect(pods[0].ip?.value).toBe('10.244.0.10')
    expect(pods[0].ip?.pos).toMatchObject({line: 6, col: 13})
    expect(pods[1].ip).toBeUndefined()
    expect(pods[2].ip).toBeUndefined()
  })

  it('may be a count: netlab names them <node>-p<k>', () => {
    const n = podsOf('3')
    expect(n.pods.map((p) => p.name.value)).toEqual(['node-0-p0', 'node-0-p1', 'node-0-p2'])
    expect(n.podsPos).toMatchObject({line: 4, col: 11})
  })

  it('may be absent, empty, zero or an empty list', () => {
    expect(parse(MINIMAL).nodes[0].pods).toEqual([])
    expect(podsOf('').pods).toEqual([])
    expect(podsOf('0').pods).toEqual([])
    expect(podsOf('[]').pods).toEqual([])
  })

  it('counts up to the limit are accepted; the limit is for the whole lab', () => {
    const big = `name: lab\ncluster:\n  nodeSubnetSize: 16\n  podCIDR: 10.0.0.0/8\nnodes:\n  - name: a\n    pods: ${LIMITS.pods}\n`
    expect(parse(big).nodes[0].pods).toHaveLength(LIMITS.pods)
    const tooMany = `name: lab\ncluster:\n  nodeSubnetSize: 16\n  podCIDR: 10.0.0.0/8\nnodes:\n  - name: a\n    pods: ${LIMITS.pods - 1}\n  - name: b\n    pods: 2\n`
    const e = topologyError(() => parse(tooMany))
    expect(e.pos).toMatchObject({line: 9, col: 11})
    expect(e.detail).toMatch(/too many pods/)
  })
})

describe('external hosts', () => {
  it('are read with and without an address', () => {
    const t = parse('name: lab\nnodes:\n  - name: node-0\nexternal:\n  - name: internet\n    ip: 203.0.113.10\n  - name: dns\n')
    expect(t.external.map((e) => e.name.value)).toEqual(['internet', 'dns'])
    expect(t.external[0].ip?.value).toBe('203.0.113.10')
    expect(t.external[0].ip?.pos).toMatchObject({line: 6, col: 9})
    expect(t.external[1].ip).toBeUndefined()
  })

  it('may be absent or empty', () => {
    expect(parse(MINIMAL).external).toEqual([])
    expect(parse(`${MINIMAL}external:\n`).external).toEqual([])
    expect(parse(`${MINIMAL}external: []\n`).external).toEqual([])
  })
})

describe('topologies/three-node.yaml', () => {
  it('parses into three nodes, four pods and one external host', () => {
    const t = loadTopologyFile(THREE_NODE)
    expect(t.name.value).toBe('three-node')
    expect(t.nodes.map((n) => n.name.value)).toEqual(['node-0', 'node-1', 'node-2'])
    expect(t.nodes.map((n) => n.pods.map((p) => p.name.value))).toEqual([['web-0', 'web-1'], ['db'], ['node-2-p0', 'node-2-p1']])
    expect(t.nodes[1].ip?.value).toBe('192.168.50.21')
    expect(t.nodes[1].podCIDR?.value).toBe('10.244.9.0/24')
    expect(t.nodes[1].pods[0].ip?.value).toBe('10.244.9.10')
    expect(t.external.map((e) => [e.name.value, e.ip?.value])).toEqual([['internet', '203.0.113.10']])
  })
})

describe('loadTopologyFile', () => {
  it('reports a missing file and a directory as TopologyErrors at 1:1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netlab-topology-'))
    try {
      const missing = topologyError(() => loadTopologyFile(join(dir, 'nope.yaml')))
      expect(missing.message).toBe(`${join(dir, 'nope.yaml')}:1:1: no such file`)
      const notFile = topologyError(() => loadTopologyFile(dir))
      expect(notFile.message).toBe(`${dir}:1:1: not a regular file`)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('reads a file it is given', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netlab-topology-'))
    try {
      const file = join(dir, 'lab.yaml')
      writeFileSync(file, MINIMAL)
      const t = loadTopologyFile(file)
      expect(t.file).toBe(file)
      expect(t.name.pos.file).toBe(file)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('TopologyError', () => {
  it('prints file:line:col: detail', () => {
    const e = new TopologyError({file: 'a.yaml', line: 3, col: 9}, 'something is wrong')
    expect(e.message).toBe('a.yaml:3:9: something is wrong')
    expect(e.detail).toBe('something is wrong')
    expect(e.name).toBe('TopologyError')
    expect(e).toBeInstanceOf(Error)
  })

  it('keeps the message on one line whatever the user wrote', () => {
    const e = new TopologyError({file: 'a.yaml', line: 1, col: 1}, 'name "x\ny\r\u001b[31m\u2028"')
    expect(e.message).toBe('a.yaml:1:1: name "x\\u000ay\\u000d\\u001b[31m\\u2028"')
    // eslint-disable-next-line no-control-regex -- an escape character must not reach the terminal
    expect(e.message).not.toMatch(/[\n\r\u001b\u2028]/)
  })

  it('is what the parser throws for a name with a newline that is also too long', () => {
    const e = topologyError(() => parse('name: "abcdefghijklmnopqrstuvwxyz\\nabc"\nnodes:\n  - name: node-0\n'))
    expect(e.message.split('\n')).toHaveLength(1)
    expect(e.detail).toMatch(/too long/)
  })
})

describe('nameProblem', () => {
  it('accepts lower-case letters, digits and inner dashes', () => {
    for (const name of ['a', 'node-0', '0node', 'a-b-c', 'x1']) expect(nameProblem('node', name, LIMITS.nodeName)).toBeUndefined()
    expect(nameProblem('lab', 'three-node', LIMITS.labName)).toBeUndefined()
  })

  it('requires a lab name to start with a letter', () => {
    expect(nameProblem('lab', '0lab', LIMITS.labName)).toMatch(/not allowed/)
  })

  it('rejects empty, too long and unsafe names', () => {
    expect(nameProblem('pod', '', LIMITS.podName)).toMatch(/empty/)
    expect(nameProblem('node', 'a'.repeat(LIMITS.nodeName), LIMITS.nodeName)).toBeUndefined()
    expect(nameProblem('node', 'a'.repeat(LIMITS.nodeName + 1), LIMITS.nodeName)).toMatch(/too long/)
    for (const name of ['-n', '--help', 'a-', 'A', 'a_b', 'a.b', 'a b', 'a/b', '../x', '$(x)', '`x`', 'a;b', 'é']) {
      expect(nameProblem('pod', name, LIMITS.podName), name).toMatch(/not allowed/)
    }
  })

  it('reserves names that clash with what netlab itself creates', () => {
    expect(nameProblem('node', 'fabric', LIMITS.nodeName)).toMatch(/reserved/)
    expect(nameProblem('pod', 'fabric', LIMITS.podName)).toMatch(/reserved/)
    expect(nameProblem('node', 'lo', LIMITS.nodeName)).toMatch(/reserved/)
    expect(nameProblem('external host', 'br0', LIMITS.externalName)).toMatch(/reserved/)
    // a pod's name is never an interface on the fabric
    expect(nameProblem('pod', 'lo', LIMITS.podName)).toBeUndefined()
    // the lab's own name is only a prefix
    expect(nameProblem('lab', 'fabric', LIMITS.labName)).toBeUndefined()
  })
})
