// What the vpc section's checks share: whether there is a VPC host to probe with, whether it
// reaches pods, and what the pods' probes to it must see.
import {type LabModel, vpcReachesPods} from '../../model/types.js'
import type {Expectation, Probe} from '../types.js'

/** The probed checks of the vpc section need a VPC host. */
export function noVpcHost(model: LabModel): string | undefined {
  return model.external.some((e) => e.vpc) ? undefined : 'the topology has no VPC host (an external entry with vpc: true)'
}

/** VPC host → pod needs a VPC host, and a VPC that knows pod addresses. */
export function vpcToPodNotApplicable(model: LabModel): string | undefined {
  const none = noVpcHost(model)
  if (none || vpcReachesPods(model)) return none
  return (
    `routing ${model.routing}: the VPC knows no pod address, so a VPC host has no way to a pod ` +
    `(its default route, the VPC router, has none); it reaches the nodes only`
  )
}

/** What a pod → VPC host HTTP echo must see (the first such probe's); undefined when none runs. */
export function podToVpcExpectation(probes: readonly Probe[]): Expectation | undefined {
  return probes.find((p) => p.check === 'pod-vpc-source')?.expect
}
