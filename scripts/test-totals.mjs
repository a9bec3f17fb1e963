// The closing line of scripts/test.sh, "N passed, M failed[, K skipped]", from vitest's JSON
// report. Each failed test counts once, and a file that failed without a failed test of its own
// (it did not load, or a hook failed) counts as one failure. Not numFailedTestSuites: vitest
// counts the file and every describe block around a failed test as failed suites too, so one
// failed test used to read as three failures. A check that runs outside vitest (lint) counts
// as one more test: passed when its exit status is 0, failed otherwise.
//
// usage: node scripts/test-totals.mjs REPORT.json VITEST_EXIT_STATUS [NAME=EXIT_STATUS ...]
import {readFileSync} from 'node:fs'
import {pathToFileURL} from 'node:url'

/**
 * @param {{numPassedTests: number, numPendingTests?: number, testResults: {status: string, assertionResults: {status: string}[]}[]}} report
 * @param {number} exitStatus vitest's: it also fails for errors outside any test, which the report does not list
 * @param {Record<string, number>} checks the exit status of each check run outside vitest (`{lint: 0}`)
 * @returns {{passed: number, failed: number, skipped: number}}
 */
export function totals(report, exitStatus = 0, checks = {}) {
  let failed = 0
  for (const file of report.testResults) {
    const failedTests = file.assertionResults.filter((t) => t.status === 'failed').length
    failed += failedTests > 0 ? failedTests : file.status === 'failed' ? 1 : 0
  }
  // vitest failed for something no test or file owns (an unhandled error): never say "0 failed"
  if (failed === 0 && exitStatus !== 0) failed = 1
  let passed = report.numPassedTests
  for (const status of Object.values(checks)) {
    if (status === 0) passed++
    else failed++
  }
  return {passed, failed, skipped: report.numPendingTests ?? 0}
}

/** @param {{passed: number, failed: number, skipped: number}} t */
export function closingLine(t) {
  return `${t.passed} passed, ${t.failed} failed` + (t.skipped ? `, ${t.skipped} skipped` : '')
}

/**
 * The checks given on the command line as NAME=EXIT_STATUS.
 * @param {string[]} args
 * @returns {Record<string, number>}
 */
export function parseChecks(args) {
  return Object.fromEntries(
    args.map((a) => {
      const m = /^([\w-]+)=(\d+)$/.exec(a)
      if (!m) throw new Error(`test-totals: a check is NAME=EXIT_STATUS, not "${a}"`)
      return [m[1], Number(m[2])]
    }),
  )
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, status, ...checks] = process.argv.slice(2)
  console.log(closingLine(totals(JSON.parse(readFileSync(file, 'utf8')), Number(status ?? 0), parseChecks(checks))))
}
