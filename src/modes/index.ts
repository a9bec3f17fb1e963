// The registry of routing modes. A new mode is a module in this folder, a line here and its id in
// ROUTING_MODES (src/topology/types.ts, the values cluster.routing takes): the topology parser,
// validation, the every-step rollback test, the equivalence test and the benchmark all take
// their list of modes from ROUTING_MODES.
import {awsVpc} from './aws-vpc.js'
import {bgp} from './bgp.js'
import {hostGw} from './host-gw.js'
import {routes} from './routes.js'
import {DEFAULT_ROUTING_MODE, ROUTING_MODES, type RoutingMode} from '../topology/types.js'
import type {RoutingModeModule} from '../model/types.js'
import {vpcNative} from './vpc-native.js'
import {vxlan} from './vxlan.js'

const MODULES: Record<RoutingMode, RoutingModeModule> = {
  'host-gw': hostGw,
  routes,
  vxlan,
  'aws-vpc': awsVpc,
  'vpc-native': vpcNative,
  bgp,
}

export {ROUTING_MODES, DEFAULT_ROUTING_MODE}

/** The module of a routing mode; undefined for an id this netlab does not know. */
export function findRoutingMode(id: string): RoutingModeModule | undefined {
  return Object.hasOwn(MODULES, id) ? MODULES[id as RoutingMode] : undefined
}

export function routingMode(id: string): RoutingModeModule {
  const m = findRoutingMode(id)
  if (!m) throw new Error(`unknown routing mode "${id}" (known: ${ROUTING_MODES.join(', ')})`)
  return m
}
