// Reading JSON and YAML that came from outside (a file, a flag): what is an object with keys.

/** A plain object (not null, not an array): the shape JSON and YAML give a mapping. */
export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
