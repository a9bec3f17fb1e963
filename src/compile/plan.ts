// LabModel -> Plan. Pure. The order of phases is the order of a good tutorial: make the
// machines, cable them, address them, route between them, then open the firewall and NAT.
// Each phase is a function of its own (in the files imported below); what differs between
// routing modes is asked of the lab's mode (src/modes) inside them, and the default pod wiring
// is in src/modes/bridge.ts.
import {ownerMark} from '../core/names.js'
import type {Plan} from '../core/actions.js'
import type {LabModel, PlanContext} from '../model/types.js'
import {routedPods} from '../modes/neighbours.js'
import {PlanBuilder} from '../plan/builder.js'
import {nodesPhase, podsPhase} from './addresses.js'
import {fabricPhase, linksPhase, podLinksPhase} from './cables.js'
import {externalPhase} from './external.js'
import {firewallPhase, forwardingPhase} from './forwarding.js'
import {ipv4OnlyPhase, namespacesPhase} from './machines.js'
import {policyPhase} from './policy.js'
import {neighboursPhase, routesPhase, segmentsPhase} from './routing.js'
import {servicesPhase} from './services-phase.js'
import {configureRouter} from './underlay.js'

export {DYNAMIC_NEIGHBOUR_LIMIT} from '../modes/neighbours.js'

/**
 * The phases in plan order. A phase a lab does not need adds nothing (pod-links in a CNI lab,
 * external without external hosts, router without a router, segments on one segment, policies
 * without policies); pods in a CNI lab adds the plugins' phases after its own.
 */
const PHASES: readonly ((ctx: PlanContext) => void)[] = [
  namespacesPhase,
  ipv4OnlyPhase,
  linksPhase,
  podLinksPhase,
  fabricPhase,
  nodesPhase,
  podsPhase,
  externalPhase,
  configureRouter,
  segmentsPhase,
  neighboursPhase,
  routesPhase,
  forwardingPhase,
  firewallPhase,
  servicesPhase,
  policyPhase,
]

/** `owner` is the mark each namespace carries (see ownerMark); the default suits the default state directory. */
export function compilePlan(model: LabModel, opts: {owner?: string} = {}): Plan {
  const b = new PlanBuilder(model.lab)
  const mark = opts.owner ?? ownerMark(model.lab)
  const ctx: PlanContext = {model, b, mark, routedPods: routedPods(model, model.mode.neighbourShape)}
  for (const phase of PHASES) phase(ctx)
  return b.build()
}
