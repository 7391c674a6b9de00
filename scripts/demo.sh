#!/usr/bin/env bash
# The demo: plan the 1.0.0 → 2.0.0 upgrade of the 3-master demo cluster.
# Node-side executors and the sandbox arrive in later steps; until then the demo plans offline.
set -euo pipefail
cd "$(dirname "$0")/.."
export HOIST_STATE_DIR="${HOIST_STATE_DIR:-$PWD/.hoist-demo}"
./bin/hoist upgrade --dry-run \
  --state fixtures/clusters/demo-3-masters/state.yaml \
  fixtures/images/upgrade-demo-2.0.0
