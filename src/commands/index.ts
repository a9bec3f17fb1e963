// Every command, listed explicitly: no directory scan at start-up (and the bundle can hold them).
import Capture from './capture.js'
import CniCheck from './cni/check.js'
import Down from './down.js'
import Exec from './exec.js'
import Graph from './graph.js'
import Ls from './ls.js'
import Plan from './plan.js'
import PolicyApply from './policy/apply.js'
import Probe from './probe.js'
import Shell from './shell.js'
import Status from './status.js'
import Up from './up.js'
import Validate from './validate.js'

export const COMMANDS = {
  capture: Capture,
  'cni:check': CniCheck,
  down: Down,
  exec: Exec,
  graph: Graph,
  ls: Ls,
  plan: Plan,
  'policy:apply': PolicyApply,
  probe: Probe,
  shell: Shell,
  status: Status,
  up: Up,
  validate: Validate,
}
