// The registry of routing modes. A new mode is a module in this folder and a line here: the
// topology parser, validation, the every-step rollback test, the equivalence test and the
// benchmark all take their list of modes from ROUTING_MODES.
import {awsVpc} from './aws-vpc.js'
import {hostGw} from './host-gw.js'
import {routes} from './routes.js'
import type {RoutingModeModule} from './types.js'
import {vpcNative} from './vpc-native.js'
import {vxlan} from './vxlan.js'

const MODULES: RoutingModeModule[] = [hostGw, routes, vxlan, awsVpc, vpcNative]

export const ROUTING_MODES: readonly string[] = MODULES.map((m) => m.id)
export const DEFAULT_ROUTING_MODE = hostGw.id

export function routingMode(id: string): RoutingModeModule {
  const m = MODULES.find((x) => x.id === id)
  if (!m) throw new Error(`unknown routing mode "${id}" (known: ${ROUTING_MODES.join(', ')})`)
  return m
}
