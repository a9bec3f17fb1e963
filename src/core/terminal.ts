// Whether progress may be drawn live (a spinner, a line rewritten in place) on a stream.

/**
 * Narrower than this, a live line wraps at every character: a pseudo-terminal nobody sized
 * reports 0 columns, and listr2 then printed its list one character per line.
 */
const MIN_COLUMNS = 20

/** A terminal with room for a line: live progress; else (a pipe, a file, no width) plain lines or none. Pure. */
export function isLiveTerminal(stream: {isTTY?: boolean; columns?: number}): boolean {
  return stream.isTTY === true && (stream.columns ?? 0) >= MIN_COLUMNS
}
