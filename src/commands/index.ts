// Every command, listed explicitly: no directory scan at start-up (and the bundle can hold them).
import Down from './down.js'
import Plan from './plan.js'
import PolicyApply from './policy/apply.js'
import Probe from './probe.js'
import Status from './status.js'
import Up from './up.js'
import Validate from './validate.js'

export const COMMANDS = {down: Down, plan: Plan, 'policy:apply': PolicyApply, probe: Probe, status: Status, up: Up, validate: Validate}
