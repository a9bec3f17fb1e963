// Topology file -> model -> plan: the pure pipeline every command starts with.
import {existsSync, statSync} from 'node:fs'
import {resolve} from 'node:path'
import {bundledTopology} from '../core/paths.js'
import {buildModel} from '../compile/model.js'
import type {LabModel} from '../model/types.js'
import {compilePlan} from '../compile/plan.js'
import type {Plan} from '../core/actions.js'
import {loadTopologyText} from '../topology/parse.js'
import {ownerMark} from '../core/names.js'
import {stateRoot} from '../state/paths.js'
import {timed, type OnStep} from './steps.js'
import {cniEnvironment} from '../host/cni-env.js'
import type {TopologyWarning} from '../topology/errors.js'
import {plural} from '../core/plural.js'

export const DEFAULT_TOPOLOGY = 'topologies/three-node.yaml'

/**
 * `warnings`: what is valid but probably a mistake (a policy selector that matches no pod); commands print them.
 * `text`: the file as read, which `up` saves as the lab's topology.
 */
export function loadLab(file: string, onStep?: OnStep): {model: LabModel; plan: Plan; warnings: TopologyWarning[]; text: string} {
  const {topology, text} = timed(onStep, 'parse topology (YAML)', () => loadTopologyText(file))
  const warnings: TopologyWarning[] = []
  const model = timed(onStep, 'build model (addresses, names)', () =>
    buildModel(topology, {warnings, stateRoot: stateRoot(), cniEnv: cniEnvironment()}),
  )
  const plan = timed(
    onStep,
    'compile plan',
    () => compilePlan(model, {owner: ownerMark(model.lab, stateRoot())}),
    (p) => plural(p.actions.length, 'action'),
  )
  return {model, plan, warnings, text}
}

/** Warnings go to stderr, one line each, like errors: "file:line:column: warning: …". */
export function printWarnings(warnings: TopologyWarning[]): void {
  for (const w of warnings) process.stderr.write(`${w.message}\n`)
}

/**
 * The topology to use: a file as given, else one bundled with netlab by name ("fifty-node") or
 * by its path in the package ("topologies/three-node.yaml"), so it works from any directory.
 */
export function topologyPath(given: string | undefined, fallback = DEFAULT_TOPOLOGY): string {
  const wanted = given ?? fallback
  if (existsSync(wanted) && !statSync(wanted).isDirectory()) return resolve(wanted)
  return bundledTopology(wanted) ?? resolve(wanted)
}
