#!/usr/bin/env bash
# The README's test command: install, build, run the whole suite (unit tests, and as root the
# integration tests on real namespaces), then lint (`npm run lint`: tsc on the tests, ESLint, Prettier, the layers, unused code, perl -c),
# and end
# with the totals on a line of their own, lint counted as one more check.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
report=$(mktemp)
npx vitest run --reporter=default --reporter=json --outputFile.json="$report"
vitest=$?
echo "lint: npm run lint"
npm run --silent lint
lint=$?
if [ "$lint" -eq 0 ]; then echo "lint: passed"; else echo "lint: failed (exit $lint)"; fi
status=$((vitest != 0 || lint != 0))
# each failed test once, a file that did not load as one failure, lint as one check (see scripts/test-totals.mjs)
node scripts/test-totals.mjs "$report" "$vitest" "lint=$lint" ||
  { if [ "$lint" -eq 0 ]; then echo "1 passed, 1 failed"; else echo "0 passed, 2 failed"; fi; status=1; }
rm -f "$report"
exit $status
