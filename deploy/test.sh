#!/usr/bin/env bash
# Runs every test tier: fast (no cluster), cluster (real Ceph, real block devices), docker (a real dockerd).
# Brings up what the tiers need — the dev Ceph cluster and a dev Docker engine — and stops again whatever it
# started itself (set KEEP_RUNNING=1 to leave them up for the next run). Exits non-zero on any failure.
#
#   deploy/test.sh              all tiers (as root)
#   deploy/test.sh Fast         one tier (Fast, Cluster or Docker); no cluster or engine is started for Fast
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_PREFIX='test'
# shellcheck source=deploy/lib.sh
source deploy/lib.sh

tier=${1:-}

require_root -c 2 "mounts, loop devices and dockerd need it"
deploy/install-packages.sh

started=()
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
  local rc=$?
  if [[ ${KEEP_RUNNING:-0} != 1 ]]; then
    for what in "${started[@]}"; do
      case "$what" in
        cluster) deploy/ceph/dev-cluster.sh down || rc=1 ;;
        docker) deploy/dev-docker.sh down || rc=1 ;;
      esac
    done
  fi
  exit "$rc"
}
trap cleanup EXIT

if [[ $tier != Fast ]]; then
  deploy/ceph/dev-cluster.sh status >/dev/null 2>&1 || { deploy/ceph/dev-cluster.sh up; started+=(cluster); }
  # Read, never evaluated (lib.sh's read_env), the same way quickstart.sh reads it.
  import_env deploy/ceph/dev-cluster.sh env
fi
if [[ -z $tier || $tier == Docker ]]; then
  deploy/dev-docker.sh status >/dev/null 2>&1 || { deploy/dev-docker.sh up; started+=(docker); }
  import_env deploy/dev-docker.sh env
fi

# The daemon the tests start is the one that ships: the Native AOT binary (PluginProcess reads RBD_TEST_DAEMON).
if [[ $tier != Fast ]]; then
  RBD_TEST_DAEMON=$(deploy/publish.sh artifacts/test-daemon)
  export RBD_TEST_DAEMON
fi

filter=()
[[ -n $tier ]] && filter=(--filter "Tier=$tier")
export TESTCONTAINERS_RYUK_DISABLED=true
results=$(mktemp -d)
set +e
dotnet test RbdPlugin.sln -c Release "${filter[@]}" --logger "trx;LogFileName=results.trx" \
  --results-directory "$results" --logger "console;verbosity=normal"
rc=$?
set -e
# One plain summary line, whatever the runner printed.
if trx=$(find "$results" -name '*.trx' | head -n 1) && [[ -n $trx ]]; then
  passed=$(grep -o 'passed="[0-9]*"' "$trx" | head -n 1 | tr -dc 0-9)
  failed=$(grep -o 'failed="[0-9]*"' "$trx" | head -n 1 | tr -dc 0-9)
  printf '%s passed, %s failed\n' "${passed:-0}" "${failed:-0}"
  [[ ${passed:-0} -gt 0 ]] || { log "no test ran"; rc=1; }
fi
rm -rf "$results"
exit "$rc"
