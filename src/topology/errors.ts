// A problem with a topology file, pinned to the place in the file that causes it.
// Printed as one line: "file:line:column: message" — the format editors and compilers use.

export interface SourcePos {
  file: string
  line: number // 1-based
  col: number // 1-based
}

export class TopologyError extends Error {
  constructor(
    public readonly pos: SourcePos,
    public readonly detail: string,
  ) {
    super(`${pos.file}:${pos.line}:${pos.col}: ${detail}`)
    this.name = 'TopologyError'
  }
}
