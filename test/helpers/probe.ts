// A probe report from observations all at hand, made the way `netlab probe` makes it
// (src/probe/run.ts): a Tally takes each observation, then writes the report.
import type {LabModel} from '../../src/model/types.js'
import {Tally} from '../../src/probe/tally.js'
import type {Coverage, Observation, Probe, ProbeReport, Section, SelfObservation} from '../../src/probe/types.js'

export interface Evidence {
  probes: Probe[]
  /** by probe id; a probe without an observation failed to run */
  observations: Map<number, Observation>
  /** by pod name: the addresses read in each pod (self-address, pod-in-vpc-subnet) */
  self: Map<string, SelfObservation>
}

export function reportOf(
  model: LabModel,
  coverage: Coverage,
  sections: Section[],
  ev: Evidence,
  ms: number,
  opts: {allChecks?: boolean; picked?: boolean} = {},
): ProbeReport {
  const tally = new Tally(ev.probes, opts)
  for (const p of ev.probes) tally.add(p.id, ev.observations.get(p.id))
  return tally.report(model, coverage, sections, ev.self, ms, opts.picked)
}
