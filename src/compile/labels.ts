// `netlab label`: a running lab's labels change, as `kubectl label` changes a pod's or a
// namespace's. Pure: the edits as written (key=value sets, key- removes), and the model they lead
// to — the labels changed and every policy's pods selected again (reselect), so that the policy
// apply path (src/lab/policy.ts) rebuilds the rules of every node whose rules change.
// A Service's endpoints stay as `up` resolved them: kube-proxy's rules live in other tables,
// which that path does not rebuild.
import {labelsProblem} from './intent-check.js'
import {UsageError} from '../core/errors.js'
import {podName} from '../core/names.js'
import {labelKeyProblem, labelValueProblem, NAMESPACE_NAME_LABEL} from '../topology/policies.js'
import {namespacesOf} from '../model/namespaces.js'
import type {LabModel, NamespaceModel} from '../model/types.js'
import {modelWith} from './model.js'
import {reselect} from './policies.js'

/** key=value sets a label, key- removes it. */
export interface LabelEdit {
  key: string
  /** undefined: remove */
  value?: string
}

function parseLabelEdits(args: string[]): LabelEdit[] {
  if (args.length === 0) throw new UsageError('no label given: key=value sets one, key- removes it')
  const seen = new Set<string>()
  return args.map((arg) => {
    const eq = arg.indexOf('=')
    const edit: LabelEdit = eq >= 0 ? {key: arg.slice(0, eq), value: arg.slice(eq + 1)} : {key: arg.replace(/-$/, '')}
    if (eq < 0 && !arg.endsWith('-')) throw new UsageError(`"${arg}" is not a label change: key=value sets one, key- removes it`)
    const problem = labelKeyProblem(edit.key) ?? (edit.value === undefined ? undefined : labelValueProblem(edit.value))
    if (problem) throw new UsageError(`"${arg}": ${problem}`)
    if (seen.has(edit.key)) throw new UsageError(`label ${edit.key} is changed twice`)
    seen.add(edit.key)
    return edit
  })
}

function edited(labels: Record<string, string> | undefined, edits: LabelEdit[]): Record<string, string> {
  const out = {...labels}
  for (const e of edits) {
    if (e.value === undefined) delete out[e.key]
    else out[e.key] = e.value
  }
  return out
}

/** What a label command changes: a pod (its lab name, NS/NAME outside default) or a namespace. */
export type LabelTarget = {pod: string} | {namespace: string}

/**
 * The command line's words: POD then its edits, or (with --namespace and no pod) the namespace's
 * edits. A pod's name has no "=" and does not end in "-", so a first word that does is an edit.
 * `--namespace x a` is pod x/a, as kubectl's -n.
 */
export function labelCommand(words: string[], namespace: string | undefined): {target: LabelTarget; edits: LabelEdit[]} {
  const first = words[0] as string | undefined
  const pod = first !== undefined && !first.includes('=') && !first.endsWith('-') ? first : undefined
  if (pod === undefined) {
    if (namespace === undefined) throw new UsageError('say which pod: netlab label POD key=value … (or --namespace NS key=value …)')
    return {target: {namespace}, edits: parseLabelEdits(words)}
  }
  if (namespace !== undefined && pod.includes('/') && pod.split('/')[0] !== namespace)
    throw new UsageError(
      `pod ${pod} is not in namespace ${namespace} (--namespace ${namespace}); name it ${pod.split('/')[1]}, or leave --namespace out`,
    )
  const qualified = namespace === undefined || pod.includes('/') ? pod : podName(namespace, pod)
  return {target: {pod: qualified}, edits: parseLabelEdits(words.slice(1))}
}

