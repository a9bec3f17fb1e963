// SCTP in a policy, on a kernel without SCTP: accepted (Kubernetes' e2e cases "should not
// mistakenly treat 'protocol: SCTP' as 'protocol: TCP'" and "should properly isolate pods that are
// selected by a policy allowing SCTP", which apply to plugins without SCTP). Such a port allows
// nothing — no TCP, no UDP — and the pods the policy selects stay isolated; a warning says so.
import {describe, expect, it} from 'vitest'
import {compilePlan} from '../../src/compile/plan.js'
import {decide, type FlowEnd} from '../../src/model/verdict.js'
import type {TopologyWarning} from '../../src/topology/errors.js'
import {model} from '../helpers/model.js'

const lab = (ports: string) => `name: lab
namespaces: [{name: x}]
nodes:
  - name: node-0
    pods:
      - {namespace: x, name: a, labels: {pod: a}}
      - {namespace: x, name: b, labels: {pod: b}}
policies:
  - name: allow-sctp
    namespace: x
    podSelector: {matchLabels: {pod: a}}
    policyTypes: [Ingress]
    ingress:
      - ports: ${ports}
`

describe('SCTP in a policy', () => {
  const warnings: TopologyWarning[] = []
  const m = model(lab('[{protocol: SCTP, port: 81}]'), {warnings})
  const pod = (name: string): FlowEnd => {
    const p = m.nodes[0].pods.find((x) => x.name === name)!
    return {kind: 'pod', name, ip: p.ip, node: p.node}
  }

  it('is accepted, with a warning at the protocol that it allows nothing here', () => {
    expect(m.policies![0].ingress).toEqual([{ports: [{protocol: 'SCTP', port: 81}]}])
    expect(warnings.map((w) => w.message)).toEqual([
      "test.yaml:14:28: warning: policy x/allow-sctp: ingress[0].ports[0]: SCTP: netlab's rules carry no SCTP (this kernel has none): " +
        'this port allows nothing, and the pods the policy selects stay isolated',
    ])
  })

  it('opens neither TCP nor UDP on its port, and the selected pod stays isolated', () => {
    for (const protocol of ['TCP', 'UDP'] as const)
      expect(decide(m, {src: pod('x/b'), dst: pod('x/a'), protocol, port: 81}).allowed).toBe(false)
    expect(decide(m, {src: pod('x/a'), dst: pod('x/b'), protocol: 'TCP', port: 81}).allowed).toBe(true)
  })

  it('compiles to no RETURN rule: the chain of the isolated pod rejects everything', () => {
    const rules = compilePlan(m)
      .actions.filter((a) => a.tool === 'iptables' && a.args[1]?.startsWith('NETLAB-IN-'))
      .map((a) => a.args.join(' '))
    expect(rules.some((r) => r.includes('RETURN'))).toBe(false)
    expect(rules.some((r) => r.includes('REJECT'))).toBe(true)
    // beside a TCP port in the same rule, only the TCP port opens
    const both = model(lab('[{protocol: SCTP, port: 81}, {protocol: TCP, port: 81}]'))
    const returns = compilePlan(both)
      .actions.filter((a) => a.tool === 'iptables' && a.args.includes('RETURN') && a.args[1]?.startsWith('NETLAB-IN-'))
      .map((a) => a.args.join(' '))
    expect(returns).toHaveLength(1)
    expect(returns[0]).toContain('-p tcp --dport 81')
  })
})
