// How many processes netlab runs at once: `up`'s batches and settle, the probe's clients, the bench.
// One place, so NETLAB_CONCURRENCY means the same everywhere.
import {cpus} from 'node:os'

/** About two per core (at least two); NETLAB_CONCURRENCY=N overrides it. */
export function concurrency(): number {
  const fromEnv = Number(process.env.NETLAB_CONCURRENCY)
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.max(2, cpus().length * 2)
}
