// The registry of CNI presets (cluster.cni.preset). A new preset is a module in this folder, a
// line here and its name in CNI_PRESETS (src/topology/types.ts): the topology parser checks
// cluster.cni.preset against that list, which sits in the topology layer because the parser is
// below this one; the registry is typed by it, so a name without a module, or a module without
// a name, does not compile.
import {bash} from './bash.js'
import {CNI_PRESETS, type CniPresetName} from '../../topology/types.js'
import type {CniPreset} from './types.js'
import {netlab} from './netlab.js'
import {reference} from './reference.js'

const PRESETS: Record<CniPresetName, CniPreset> = {
  reference,
  netlab,
  bash,
}

export {CNI_PRESETS}
export type {CniPreset, CniPresetName}

/** The preset a checked topology names (the parser has refused any other name). */
export function cniPreset(name: CniPresetName): CniPreset {
  if (!Object.hasOwn(PRESETS, name)) throw new Error(`unknown CNI preset "${name}" (known: ${CNI_PRESETS.join(', ')})`)
  return PRESETS[name]
}

/** Every preset, in the order of CNI_PRESETS. */
export function cniPresets(): CniPreset[] {
  return CNI_PRESETS.map((name) => PRESETS[name])
}
