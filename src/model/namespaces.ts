// Kubernetes namespaces in a lab: every pod, policy and Service is in one, default unless it
// says another; each namespace carries kubernetes.io/metadata.name, its own name, as in
// Kubernetes. A lab without a namespaces: key has default alone.
import {DEFAULT_NAMESPACE} from '../core/names.js'
import {NAMESPACE_NAME_LABEL} from '../topology/policies.js'
import type {LabModel, NamespaceModel} from './types.js'

/** The lab's namespaces, default among them (first, when the topology did not list it). */
export function namespacesOf(model: Pick<LabModel, 'namespaces'>): NamespaceModel[] {
  const listed = model.namespaces ?? []
  if (listed.some((n) => n.name === DEFAULT_NAMESPACE)) return listed
  return [{name: DEFAULT_NAMESPACE, labels: {[NAMESPACE_NAME_LABEL]: DEFAULT_NAMESPACE}}, ...listed]
}

/** A namespace's model: its labels, its own name among them. */
export function namespaceModel(name: string, labels: Record<string, string>): NamespaceModel {
  return {name, labels: {...labels, [NAMESPACE_NAME_LABEL]: name}}
}

/** The namespace a pod, policy or Service is in. */
export function namespaceOf(x: {namespace?: string}): string {
  return x.namespace ?? DEFAULT_NAMESPACE
}
