// The CNI spec's error result: a well-known code, a message, optional details. Codes 1-99 are the
// spec's; 999 is what the reference plugins use for everything else ("internal"), kept so that an
// error of ours reads like theirs.
export const CODE = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnv: 4,
  io: 5,
  decode: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  notAvailable: 50,
  limitedConnectivity: 51,
  internal: 999,
} as const

export class CniError extends Error {
  constructor(
    readonly code: number,
    msg: string,
    readonly details?: string,
  ) {
    super(msg)
  }
}

/** The error result as the spec writes it (cniVersion first, details only when there are some). */
export function errorResult(err: unknown, cniVersion: string): Record<string, unknown> {
  const e = err instanceof CniError ? err : new CniError(CODE.internal, err instanceof Error ? err.message : String(err))
  return {cniVersion, code: e.code, msg: e.message, ...(e.details ? {details: e.details} : {})}
}
