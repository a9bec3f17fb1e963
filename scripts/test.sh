#!/usr/bin/env bash
# The README's test command: install, build, run the whole suite (unit tests, and as root the
# integration tests on real namespaces), and end with the totals on a line of their own.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
report=$(mktemp)
npx vitest run --reporter=default --reporter=json --outputFile.json="$report"
status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const failed = r.numFailedTests + (r.numFailedTestSuites ? r.numFailedTestSuites : 0);
  console.log(`${r.numPassedTests} passed, ${failed} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' "$report" || { echo "0 passed, 1 failed"; status=1; }
rm -f "$report"
exit $status
