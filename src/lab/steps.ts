// A timing hook for `up` and `down`: each step reports how long it took as it ends, so the bench
// can show where the time goes by running the real commands instead of a copy of them.
export interface StepTiming {
  step: string
  ms: number
  /** what the step did, e.g. "115 actions" */
  note?: string
}

export type OnStep = (timing: StepTiming) => void

/** Run `f` as step `step` and, if anyone listens, report its duration (and `note` of its result). */
export function timed<T>(onStep: OnStep | undefined, step: string, f: () => T, note?: (result: Awaited<T>) => string): T {
  if (!onStep) return f()
  const started = performance.now()
  const report = (result: Awaited<T>) => onStep({step, ms: performance.now() - started, ...(note ? {note: note(result)} : {})})
  const result = f()
  if (result instanceof Promise) return result.then((r: Awaited<T>) => (report(r), r)) as T
  report(result as Awaited<T>)
  return result
}
