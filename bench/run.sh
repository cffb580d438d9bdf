#!/usr/bin/env bash
# Benchmarks rbd-plugin side by side with the raw Ceph and kernel operations it wraps, on the dev cluster, and
# prints a markdown table (docs/benchmarks.md explains every row). Not part of the test run.
#
#   bench/run.sh                 ~5-7 min on this project's 2-core machines (under ~15 min at any load seen)
#   bench/run.sh --quick         ~2 min: fewer repetitions, no 1,000-volume List, no 50-cycle row
#
# Needs: root, the dev cluster running (deploy/ceph/dev-cluster.sh up, or deploy/quickstart.sh), the .NET SDK,
# rbd, rbd-fuse, losetup, mkfs.ext4; fio for the data-path rows (installed with apt-get if missing, unless
# BENCH_NO_INSTALL=1; without it dd runs the sequential rows only).
# It builds the daemon (Release) and the harness, starts its own `rbd-plugin serve` (own socket, state dir and
# mount root under a temp dir, fuse mapper, remove action delete, no unmount grace), makes its own pool
# rbd-bench-PID and client.rbd-bench-PID with the dev cluster's admin key (so List and `rbd ls` see only the
# benchmark's volumes), and removes all of it at the end, also after a failure or Ctrl-C.
# BENCH_SHARED_POOL=rbd-extra uses that pool and the RBD_PLUGIN_* client instead (no admin key needed; List rows
# then also count whatever else is in the pool). BENCH_OUT=FILE: where the table is written (default /tmp/...).
# BENCH_DAEMON=PATH: benchmark that rbd-plugin executable instead of publishing src/ (deploy/publish.sh, Native AOT).
# BENCH_BASELINE_DAEMON=PATH: before/after in one run instead of the full table: that build (e.g. main's) and the
# one under test serve side by side and are driven alternately (start, idle RSS, Get, List, one cycle alone, fio
# through a volume each one mounted, the storm).
# BENCH_ONLY=daemon,control,list,mount,data,concurrency: run only those groups of rows (with a baseline: daemon =
# start and idle RSS, control = Get, mount = the cycles alone, concurrency = the storm).
set -euo pipefail
cd "$(dirname "$0")/.."

LOG_PREFIX='bench'
# shellcheck source=deploy/lib.sh
source deploy/lib.sh

quick=()
for arg in "$@"; do
  case "$arg" in
    --quick) quick=(--quick) ;;
    -h | --help) sed -n '2,/^set /{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die -c 2 "unknown argument '$arg' (use --quick or nothing)" ;;
  esac
done

require_root -c 2 "mounts and loop devices need it"
for tool in dotnet rbd rbd-fuse ceph losetup mkfs.ext4 mount umount; do
  command -v "$tool" >/dev/null || die -c 2 "$tool not found (deploy/install-packages.sh installs the tools)"
done
if ! command -v fio >/dev/null && [[ ${BENCH_NO_INSTALL:-0} != 1 ]]; then
  log "installing fio (apt-get install fio) for the data-path rows"
  apt-get install -y -q fio >/dev/null 2>&1 || log "could not install fio: the random-I/O rows will be skipped"
fi

deploy/ceph/dev-cluster.sh status >/dev/null 2>&1 \
  || die -c 2 "the dev cluster is not running: start it with deploy/ceph/dev-cluster.sh up (or deploy/quickstart.sh)"
# Read, never evaluated (lib.sh's read_env), as test.sh and quickstart.sh read it.
import_env deploy/ceph/dev-cluster.sh env

# Builds PROJECT (Release) unless OUTPUT is newer than every source it is made from (its directory, the files it
# links from elsewhere, given after OUTPUT, and the build settings; a no-op `dotnet build` still costs 20-40 s on a
# busy 2-core machine).
build() {
  local project=$1 output=$2
  shift 2
  if [[ -x $output && -f $output.dll ]] && [[ -z $(find "$(dirname "$project")" "$@" Directory.Build.props Directory.Packages.props \
      global.json \( -path '*/bin' -o -path '*/obj' \) -prune -o -type f -newer "$output.dll" -print -quit) ]]; then
    log "$(basename "$output") is up to date"
  else
    log "building $(basename "$project") (Release)"
    dotnet build "$project" -c Release -nologo -v quiet -clp:ErrorsOnly >&2
  fi
}
if [[ -n ${BENCH_DAEMON:-} ]]; then
  daemon=$(realpath "$BENCH_DAEMON")
  log "benchmarking $daemon (BENCH_DAEMON)"
else
  # The daemon as it ships: the Native AOT binary of deploy/publish.sh (2-8 min on a busy 2-core machine).
  daemon=$PWD/artifacts/bench/rbd-plugin
  if [[ -x $daemon ]] && [[ -z $(find src/RbdPlugin Directory.Build.props Directory.Packages.props global.json \( -path '*/bin' -o -path '*/obj' \) \
      -prune -o -type f -newer "$daemon" -print -quit) ]]; then
    log "rbd-plugin is up to date"
  else
    deploy/publish.sh artifacts/bench >/dev/null
  fi
fi
baseline=()
[[ -n ${BENCH_BASELINE_DAEMON:-} ]] && baseline=(--baseline-daemon "$(realpath "$BENCH_BASELINE_DAEMON")")
harness=$PWD/bench/RbdPlugin.Bench/bin/Release/net10.0/rbd-plugin-bench
build bench/RbdPlugin.Bench/RbdPlugin.Bench.csproj "$harness" src/RbdPlugin/Operations/Admin/UnixSocketHttpClient.cs \
  src/RbdPlugin.Tests/Infrastructure/PluginClient.cs
[[ -x $daemon && -x $harness ]] || die -c 2 "build outputs not found: $daemon, $harness"

work=$(mktemp -d /tmp/rbd-plugin-bench.XXXXXX)
out=${BENCH_OUT:-/tmp/rbd-plugin-bench-$(date +%Y%m%d-%H%M%S).md}
target=()
if [[ -n ${BENCH_SHARED_POOL:-} ]]; then
  target=(--pool "$BENCH_SHARED_POOL" --ceph-id "$RBD_PLUGIN_CEPH_ID" --keyring "$RBD_PLUGIN_KEYRING")
else
  target=(--own-pool "rbd-bench-$$")
fi

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local own=()
  [[ -z ${BENCH_SHARED_POOL:-} ]] && own=(--own-pool "rbd-bench-$$")
  "$harness" cleanup --work "$work" --ceph-conf "$CEPH_CONF" "${own[@]}" || { log "cleanup reported problems (above)"; rc=1; }
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

only=()
[[ -n ${BENCH_ONLY:-} ]] && only=(--only "$BENCH_ONLY")
"$harness" run --daemon "$daemon" --work "$work" --ceph-conf "$CEPH_CONF" "${target[@]}" --out "$out" "${quick[@]}" "${only[@]}" "${baseline[@]}"
