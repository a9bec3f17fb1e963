// Quoting for POSIX sh, so the commands netlab prints and exports can be pasted as they are.

/** Quote for POSIX sh only where needed, so scripts stay readable. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}
