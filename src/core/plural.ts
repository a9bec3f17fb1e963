// Counts in messages: "1 node", "2 nodes", never "1 nodes" or "node(s)".

/** A count with its noun, singular only for exactly one: plural(1, 'pod'), plural(2, 'batch', 'batches'). Pure. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}
