// Errors that carry their exit code: 1 = the operation failed, 2 = bad input or usage.
export class NetlabError extends Error {
  constructor(
    message: string,
    public readonly exitCode: 1 | 2 = 1,
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
