// Every command, listed explicitly: no directory scan at start-up (and the bundle can hold them).
import Down from './down.js'
import Graph from './graph.js'
import Ls from './ls.js'
import Plan from './plan.js'
import Probe from './probe.js'
import Status from './status.js'
import Up from './up.js'
import Validate from './validate.js'

export const COMMANDS = {down: Down, graph: Graph, ls: Ls, plan: Plan, probe: Probe, status: Status, up: Up, validate: Validate}
