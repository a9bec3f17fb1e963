// The registry of faults netlab break can inject. A new kind is a module in this folder, a line
// here and its name in FAULT_KINDS (./kinds.ts): the registry is typed by that list, so neither
// can be missing. test/unit/exercise.test.ts runs every kind against a lab of every routing mode,
// and test/unit/golden-faults.test.ts keeps every fault's plan.
import {bgpDown} from './bgp-down.js'
import {drop} from './drop.js'
import {fdb} from './fdb.js'
import {forwarding} from './forwarding.js'
import {hairpin} from './hairpin.js'
import {kubeProxy} from './kube-proxy.js'
import type {FaultKind} from './kinds.js'
import {masquerade} from './masquerade.js'
import {mtu} from './mtu.js'
import {nodePort} from './node-port.js'
import {route} from './route.js'
import {staleEndpoint} from './stale-endpoint.js'
import type {FaultModule} from './types.js'

export const FAULTS: Readonly<Record<FaultKind, FaultModule>> = {
  route,
  forwarding,
  masquerade,
  drop,
  mtu,
  fdb,
  'kube-proxy': kubeProxy,
  'stale-endpoint': staleEndpoint,
  'node-port': nodePort,
  hairpin,
  'bgp-down': bgpDown,
}
