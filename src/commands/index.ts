// Every command, listed explicitly: no directory scan at start-up (and the bundle can hold them).
import Complete from './__complete.js'
import Apply from './apply.js'
import Autocomplete from './autocomplete.js'
import Bgp from './bgp.js'
import Break from './break.js'
import Capture from './capture.js'
import CniCheck from './cni/check.js'
import CniGc from './cni/gc.js'
import Down from './down.js'
import Exec from './exec.js'
import Fix from './fix.js'
import Graph from './graph.js'
import Help from './help.js'
import Label from './label.js'
import Ls from './ls.js'
import NodeAdd from './node/add.js'
import NodeDelete from './node/delete.js'
import Plan from './plan.js'
import PodAdd from './pod/add.js'
import PodDelete from './pod/delete.js'
import PolicyApply from './policy/apply.js'
import Probe from './probe.js'
import Shell from './shell.js'
import Status from './status.js'
import Topology from './topology.js'
import Trace from './trace.js'
import Up from './up.js'
import Validate from './validate.js'

export const COMMANDS = {
  __complete: Complete,
  apply: Apply,
  autocomplete: Autocomplete,
  bgp: Bgp,
  break: Break,
  capture: Capture,
  'cni:check': CniCheck,
  'cni:gc': CniGc,
  down: Down,
  exec: Exec,
  fix: Fix,
  graph: Graph,
  help: Help,
  label: Label,
  ls: Ls,
  'node:add': NodeAdd,
  'node:delete': NodeDelete,
  plan: Plan,
  'pod:add': PodAdd,
  'pod:delete': PodDelete,
  'policy:apply': PolicyApply,
  probe: Probe,
  shell: Shell,
  status: Status,
  topology: Topology,
  trace: Trace,
  up: Up,
  validate: Validate,
}
