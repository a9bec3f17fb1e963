// The Perl helpers a lab runs: `up` and `apply` check the same ones (their modules included)
// before anything is made.
import {NSEXEC} from '../exec/fanout.js'
import type {LabModel} from '../model/types.js'
import {CNI_CHAIN} from '../tools/cni.js'
import {EXEC_IN} from './bird.js'
import {WORKLOAD_SCRIPT} from './workload.js'

/** The runner, and the CNI chain, the workload and the BIRD starter where the lab has them. */
export function labPerlHelpers(model: LabModel, workload: boolean): string[] {
  return [NSEXEC, ...(model.cni ? [CNI_CHAIN] : []), ...(workload ? [WORKLOAD_SCRIPT] : []), ...(model.bgp ? [EXEC_IN] : [])]
}
