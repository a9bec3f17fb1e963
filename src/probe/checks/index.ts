// The registry of probe checks. A new check is a module in this folder, a line here and its id in
// CheckId (../types.ts): the compiler then names the line that is missing. The order of the lines
// is the report's (within its section: sections keep SECTIONS' order), and the order in which the
// checks' probes are planned. See "Adding a probe check" in docs/development.md.
import type {LabModel} from '../../model/types.js'
import type {CheckId, Section} from '../types.js'
import {bgpLearned} from './bgp-learned.js'
import {egressReach} from './egress-reach.js'
import {egressSource} from './egress-source.js'
import {noNatNodePod} from './no-nat-node-pod.js'
import {noNatPodPod} from './no-nat-pod-pod.js'
import {nodeOtherPod} from './node-other-pod.js'
import {nodeOwnPod} from './node-own-pod.js'
import {podInVpcSubnet} from './pod-in-vpc-subnet.js'
import {podNode} from './pod-node.js'
import {podOwnAddress} from './pod-own-address.js'
import {podPodOtherNode} from './pod-pod-other-node.js'
import {podPodSameNode} from './pod-pod-same-node.js'
import {podVpcReach} from './pod-vpc-reach.js'
import {podVpcSource} from './pod-vpc-source.js'
import {policyExternal} from './policy-external.js'
import {policyPorts} from './policy-ports.js'
import {selfAddress} from './self-address.js'
import {serviceAffinity} from './service-affinity.js'
import {serviceClusterIp} from './service-cluster-ip.js'
import {serviceHairpin} from './service-hairpin.js'
import {serviceNoEndpoints} from './service-no-endpoints.js'
import {serviceNodeClusterIp} from './service-node-cluster-ip.js'
import {serviceNodePortCluster} from './service-node-port-cluster.js'
import {serviceNodePortLocal} from './service-node-port-local.js'
import {serviceSpread} from './service-spread.js'
import type {ProbeCheck} from './types.js'
import {vpcPodReach} from './vpc-pod-reach.js'
import {vpcPodSource} from './vpc-pod-source.js'

/** Every CheckId, each with the module whose id it is. */
const REGISTRY: {readonly [K in CheckId]: ProbeCheck & {readonly id: K}} = {
  'pod-pod-same-node': podPodSameNode,
  'pod-pod-other-node': podPodOtherNode,
  'pod-own-address': podOwnAddress,
  'bgp-learned': bgpLearned,
  'node-own-pod': nodeOwnPod,
  'node-other-pod': nodeOtherPod,
  'pod-node': podNode,
  'no-nat-pod-pod': noNatPodPod,
  'no-nat-node-pod': noNatNodePod,
  'self-address': selfAddress,
  'vpc-pod-reach': vpcPodReach,
  'vpc-pod-source': vpcPodSource,
  'pod-vpc-reach': podVpcReach,
  'pod-vpc-source': podVpcSource,
  'pod-in-vpc-subnet': podInVpcSubnet,
  'egress-reach': egressReach,
  'egress-source': egressSource,
  'policy-ports': policyPorts,
  'policy-external': policyExternal,
  'service-cluster-ip': serviceClusterIp,
  'service-spread': serviceSpread,
  'service-hairpin': serviceHairpin,
  'service-node-cluster-ip': serviceNodeClusterIp,
  'service-node-port-cluster': serviceNodePortCluster,
  'service-node-port-local': serviceNodePortLocal,
  'service-affinity': serviceAffinity,
  'service-no-endpoints': serviceNoEndpoints,
}

/** Every check, in report order. */
export const CHECKS: readonly ProbeCheck[] = Object.values(REGISTRY)

export function checkOf(id: CheckId): ProbeCheck {
  return REGISTRY[id]
}

/** Why a check does not apply to this lab, or undefined when it does. */
export function notApplicable(model: LabModel, id: CheckId): string | undefined {
  return REGISTRY[id].notApplicable?.(model)
}

/** The checks of these sections judged from the addresses read in each pod, where they apply: a run reads the pods' addresses for them. */
export function addressChecks(model: LabModel, sections: readonly Section[]): ProbeCheck[] {
  return CHECKS.filter((c) => c.addresses && sections.includes(c.section) && !c.notApplicable?.(model))
}
