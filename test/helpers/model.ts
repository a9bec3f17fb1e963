// Models and plans for the pure tests, made as netlab makes them (parse, then build), and the
// TopologyError a call throws. No hooks and no processes.
import {expect} from 'vitest'
import {stringify} from 'yaml'
import {buildModel, type ModelOptions} from '../../src/compile/model.js'
import type {LabModel} from '../../src/model/types.js'
import type {Plan} from '../../src/core/actions.js'
import {TopologyError} from '../../src/topology/errors.js'
import {parseTopology} from '../../src/topology/parse.js'
import {smallTopology} from './constants.js'

/** The model of a topology given as YAML text; `file` is the name its errors carry (test.yaml). */
export function model(text: string, opts: ModelOptions & {file?: string} = {}): LabModel {
  const {file = 'test.yaml', ...options} = opts
  return buildModel(parseTopology(text, file), options)
}

/** The model of smallTopology(name, opts), parsed as `<name>.yaml`. */
export function smallModel(name: string, opts: Parameters<typeof smallTopology>[1] = {}): LabModel {
  return model(stringify(smallTopology(name, opts)), {file: `${name}.yaml`})
}

/** The TopologyError a call throws; fails the test if it throws anything else or nothing. */
export function topologyError(fn: () => unknown): TopologyError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(TopologyError)
    return error as TopologyError
  }
  throw new Error('expected a TopologyError, but nothing was thrown')
}

/** The arguments of each action of a plan in one member's namespace (netlab-lab.<member>), as lines. */
export function memberLines(plan: Plan, member: string, lab = 'lab'): string[] {
  return plan.actions.filter((a) => a.netns === `netlab-${lab}.${member}`).map((a) => a.args.join(' '))
}
