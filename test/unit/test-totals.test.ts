// The closing line of scripts/test.sh: each failed test once, a file that did not load (or whose
// hook failed) as one failure, never "0 failed" when vitest failed, and lint (run after vitest)
// as one more check.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ROOT} from '../helpers/lab.js'
// a plain .mjs script (scripts/test.sh runs it before anything is built), typed by its JSDoc
import {closingLine, parseChecks, totals} from '../../scripts/test-totals.mjs'

type Status = 'passed' | 'failed' | 'skipped'
const file = (status: 'passed' | 'failed', tests: Status[], message = '') => ({
  name: 'x.test.ts',
  status,
  message,
  assertionResults: tests.map((s) => ({status: s})),
})
const report = (files: ReturnType<typeof file>[], suites: {failed: number}) => {
  const tests = files.flatMap((f) => f.assertionResults)
  return {
    numFailedTestSuites: suites.failed,
    numPassedTests: tests.filter((t) => t.status === 'passed').length,
    numFailedTests: tests.filter((t) => t.status === 'failed').length,
    numPendingTests: tests.filter((t) => t.status === 'skipped').length,
    testResults: files,
  }
}

describe('test totals', () => {
  it('one failed test inside two describe blocks is one failure, not three', () => {
    // vitest counts the file and both blocks as failed suites: the old line said "5 passed, 4 failed"
    const r = report([file('failed', ['passed', 'failed']), file('passed', ['passed', 'passed', 'passed', 'skipped'])], {failed: 3})
    expect(closingLine(totals(r, 1))).toBe('4 passed, 1 failed, 1 skipped')
  })

  it('a file that did not load is one failure; so is a file whose hook failed', () => {
    const r = report([file('failed', [], 'Cannot find module'), file('failed', ['skipped', 'skipped']), file('passed', ['passed'])], {
      failed: 3,
    })
    expect(totals(r, 1)).toEqual({passed: 1, failed: 2, skipped: 2})
  })

  it('everything passed: 0 failed; but never 0 when vitest itself failed', () => {
    const r = report([file('passed', ['passed', 'passed'])], {failed: 0})
    expect(closingLine(totals(r, 0))).toBe('2 passed, 0 failed')
    expect(closingLine(totals(r, 1))).toBe('2 passed, 1 failed') // e.g. an unhandled error between tests
  })

  it("on vitest's own report of a suite with a failed test, a file that does not load and a failed hook", () => {
    const dir = mkdtempSync(join(tmpdir(), 'netlab-totals-'))
    try {
      const out = join(dir, 'report.json')
      const config = join(ROOT, 'test', 'fixtures', 'vitest-report', 'vitest.config.mjs')
      const run = spawnSync(
        process.execPath,
        [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', config, '--reporter=json', `--outputFile.json=${out}`],
        {cwd: ROOT, encoding: 'utf8'},
      )
      expect(run.status).toBe(1)
      const r = JSON.parse(readFileSync(out, 'utf8'))
      expect(r.numFailedTests + r.numFailedTestSuites).toBeGreaterThan(3) // what the old line added up
      expect(closingLine(totals(r, run.status!))).toBe('3 passed, 3 failed, 3 skipped')
      // and as scripts/test.sh runs it
      const cli = spawnSync(process.execPath, [join(ROOT, 'scripts', 'test-totals.mjs'), out, String(run.status)], {encoding: 'utf8'})
      expect(cli.stdout).toBe('3 passed, 3 failed, 3 skipped\n')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  }, 60_000)

  it('a check run outside vitest (lint) is one more test: passed when its exit status is 0, failed otherwise', () => {
    const r = report([file('passed', ['passed', 'passed'])], {failed: 0})
    expect(closingLine(totals(r, 0, {lint: 0}))).toBe('3 passed, 0 failed')
    expect(closingLine(totals(r, 0, {lint: 1}))).toBe('2 passed, 1 failed')
    // vitest failed outside any test, and lint failed: two failures, not one
    expect(closingLine(totals(r, 1, {lint: 2}))).toBe('2 passed, 2 failed')
    const failing = report([file('failed', ['failed', 'passed', 'skipped'])], {failed: 1})
    expect(closingLine(totals(failing, 1, {lint: 0}))).toBe('2 passed, 1 failed, 1 skipped')
    expect(parseChecks(['lint=0', 'types=2'])).toEqual({lint: 0, types: 2})
    expect(() => parseChecks(['lint'])).toThrow(/NAME=EXIT_STATUS/)
  })

  it('the script reads the report file it is given, and the checks after it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netlab-totals-'))
    try {
      writeFileSync(join(dir, 'r.json'), JSON.stringify(report([file('failed', ['failed', 'failed', 'passed'])], {failed: 2})))
      expect(
        spawnSync(process.execPath, [join(ROOT, 'scripts', 'test-totals.mjs'), join(dir, 'r.json'), '1'], {encoding: 'utf8'}).stdout,
      ).toBe('1 passed, 2 failed\n')
      const withLint = (status: string) =>
        spawnSync(process.execPath, [join(ROOT, 'scripts', 'test-totals.mjs'), join(dir, 'r.json'), '1', `lint=${status}`], {
          encoding: 'utf8',
        }).stdout
      expect(withLint('0')).toBe('2 passed, 2 failed\n')
      expect(withLint('1')).toBe('1 passed, 3 failed\n')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
