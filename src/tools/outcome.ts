// Outcomes shared by every driver.
import {commandLineOf} from './line.js'
import type {BatchOutcome, Prepared, ToolDriver} from './types.js'

/** How an action is shown in an error: the command, and whether a test made it fail. */
export function shown(d: ToolDriver, p: Prepared, k: number): string {
  const line = commandLineOf(d, p.actions[k])
  return p.fault === k ? `${line}  (fault injected by NETLAB_TEST_FAULT_AT)` : line
}

export const succeeded = (p: Prepared): BatchOutcome => ({applied: p.actions, notRun: [], unknown: []})

export const notRun = (p: Prepared): BatchOutcome => ({applied: [], notRun: p.actions, unknown: []})

export const unknown = (p: Prepared, command: string, stderr: string): BatchOutcome => ({
  applied: [],
  notRun: [],
  unknown: p.actions,
  error: {command, stderr},
})

/**
 * The action at index k failed: the ones before it ran, the ones after it did not, except those
 * at the indexes in `also` (the runner says they were made anyway).
 */
export function failedAt(d: ToolDriver, p: Prepared, k: number, stderr: string, also: number[] = []): BatchOutcome {
  const a = p.actions
  const made = new Set(also.filter((i) => i > k && i < a.length))
  const after = a.slice(k + 1)
  return {
    applied: [...a.slice(0, k), ...after.filter((_, j) => made.has(k + 1 + j))],
    failed: a[k],
    notRun: after.filter((_, j) => !made.has(k + 1 + j)),
    unknown: [],
    error: {command: shown(d, p, k), stderr},
  }
}

/** One step per action (sysctl, exec tools): the failing step names its action. */
export function perActionSteps(d: ToolDriver, p: Prepared, step: number, stderr: string): BatchOutcome {
  return failedAt(d, p, p.firstAction[step], stderr)
}
