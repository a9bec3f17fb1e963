// `policy apply --namespace NS`: the file speaks for one namespace only. Its policies are put in
// NS (one naming another namespace is an error at its `namespace:`), and the lab's policies of the
// other namespaces are kept as they are; the result is the lab's whole new list, so the change
// goes through policy apply's one path (plan, journal, rollback). Pure.
import {policyLabel} from '../topology/policies.js'
import {throwAll, TopologyError} from '../topology/errors.js'
import type {PolicySpec} from '../topology/types.js'
import type {PolicyModel} from '../model/types.js'
import {namespaceOf} from '../model/namespaces.js'
import {canonical} from '../plan/undo-check.js'

/** The file's policies, each in NS: one without `namespace:` is put there; one naming another namespace is a TopologyError (all of them, with positions). */
export function specsInNamespace(specs: PolicySpec[], ns: string): PolicySpec[] {
  const errors = specs
    .filter((s) => s.namespace && s.namespace.value !== ns)
    .map(
      (s) =>
        new TopologyError(
          s.namespace!.pos,
          `policy ${s.name.value}: namespace "${s.namespace!.value}" is not ${ns}: with --namespace ${ns}, every policy of the file is in ${ns}`,
        ),
    )
  throwAll(errors)
  return specs.map((s) => ({...s, namespace: s.namespace ?? {value: ns, pos: s.name.pos}}))
}

/** The lab's policies with NS's replaced by `fresh` (all in NS): the other namespaces' stay, unchanged and in their order. */
export function withNamespacePolicies(old: PolicyModel[], ns: string, fresh: PolicyModel[]): PolicyModel[] {
  return [...old.filter((p) => namespaceOf(p) !== ns), ...fresh]
}

/** Which policies a change creates, changes and deletes, by name (NS/NAME outside default). */
export interface PolicyDiff {
  created: string[]
  changed: string[]
  deleted: string[]
}

export function policyDiff(before: PolicyModel[], after: PolicyModel[]): PolicyDiff {
  const key = (p: PolicyModel) => policyLabel(p.name, p.namespace)
  const was = new Map(before.map((p) => [key(p), canonical(p)]))
  const now = new Set(after.map(key))
  return {
    created: after.filter((p) => !was.has(key(p))).map(key),
    changed: after.filter((p) => was.has(key(p)) && was.get(key(p)) !== canonical(p)).map(key),
    deleted: before.map(key).filter((k) => !now.has(k)),
  }
}
