// netlab ls (and status --all): the table, one line per lab.
import {describe, expect, it} from 'vitest'
import {renderLabLines} from '../../src/lab/list.js'

describe('netlab ls: one line per lab', () => {
  it('a header and a line each, aligned; a lab whose saved state is damaged says what is wrong and what to do', () => {
    const text = renderLabLines([
      {
        lab: 'three-node',
        state: 'up',
        routing: 'host-gw',
        nodes: 3,
        pods: 5,
        namespaces: 10,
        missing: 0,
        topology: '/t/three-node.yaml',
        startedAt: '2020-01-02T03:04:05Z',
      },
      {
        lab: 'big',
        state: 'degraded',
        routing: 'routes',
        nodes: 50,
        pods: 500,
        namespaces: 552,
        missing: 2,
        topology: '/t/big.yaml',
        startedAt: '2020-01-02T03:04:05Z',
      },
      {lab: 'lost', state: 'damaged', reason: 'state.json is missing', remove: 'netlab down lost'},
    ])
    const lines = text.split('\n')
    expect(lines).toHaveLength(4)
    expect(lines[0]).toMatch(/^LAB +STATE +ROUTING +NODES +PODS +NAMESPACES +SINCE +TOPOLOGY$/)
    expect(lines[1]).toMatch(/^three-node +up +host-gw +3 +5 +10 +2020-01-02 +\/t\/three-node\.yaml$/)
    expect(lines[2]).toMatch(/^big +degraded +routes +50 +500 +550\/552 /)
    expect(lines[3]).toMatch(/^lost +damaged +- .*damaged: state\.json is missing; remove it with: netlab down lost$/)
    expect(lines[1].indexOf('host-gw')).toBe(lines[0].indexOf('ROUTING'))
  })

  it('no lab: says so', () => {
    expect(renderLabLines([])).toMatch(/^no lab is up/)
  })
})
