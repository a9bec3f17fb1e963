// Errors that carry their exit code: 1 = the operation failed, 2 = bad input or usage,
// 128+N = stopped by signal N after cleaning up (130 for Ctrl-C), as a shell reports it.
import {constants} from 'node:os'

export class NetlabError extends Error {
  constructor(
    message: string,
    public readonly exitCode: number = 1,
  ) {
    super(message)
    this.name = 'NetlabError'
  }
}

export class UsageError extends NetlabError {
  constructor(message: string) {
    super(message, 2)
    this.name = 'UsageError'
  }
}

/** The exit code of a run stopped by a signal: 128 + its number (SIGINT 130, SIGTERM 143, SIGHUP 129). */
export function signalExitCode(signal: string): number {
  const n = constants.signals[signal as NodeJS.Signals]
  return n === undefined ? 1 : 128 + n
}

/** A run stopped by a signal, after it cleaned up. */
export class SignalError extends NetlabError {
  constructor(message: string, signal: string) {
    super(message, signalExitCode(signal))
    this.name = 'SignalError'
  }
}
