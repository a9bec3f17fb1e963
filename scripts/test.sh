#!/usr/bin/env bash
# The README's test command: install, build, run the whole suite (unit tests, and as root the
# integration tests on real namespaces), and end with the totals on a line of their own.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
report=$(mktemp)
npx vitest run --reporter=default --reporter=json --outputFile.json="$report"
status=$?
# each failed test once, a file that did not load as one failure (see scripts/test-totals.mjs)
node scripts/test-totals.mjs "$report" "$status" || { echo "0 passed, 1 failed"; status=1; }
rm -f "$report"
exit $status
