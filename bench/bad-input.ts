// How fast is bad input refused? `netlab up` on every file of the bad-input corpus
// (test/fixtures/bad), timed from outside (Node and CLI start-up included), against the
// promise of docs/safety.md: one line, exit 2, nothing created, in under a second. A measurement, so it
// lives here and not in the test suite, where a loaded machine would make it flaky.
//
//   node dist/bench/bad-input.js      (any user; nothing is created)
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {netlab, ROOT} from './proc.js'

const corpus = join(ROOT, 'test', 'fixtures', 'bad')
const files = readdirSync(corpus)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
const stateDir = mkdtempSync(join(tmpdir(), 'netlab-bench-bad-'))
const times: [string, number, number][] = []
try {
  for (const f of files) {
    const r = await netlab(['up', join(corpus, f)], {env: {NETLAB_STATE_DIR: stateDir}})
    times.push([f, r.ms, r.code ?? -1])
  }
} finally {
  rmSync(stateDir, {recursive: true, force: true})
}
const sorted = times.map((t) => t[1]).sort((a, b) => a - b)
const slowest = [...times].sort((a, b) => b[1] - a[1]).slice(0, 3)
const wrongExit = times.filter((t) => t[2] !== 2)
console.log(
  `${files.length} bad topologies through netlab up: median ${Math.round(sorted[sorted.length >> 1])} ms, slowest ${slowest.map(([f, ms]) => `${f} ${Math.round(ms)} ms`).join(', ')}`,
)
console.log(
  `target: every one refused in under 1 s: ${sorted.at(-1)! < 1000 ? '✓' : '✗'}; exit code 2 for all: ${wrongExit.length === 0 ? '✓' : `✗ (${wrongExit.map((t) => t[0]).join(', ')})`}`,
)
process.exitCode = wrongExit.length === 0 ? 0 : 1
