// How long `probe --full` will take, said before it starts when that is over a minute: a 10,000-pod
// lab has a hundred million ordered pod pairs, and the proof is a TCP connection for each.
// Pure: an estimate from counts alone (the probes themselves are never built for it).
import type {LabModel} from '../model/types.js'

/**
 * Wall-clock time per check of the probe, ms: what the bench measured for the representative
 * probe on a loaded 2-core machine (0.21 ms at 5,000 pods, 0.31 ms at 100; bench/README.md).
 * A constant, documented as such: the estimate says "about".
 */
export const PROBE_CHECK_MS = 0.3
/** Over this, `--full` says how long it expects to take before it starts. */
export const ANNOUNCE_MS = 60_000

/**
 * The checks a --full run makes, roughly: every ordered pod pair twice (reachability and the
 * source address), every node with every pod three ways (node → pod, its source, pod → node),
 * and every pod to every external host.
 */
export function fullChecks(model: LabModel): number {
  const pods = model.nodes.reduce((n, node) => n + node.pods.length, 0)
  const nodes = model.nodes.length
  return 2 * pods * (pods - 1) + 3 * nodes * pods + pods * model.external.length
}

const duration = (ms: number) => {
  const min = ms / 60_000
  return min < 90 ? `${Math.round(min)} minutes` : min < 48 * 60 ? `${(min / 60).toFixed(1)} hours` : `${Math.round(min / 1440)} days`
}

/** The line `--full` prints first, or undefined when it should take under a minute. */
export function fullAnnouncement(model: LabModel): string | undefined {
  const checks = fullChecks(model)
  const ms = checks * PROBE_CHECK_MS
  if (ms <= ANNOUNCE_MS) return undefined
  return (
    `probe --full of lab ${model.lab}: about ${checks.toLocaleString('en')} checks, expected to take about ${duration(ms)} ` +
    `(${PROBE_CHECK_MS} ms a check, as the bench measured; Ctrl-C stops it; without --full a representative set)`
  )
}
