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

/**
 * Several independent problems in one file, in file order (the first is this error's own
 * message, so code that expects one TopologyError still reads the first). `netlab validate`
 * lists them all.
 */
export class TopologyErrors extends TopologyError {
  constructor(public readonly errors: TopologyError[]) {
    super(errors[0].pos, errors[0].detail)
    this.name = 'TopologyErrors'
  }
}

/** Throw the problems found (in file order): one as itself, several as a TopologyErrors; none: return. */
export function throwAll(errors: TopologyError[]): void {
  const sorted = [...errors].sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col)
  if (sorted.length === 1) throw sorted[0]
  if (sorted.length > 1) throw new TopologyErrors(sorted)
}

/** Every problem an error stands for: its list when it is a TopologyErrors, else itself. */
export function allErrors(error: TopologyError): TopologyError[] {
  return error instanceof TopologyErrors ? error.errors : [error]
}

/**
 * Something in a topology that is valid but probably not what was meant (a selector that matches
 * no pod): printed as "file:line:column: warning: message", and the file is still used.
 */
export interface TopologyWarning {
  pos: SourcePos
  detail: string
  message: string
}

export function topologyWarning(pos: SourcePos, detail: string): TopologyWarning {
  const text = oneLine(detail)
  return {pos, detail: text, message: `${pos.file}:${pos.line}:${pos.col}: warning: ${text}`}
}
