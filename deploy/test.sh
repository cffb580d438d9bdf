#!/usr/bin/env bash
# Runs every test tier: fast (no cluster), cluster (real Ceph, real block devices), docker (a real dockerd), kernel
# (krbd and rbd-nbd on Debian's stock kernel in a QEMU guest, deploy/kernel-vm.sh). Brings up what the tiers need
# and stops again whatever it started itself (set KEEP_RUNNING=1 to leave them up for the next run). Exits
# non-zero on any failure.
#
#   deploy/test.sh              all tiers, as root (the Kernel tier last, alone: its guest is emulated on this machine's cores)
#   deploy/test.sh Fast         one tier (Fast, Cluster, Docker or Kernel); no cluster or engine is started for Fast
#   TEST_FILTER='FullyQualifiedName~Race' deploy/test.sh Kernel
#                               only the tests of the tier(s) that also match this dotnet test filter
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_PREFIX='test'
# shellcheck source=deploy/lib.sh
source deploy/lib.sh

tier=${1:-}

case "$tier" in
  "" | Fast | Cluster | Docker | Kernel) ;;
  *) die -c 2 "unknown tier '$tier': use Fast, Cluster, Docker or Kernel (or nothing for all)" ;;
esac
require_root -c 2 "mounts, loop devices, dockerd and the VM need it"
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
        kernel) deploy/kernel-vm.sh down || rc=1 ;;
      esac
    done
  fi
  exit "$rc"
}
trap cleanup EXIT

if [[ -z $tier || $tier == Cluster || $tier == Docker ]]; then
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

export TESTCONTAINERS_RYUK_DISABLED=true
results=$(mktemp -d)
rc=0
# run_tests NAME FILTER: one dotnet test run, its trx in $results/NAME.
run_tests() {
  local name=$1 filter=$2 args=()
  [[ -n ${TEST_FILTER:-} ]] && filter="${filter:+$filter&}(${TEST_FILTER})"
  [[ -n $filter ]] && args=(--filter "$filter")
  set +e
  dotnet test RbdPlugin.sln -c Release "${args[@]}" --logger "trx;LogFileName=$name.trx" \
    --results-directory "$results/$name" --logger "console;verbosity=normal"
  local code=$?
  set -e
  ((code == 0)) || rc=$code
}

# The Kernel tier's guest: booted once for the run, after the daemon is published, and given the daemon under a
# path named by its hash (lib.sh's guest_daemon), so a guest left running (KEEP_RUNNING=1) never runs an older build.
start_kernel_guest() {
  deploy/kernel-vm.sh status >/dev/null 2>&1 || { deploy/kernel-vm.sh up; started+=(kernel); }
  import_env deploy/kernel-vm.sh env
  RBD_KERNEL_DAEMON=$(guest_daemon "$RBD_TEST_DAEMON")
  export RBD_KERNEL_DAEMON
}

case "$tier" in
  "")
    run_tests main 'Tier!=Kernel'
    start_kernel_guest
    run_tests kernel 'Tier=Kernel'
    ;;
  Kernel)
    start_kernel_guest
    run_tests kernel 'Tier=Kernel'
    ;;
  *) run_tests main "Tier=$tier" ;;
esac

# One plain summary line, whatever the runner printed.
passed=0 failed=0
while IFS= read -r -d '' trx; do
  p=$(grep -o 'passed="[0-9]*"' "$trx" | head -n 1 | tr -dc 0-9)
  f=$(grep -o 'failed="[0-9]*"' "$trx" | head -n 1 | tr -dc 0-9)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done < <(find "$results" -name '*.trx' -print0)
printf '%s passed, %s failed\n' "$passed" "$failed"
((passed > 0)) || { log "no test ran"; rc=1; }
rm -rf "$results"
exit "$rc"
