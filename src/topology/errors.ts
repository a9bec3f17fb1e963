// A problem with a topology file, pinned to the place in the file that causes it.
// Printed as one line: "file:line:column: message" — the format editors and compilers use.

export interface SourcePos {
  file: string
  line: number // 1-based
  col: number // 1-based
}

/** Messages quote what the user wrote; a newline or terminal escape in it must not break the one-line format. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what it escapes
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

export class TopologyError extends Error {
  public readonly detail: string
  constructor(
    public readonly pos: SourcePos,
    detail: string,
  ) {
    super(oneLine(`${pos.file}:${pos.line}:${pos.col}: ${detail}`))
    this.detail = oneLine(detail)
    this.name = 'TopologyError'
  }
}
