// The bad-input corpus: every .yaml file in test/fixtures/bad has exactly one problem, and
// expected.json says where netlab must point (line, col; in "file" when that is another file the
// topology names, such as a conflist) and what the message must say ("match" is a regular
// expression tested against the message after "file:line:col: ").
// Loading any of them must fail with a one-line TopologyError, quickly, and never crash.
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {TopologyError} from '../../src/topology/errors.js'
import {loadTopologyFile, MAX_TOPOLOGY_BYTES} from '../../src/topology/parse.js'
import {buildModel} from '../../src/compile/model.js'

const BAD = fileURLToPath(new URL('../fixtures/bad/', import.meta.url))
const expected = JSON.parse(readFileSync(join(BAD, 'expected.json'), 'utf8')) as Record<
  string,
  {line: number; col: number; file?: string; match: string}
>
// the corpus is its .yaml files; the others are files they name (secret-shadow.txt)
const corpus = readdirSync(BAD)
  .filter((f) => f.endsWith('.yaml'))
  .sort()

/**
 * A ceiling that catches a blow-up (an alias bomb, exponential backtracking), not a benchmark:
 * these take well under 0.5 s; bench/bad-input.ts measures the real speed through the CLI.
 */
const MAX_MS = 5000

/** Load and model `file`; return the TopologyError and how long it took. Anything else fails the test. */
function failure(file: string): {error: TopologyError; ms: number} {
  const t0 = performance.now()
  try {
    buildModel(loadTopologyFile(file))
  } catch (error) {
    const ms = performance.now() - t0
    if (!(error instanceof TopologyError))
      throw new Error(`${file}: expected a TopologyError, got ${String((error as Error)?.stack ?? error)}`, {cause: error})
    return {error, ms}
  }
  throw new Error(`${file}: accepted, but it is invalid`)
}

function expectOneLineAt(error: TopologyError, file: string, line: number, col: number): void {
  expect(error.pos).toEqual({file, line, col})
  expect(error.message).not.toMatch(/[\r\n]/)
  expect(error.message.startsWith(`${file}:${line}:${col}: `), error.message).toBe(true)
  expect(error.message).toBe(`${file}:${line}:${col}: ${error.detail}`)
}

describe('the bad-input corpus', () => {
  it('has at least 30 files, all named NN-short-description.yaml with distinct numbers', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(30)
    for (const f of corpus) expect(f).toMatch(/^\d{2,3}-[a-z0-9]+(-[a-z0-9]+)*\.yaml$/)
    const numbers = corpus.map((f) => Number(f.split('-')[0]))
    expect(new Set(numbers).size).toBe(numbers.length)
  })

  it('has an expectation for every file, and a file for every expectation', () => {
    expect(Object.keys(expected).sort()).toEqual(corpus)
    for (const [f, e] of Object.entries(expected)) {
      expect(Number.isInteger(e.line) && e.line >= 1, f).toBe(true)
      expect(Number.isInteger(e.col) && e.col >= 1, f).toBe(true)
      expect(typeof e.match === 'string' && e.match.length > 0, f).toBe(true)
    }
  })

  it.each(corpus)('%s is rejected at the expected place, on one line, in under a second', (name) => {
    const file = join(BAD, name)
    const want = expected[name]
    expect(want, `${name} has no entry in expected.json`).toBeDefined()
    const {error, ms} = failure(file)
    expectOneLineAt(error, join(BAD, want.file ?? name), want.line, want.col)
    expect(error.detail).toMatch(new RegExp(want.match))
    expect(ms).toBeLessThan(MAX_MS)
  })

  it('never quotes what a file the topology names holds (any readable file could be named)', () => {
    const named = Object.entries(expected).filter(([, e]) => e.file)
    expect(named.length).toBeGreaterThan(0)
    for (const [name, e] of named) {
      const words = readFileSync(join(BAD, e.file!), 'utf8').match(/[A-Za-z0-9$]{3,}/g)!
      expect(words.length, e.file).toBeGreaterThan(3)
      const {message} = failure(join(BAD, name)).error
      for (const w of words) expect(message.replace(join(BAD, e.file!), ''), `${name} quotes "${w}"`).not.toContain(w)
    }
  })

  it('points inside the file: every expected line exists and the column is on it', () => {
    for (const [name, e] of Object.entries(expected)) {
      const lines = readFileSync(join(BAD, e.file ?? name), 'latin1')
        .replace(/^\u00ef\u00bb\u00bf/, '')
        .split('\n')
      if (lines.length === 1 && lines[0] === '') {
        expect([e.line, e.col], name).toEqual([1, 1])
        continue
      }
      expect(e.line, name).toBeLessThanOrEqual(lines.length)
      // latin1 counts bytes; a column counts characters, so it is at most the byte length + 1
      expect(e.col, name).toBeLessThanOrEqual(lines[e.line - 1].length + 1)
    }
  })
})

describe('pathological nesting', () => {
  // Not in the corpus: where the parser gives up depends on the stack size, so the column is not stable.
  it.each([
    ['flow sequences', `${'['.repeat(10000)}${']'.repeat(10000)}`],
    ['flow mappings', `${'{a: '.repeat(5000)}${'}'.repeat(5000)}`],
    ['compact block sequences', `\n  ${'- '.repeat(10000)}x`],
  ])('10000-deep %s are a one-line TopologyError on that line, not a crash', (_, nodes) => {
    const dir = mkdtempSync(join(tmpdir(), 'netlab-bad-'))
    try {
      const file = join(dir, 'deep.yaml')
      writeFileSync(file, `name: lab\nnodes: ${nodes}\n`)
      const {error, ms} = failure(file)
      expect(error.message).not.toMatch(/[\r\n]/)
      expect(error.message).toBe(`${file}:${error.pos.line}:${error.pos.col}: ${error.detail}`)
      expect(error.pos.line).toBe(nodes.startsWith('\n') ? 3 : 2)
      expect(ms).toBeLessThan(MAX_MS)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('oversized files', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'netlab-bad-'))
  })
  afterAll(() => {
    rmSync(dir, {recursive: true, force: true})
  })

  const valid = 'name: lab\nnodes:\n  - name: node-0\n'
  /** A valid topology padded with comment lines to exactly `size` bytes. */
  function padded(size: number): string {
    const line = `# ${'x'.repeat(77)}\n`
    let text = valid + line.repeat(Math.floor((size - valid.length) / line.length))
    text += '#'.repeat(size - text.length)
    expect(Buffer.byteLength(text)).toBe(size)
    return text
  }

  it('a 10 MB file is refused at 1:1 without being parsed', () => {
    const file = join(dir, 'huge.yaml')
    writeFileSync(file, padded(10 * 1024 * 1024 + 17))
    const {error, ms} = failure(file)
    expectOneLineAt(error, file, 1, 1)
    expect(error.detail).toMatch(/file is too large \(10\.0 MiB; a topology is at most 1 MiB\)/)
    expect(ms).toBeLessThan(MAX_MS)
  })

  it('the limit is exact: MAX_TOPOLOGY_BYTES is read, one byte more is refused', () => {
    const atLimit = join(dir, 'at-limit.yaml')
    writeFileSync(atLimit, padded(MAX_TOPOLOGY_BYTES))
    const t0 = performance.now()
    expect(buildModel(loadTopologyFile(atLimit)).nodes).toHaveLength(1)
    expect(performance.now() - t0).toBeLessThan(MAX_MS)
    const over = join(dir, 'over-limit.yaml')
    writeFileSync(over, padded(MAX_TOPOLOGY_BYTES + 1))
    expect(failure(over).error.detail).toMatch(/too large/)
  })
})
