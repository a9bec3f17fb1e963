// A long probe's progress, for the person watching: one line on stderr, rewritten in place, and
// gone when the probe ends. Only on a terminal with a width (never in a pipe, a log or --json):
// a faulted lab's probe waits out its timeouts, and ten silent seconds look like a hang.
import {isLiveTerminal} from '../core/terminal.js'

/** How often the line is redrawn: often enough to look alive, rarely enough to cost nothing. */
const REDRAW_MS = 200

/** The line: "probe of lab LAB: 1,234 of 5,678 probes done, 3 failed so far (4 s)". Pure. */
export function progressLine(lab: string, done: number, total: number, failed: number, ms: number): string {
  const n = (x: number) => x.toLocaleString('en-US')
  const failures = failed > 0 ? `, ${n(failed)} failed so far` : ''
  return `probe of lab ${lab}: ${n(done)} of ${n(total)} probes done${failures} (${Math.floor(ms / 1000)} s)`
}

export interface Progress {
  /** one probe judged */
  done(ok: boolean): void
  /** erase the line (the report follows) */
  stop(): void
}

const SILENT: Progress = {done: () => {}, stop: () => {}}

export function probeProgress(lab: string, total: number, out: NodeJS.WriteStream = process.stderr): Progress {
  if (!isLiveTerminal(out) || total === 0) return SILENT
  const started = performance.now()
  let done = 0
  let failed = 0
  // cut to the width: a wrapped line could not be rewritten in place
  const draw = () => out.write(`\r${progressLine(lab, done, total, failed, performance.now() - started).slice(0, out.columns - 1)}\u001b[K`)
  draw()
  const timer = setInterval(draw, REDRAW_MS)
  timer.unref()
  return {
    done: (ok) => {
      done++
      if (!ok) failed++
    },
    stop: () => {
      clearInterval(timer)
      out.write('\r\u001b[K')
    },
  }
}
