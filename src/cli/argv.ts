// `netlab exec [--lab LAB] NAME [--] COMMAND…`: where netlab's own arguments end and the
// command's begin. A `--` after NAME ends them explicitly (netlab's flags may then come on
// either side of NAME); without one, the command starts right after NAME, so its own flags
// (ip -br link) are never taken for netlab's. Pure.
export function splitCommand(argv: string[], valueFlags: string[]): {own: string[]; command: string[]} {
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i]
    if (t === '--') return {own: argv.slice(0, i), command: argv.slice(i + 1)}
    if (t.startsWith('-')) {
      if (valueFlags.includes(t)) i++ // its value is the next word
      continue
    }
    // NAME: the command follows, after a `--` if there is one
    const dash = argv.indexOf('--', i + 1)
    if (dash >= 0) return {own: argv.slice(0, dash), command: argv.slice(dash + 1)}
    return {own: argv.slice(0, i + 1), command: argv.slice(i + 1)}
  }
  return {own: argv, command: []}
}
