// Rows of cells as a plain-text table: each column as wide as its widest cell, two spaces between
// columns, no trailing blanks (netlab status's tables). Pure.
export function alignColumns(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)))
  return rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]))
      .join('  ')
      .trimEnd(),
  )
}
