#!/usr/bin/env bash
# Draw docs/<topology>.svg for every topology in topologies/ with netlab graph: the README and
# docs/*.md show them, and test/unit/graph.test.ts checks they are what netlab draws today.
set -euo pipefail
cd "$(dirname "$0")/.."
for t in topologies/*.yaml; do
  node bin/run.js graph "$t" -o "docs/$(basename "$t" .yaml).svg"
done
