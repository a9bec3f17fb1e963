// policy apply --namespace NS, without root: the file's policies are put in NS (one naming another
// namespace is an error at its position), the lab's other namespaces keep theirs unchanged, and
// the report says what was created, changed and deleted.
import {describe, expect, it} from 'vitest'
import {resolvePolicies} from '../../src/compile/policies.js'
import {modelWith} from '../../src/compile/model.js'
import {compilePolicyApply} from '../../src/compile/policy-apply.js'
import {policyDiff, specsInNamespace, withNamespacePolicies} from '../../src/compile/policy-scope.js'
import {allErrors} from '../../src/topology/errors.js'
import {parsePolicyFile} from '../../src/topology/parse.js'
import {model, topologyError} from '../helpers/model.js'

const LAB = `name: lab
namespaces: [{name: x}, {name: y}]
nodes:
  - name: n0
    pods: [{name: a, namespace: x, labels: {app: a}}, {name: b, namespace: x, labels: {app: b}}]
  - name: n1
    pods: [{name: a, namespace: y, labels: {app: a}}, {name: b, namespace: y, labels: {app: b}}]
policies:
  - {name: deny, namespace: x, podSelector: {}, ingress: []}
  - {name: deny, namespace: y, podSelector: {}, ingress: []}
  - {name: keep, namespace: y, podSelector: {matchLabels: {app: a}}, egress: []}
`

/** The lab's policies once FILE's replace those of NS (as planPolicyChange makes them). */
function applied(file: string, ns: string) {
  const lab = model(LAB)
  const fresh = resolvePolicies(specsInNamespace(parsePolicyFile(file, 'p.yaml'), ns), lab)
  return {lab, policies: withNamespacePolicies(lab.policies!, ns, fresh)}
}
const names = (ps: {name: string; namespace?: string}[]) => ps.map((p) => `${p.namespace ?? 'default'}/${p.name}`)

describe('policy apply --namespace', () => {
  it("replaces NS's policies only: a policy without namespace: is in NS, the others' stay as they were", () => {
    const {lab, policies} = applied('policies:\n  - {name: open-b, podSelector: {matchLabels: {app: b}}, ingress: [{}]}\n', 'x')
    expect(names(policies)).toEqual(['y/deny', 'y/keep', 'x/open-b'])
    expect(policies.slice(0, 2)).toEqual(lab.policies!.slice(1))
    expect(policies[2].pods).toEqual(['x/b'])
    // y's node gets its very table back (the old one is its undo); x's changes
    const plan = compilePolicyApply(lab, modelWith(lab, {policies}))
    const table = (node: string) => {
      const a = plan.actions.find((x) => x.netns === `netlab-lab.${node}`)!
      return {now: a.stdin, was: a.undo.kind === 'commands' ? a.undo.commands[0].stdin : undefined}
    }
    expect(table('n1').now).toBe(table('n1').was)
    expect(table('n0').now).not.toBe(table('n0').was)
    expect(table('n0').now).toContain('open-b ingress rule 1')
    expect(policyDiff(lab.policies!, policies)).toEqual({created: ['x/open-b'], changed: [], deleted: ['x/deny']})
  })

  it("an empty list deletes NS's policies; a policy naming NS itself is fine; a changed one is reported changed", () => {
    expect(names(applied('policies: []\n', 'y').policies)).toEqual(['x/deny'])
    expect(policyDiff(model(LAB).policies!, applied('policies: []\n', 'y').policies)).toEqual({
      created: [],
      changed: [],
      deleted: ['y/deny', 'y/keep'],
    })
    const file =
      'policies:\n  - {name: keep, namespace: y, podSelector: {matchLabels: {app: b}}, egress: []}\n  - {name: deny, podSelector: {}, ingress: []}\n'
    const {lab, policies} = applied(file, 'y')
    expect(names(policies)).toEqual(['x/deny', 'y/keep', 'y/deny'])
    expect(policyDiff(lab.policies!, policies)).toEqual({created: [], changed: ['y/keep'], deleted: []})
  })

  it('a policy of the file naming another namespace is an error at its namespace:, every one of them', () => {
    const file =
      'policies:\n  - name: ok\n    podSelector: {}\n  - name: other\n    namespace: y\n    podSelector: {}\n  - {name: third, namespace: default, podSelector: {}}\n'
    const error = topologyError(() => specsInNamespace(parsePolicyFile(file, 'p.yaml'), 'x'))
    expect(allErrors(error).map((e) => e.message)).toEqual([
      'p.yaml:5:16: policy other: namespace "y" is not x: with --namespace x, every policy of the file is in x',
      'p.yaml:7:30: policy third: namespace "default" is not x: with --namespace x, every policy of the file is in x',
    ])
  })
})
