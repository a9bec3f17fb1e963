#!/usr/bin/env bash
# The README's first command: install, build, bring up the default three-node lab and show it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node bin/run.js up topologies/three-node.yaml