/** The model with the target's labels edited and the policies' pods selected again. */
export function relabel(model: LabModel, target: LabelTarget, edits: LabelEdit[]): LabModel {
  if ('pod' in target) {
    if (!model.nodes.some((n) => n.pods.some((p) => p.name === target.pod))) {
      const pods = model.nodes.flatMap((n) => n.pods.map((p) => p.name))
      throw new UsageError(`lab ${model.lab} has no pod named "${target.pod}"; its pods: ${pods.slice(0, 20).join(', ')}`)
    }
    const nodes = model.nodes.map((n) => ({
      ...n,
      pods: n.pods.map((p) => {
        if (p.name !== target.pod) return p
        const {labels: _old, ...rest} = p
        const labels = edited(p.labels, edits)
        return Object.keys(labels).length > 0 ? {...rest, labels} : rest
      }),
    }))
    return withSelection(modelWith(model, {nodes}))
  }
  const all = namespacesOf(model)
  if (!all.some((n) => n.name === target.namespace))
    throw new UsageError(`lab ${model.lab} has no namespace "${target.namespace}"; its namespaces: ${all.map((n) => n.name).join(', ')}`)
  if (edits.some((e) => e.key === NAMESPACE_NAME_LABEL))
    throw new UsageError(`${NAMESPACE_NAME_LABEL} is a namespace's own name: it cannot be changed`)
  const namespaces = all.map((n) => (n.name === target.namespace ? {name: n.name, labels: edited(n.labels, edits)} : n))
  return withSelection(modelWith(model, {namespaces}))
}

function withSelection(model: LabModel): LabModel {
  return model.policies ? modelWith(model, {policies: reselect(model, model.policies)}) : model
}

/**
 * The labels of an interrupted change's intent (policy-plan.json, not trusted), on the lab's own
 * model: each pod's and namespace's labels, taken only for pods and namespaces the lab has and
 * only when they are maps of strings; the rest of the model stays the lab's. A reason when the
 * intent's labels cannot be used.
 */
export function labelsOfIntent(model: LabModel, intent: Record<string, unknown>): LabModel | string {
  const labels = new Map<string, Record<string, string> | undefined>()
  if (intent.nodes !== undefined) {
    if (!Array.isArray(intent.nodes)) return 'its intent has no list of nodes'
    for (const n of intent.nodes as {pods?: unknown}[]) {
      if (!Array.isArray(n?.pods)) return 'a node of its intent has no list of pods'
      for (const p of n.pods as {name?: unknown; labels?: unknown}[]) {
        if (typeof p?.name !== 'string' || (p.labels !== undefined && labelsProblem(p.labels))) return 'a pod of its intent is not one'
        labels.set(p.name, p.labels as Record<string, string> | undefined)
      }
    }
  }
  const pods = model.nodes.flatMap((n) => n.pods)
  if (intent.nodes !== undefined && (labels.size !== pods.length || pods.some((p) => !labels.has(p.name))))
    return 'its intent has other pods than the lab'
  let namespaces: NamespaceModel[] | undefined = model.namespaces
  if (intent.namespaces !== undefined) {
    const ns = intent.namespaces
    const known = namespacesOf(model).map((n) => n.name)
    // exactly the lab's namespaces, each with labels a topology could give
    const names = Array.isArray(ns) ? ns.map((n) => (n as {name?: unknown})?.name) : []
    if (!Array.isArray(ns) || names.length !== known.length || !known.every((k) => names.includes(k)))
      return 'its intent has other namespaces than the lab'
    if (!ns.every((n) => !labelsProblem(n?.labels))) return 'a namespace of its intent has labels a topology could not give'
    namespaces = (ns as NamespaceModel[]).map((n) => ({name: n.name, labels: {...n.labels, [NAMESPACE_NAME_LABEL]: n.name}}))
  }
  const nodes = model.nodes.map((n) => ({
    ...n,
    pods: n.pods.map((p) => {
      const {labels: _old, ...rest} = p
      const l = intent.nodes === undefined ? p.labels : labels.get(p.name)
      return l && Object.keys(l).length > 0 ? {...rest, labels: {...l}} : rest
    }),
  }))
  return modelWith(model, {nodes, ...(namespaces ? {namespaces} : {})})
}
