// What every batch-fed tool asks of an argument: one line, not empty (a batch is one command a line).

/** Why `arg` cannot go on a batch line, or undefined. Runs for every argument of a plan (~750k at 200 x 5): no regex. */
export function notOneLine(arg: string): string | undefined {
  if (arg === '') return 'is empty'
  if (arg.includes('\n') || arg.includes('\r')) return 'holds a line break'
  return undefined
}
