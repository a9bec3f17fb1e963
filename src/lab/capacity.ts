// The capacity preflight of `up`: what the lab needs (src/core/capacity.ts) against what this
// machine has left (src/host/capacity.ts); refused with the numbers (exit 2) before anything is made.
// netlab apply asks it of its change plan: what the change adds, against what the machine has left.
import type {Plan} from '../core/actions.js'
import {capacityMessage, capacityProblems, labNeeds} from '../core/capacity.js'
import {UsageError} from '../core/errors.js'
import {machineLimits} from '../host/capacity.js'
import {neighbourEntries, seedsNeighbours} from '../modes/neighbours.js'
import type {LabModel} from '../model/types.js'
import {workloadPorts} from './workload.js'
import {speakers} from './bird.js'

export function requireCapacity(model: LabModel, plan: Plan): void {
  const shape = model.mode.neighbourShape
  const sockets = workloadPorts(model).length
  const needs = labNeeds(plan, {
    // a lab that would learn many neighbours gets them as permanent entries, which the table does not count
    dynamicNeighbours: seedsNeighbours(model, shape) ? 0 : neighbourEntries(model, shape),
    workloadSockets: sockets,
    // the workload's one process, and routing bgp's BIRD per speaker
    processes: (sockets > 0 ? 1 : 0) + speakers(model).length,
  })
  const problems = capacityProblems(needs, machineLimits())
  if (problems.length > 0) throw new UsageError(capacityMessage(model.lab, problems))
}
