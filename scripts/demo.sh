#!/usr/bin/env bash
# The demo: a 3-master sandbox cluster (real sshd nodes on 127.0.0.2-4, real etcd, a Kubernetes
# API emulator) at version 1.0.0, upgraded to 2.0.0 automatically, then the plan and the status.
# KEEP_SANDBOX=1 leaves the sandbox running afterwards, to explore it with hoist commands.
# Arguments go to `hoist sandbox up`: `npm run demo -- --user hoist` logs in to the nodes as a new
# non-root user with password-less sudo (add --bastion-for node-2 --without-node node-3 for more).
set -euo pipefail
cd "$(dirname "$0")/.."
export HOIST_STATE_DIR="${HOIST_STATE_DIR:-$PWD/.hoist-demo}"
hoist() { ./bin/hoist "$@"; }
cluster="$HOIST_STATE_DIR/sandbox/cluster.yaml"

# A sandbox left by an earlier demo, and its operations, start over.
hoist sandbox down >/dev/null
rm -rf "$HOIST_STATE_DIR/clusters"
[ "${KEEP_SANDBOX:-0}" = 1 ] || trap 'hoist sandbox down >/dev/null' EXIT

hoist sandbox up --masters 3 "$@"
hoist -c "$cluster" upgrade fixtures/images/upgrade-demo-2.0.0
echo
hoist -c "$cluster" plan
echo
hoist -c "$cluster" status
if [ "${KEEP_SANDBOX:-0}" = 1 ]; then
  echo
  echo "The sandbox keeps running. Try: HOIST_STATE_DIR=$HOIST_STATE_DIR ./bin/hoist -c $cluster plan"
  echo "Remove it with: HOIST_STATE_DIR=$HOIST_STATE_DIR ./bin/hoist sandbox down"
fi
