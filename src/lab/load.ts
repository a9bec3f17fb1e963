// Topology file -> model -> plan: the pure pipeline every command starts with.
import {buildModel} from '../model/build.js'
import type {LabModel} from '../model/types.js'
import {compilePlan} from '../plan/compile.js'
import type {Plan} from '../plan/types.js'
import {loadTopologyFile} from '../topology/parse.js'
import {ownerMark} from '../model/names.js'
import {stateRoot} from '../state/paths.js'

export const DEFAULT_TOPOLOGY = 'topologies/three-node.yaml'

export function loadLab(file: string): {model: LabModel; plan: Plan} {
  const model = buildModel(loadTopologyFile(file))
  return {model, plan: compilePlan(model, {owner: ownerMark(model.lab, stateRoot())})}
}
