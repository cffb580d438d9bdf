#!/usr/bin/env bash
# A throwaway single-node Ceph (Pacific) on 127.0.0.1 for development, demos and tests.
# One mon, one memstore OSD, pools `rbd` and `rbd-extra`, a client `client.docker` with `profile rbd` caps.
# Memstore keeps everything in RAM: whenever the OSD stops, the data is gone. Never use this for real data.
#
# Usage: dev-cluster.sh up|down|status|env      (see deploy/ceph/README.md)
# Environment: RBD_DEV_CEPH_DIR (state dir, default /var/lib/rbd-plugin-dev/ceph),
#              RBD_DEV_CEPH_TIMEOUT (seconds `up` may take, default 60),
#              RBD_DEV_CEPH_PORT (mon port on 127.0.0.1, default 6789; for a second cluster beside the usual one).
set -euo pipefail
LOG_PREFIX=dev-cluster
# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

readonly DIR="${RBD_DEV_CEPH_DIR:-/var/lib/rbd-plugin-dev/ceph}"
readonly TIMEOUT="${RBD_DEV_CEPH_TIMEOUT:-60}"
readonly MON_PORT="${RBD_DEV_CEPH_PORT:-6789}"
readonly MON_ADDR="127.0.0.1:$MON_PORT"
# msgr v1 only (see `ms bind msgr2` below). Ceph reads a bare ip:port as v1 only for port 6789, so other ports get
# an explicit `v1:` (without it monmaptool makes a v2 address and the OSD never reaches the mon).
if [[ "$MON_PORT" == 6789 ]]; then readonly MON_HOST="$MON_ADDR"; else readonly MON_HOST="v1:$MON_ADDR"; fi
readonly MON_ID="a"
readonly POOLS=(rbd rbd-extra)
readonly PG_NUM=8
readonly MEMSTORE_BYTES=$((32 * 1024 * 1024 * 1024))

readonly CONF="$DIR/ceph.conf"
readonly MARKER="$DIR/.rbd-plugin-dev-cluster"
readonly RUN_DIR="$DIR/run"
readonly LOG_DIR="$DIR/log"
readonly MON_KEYRING="$DIR/ceph.mon.keyring"
readonly ADMIN_KEYRING="$DIR/ceph.client.admin.keyring"
readonly DOCKER_KEYRING="$DIR/ceph.client.docker.keyring"
readonly MON_PIDFILE="$RUN_DIR/mon.$MON_ID.pid"
# The OSD id comes from `ceph osd create`; on a fresh cluster it is always 0.
readonly OSD_ID=0
readonly OSD_DATA="$DIR/osd/ceph-$OSD_ID"
readonly OSD_PIDFILE="$RUN_DIR/osd.$OSD_ID.pid"

# Whatever the caller exported for its own clients (e.g. after `eval "$(dev-cluster.sh env)"`) must not leak into
# the admin commands below: they always name their conf and identity explicitly.
unset CEPH_ARGS CEPH_CONF

check_dir() {
  # ceph.conf expands `$name`-style metavariables and `down` runs rm -rf: accept only plain absolute paths.
  [[ "$DIR" =~ ^/[A-Za-z0-9._/+-]+$ ]] || die "RBD_DEV_CEPH_DIR must be an absolute path of [A-Za-z0-9._/+-]: '$DIR'"
  [[ "$(realpath -m "$DIR")" != "/" ]] || die "RBD_DEV_CEPH_DIR must not be /"
  [[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "RBD_DEV_CEPH_TIMEOUT must be a positive integer: '$TIMEOUT'"
  if ! [[ "$MON_PORT" =~ ^[1-9][0-9]{0,4}$ ]] || ((MON_PORT > 65535)); then
    die "RBD_DEV_CEPH_PORT must be a port number: '$MON_PORT'"
  fi
}

# Serialise concurrent invocations (parallel test runs calling `up`). The lock file sits beside the state dir so
# `down` can remove the dir while holding it.
# Daemons are started with `9>&-`: a daemon inheriting the lock's fd would hold the lock for its whole life.
lock_state() { take_lock "${DIR%/}.lock" "$TIMEOUT"; }

# Every cluster call is bounded: a hung daemon must make `up` fail or re-bootstrap, never hang it.
# CALL_TIMEOUT is dynamically scoped: `healthy` lowers it with `local`.
CALL_TIMEOUT=20
ceph_admin() { timeout "$CALL_TIMEOUT" ceph -c "$CONF" -n client.admin --connect-timeout "$CALL_TIMEOUT" "$@"; }
rbd_admin() { timeout "$CALL_TIMEOUT" rbd -c "$CONF" -n client.admin "$@"; }
rbd_docker() { timeout "$CALL_TIMEOUT" rbd -c "$CONF" --id docker "$@"; }

# Prints the pid of a daemon this script started, if it is still alive: the pid file must name a live process
# whose argv is `<exe> -c <our conf> ...`. A stale or recycled pid prints nothing.
daemon_pid() {
  local exe="$1" pidfile="$2" pid
  if pid="$(alive_pid "$pidfile")" && is_ours "$pid" "$exe"; then printf '%s\n' "$pid"; fi
  return 0
}

is_ours() {
  local pid="$1" exe="$2" argv=()
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  mapfile -d '' -t argv <"/proc/$pid/cmdline" 2>/dev/null || return 1
  ((${#argv[@]} >= 3)) && [[ "${argv[0]##*/}" == "$exe" && "${argv[1]}" == "-c" && "${argv[2]}" == "$CONF" ]]
}

# Pids of our daemons, from the pid files, plus any process started with our exact conf whose pid file was lost
# (e.g. a half-finished bootstrap). Never matches daemons of another cluster.
# (Every function here ends in `return 0`: a trailing failed test would otherwise make `set -e` end the caller.)
our_pids() {
  local exe="$1" pidfile="$2" p
  {
    daemon_pid "$exe" "$pidfile"
    for p in /proc/[0-9]*; do
      if is_ours "${p#/proc/}" "$exe"; then printf '%s\n' "${p#/proc/}"; fi
    done
  } | sort -u
  return 0
}

# Prints those of the given pids that are alive (lib.sh's alive: a zombie counts as gone, it holds no sockets or
# files, and pid 1 here may take a while to reap it); fails when none is.
alive_of() {
  local pid any=1
  for pid in "$@"; do if alive "$pid"; then printf '%s\n' "$pid"; any=0; fi; done
  return "$any"
}

stop_daemons() {
  local pids=() left=()
  mapfile -t pids < <(our_pids ceph-osd "$OSD_PIDFILE"; our_pids ceph-mon "$MON_PIDFILE")
  ((${#pids[@]})) || return 0
  log "stopping pids ${pids[*]}"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait_until 10 ! alive_of "${pids[@]}" && return 0
  mapfile -t left < <(alive_of "${pids[@]}")
  log "still alive after 10s, SIGKILL ${left[*]}"
  kill -KILL "${left[@]}" 2>/dev/null || true
  wait_until 10 ! alive_of "${left[@]}" || die "pids $(alive_of "${left[@]}" | tr '\n' ' ')survive SIGKILL"
}

remove_state() {
  [[ -e "$DIR" ]] || return 0
  # Refuse to delete a directory this script did not create.
  if [[ ! -e "$MARKER" ]] && [[ -n "$(ls -A "$DIR")" ]]; then
    die "$DIR is not empty and was not created by dev-cluster.sh; refusing to delete it"
  fi
  rm -rf -- "$DIR"
}

# Healthy = both daemons alive, no HEALTH_ERR, and client.docker can list both pools.
healthy() {
  local CALL_TIMEOUT=8
  [[ -e "$MARKER" && -r "$CONF" ]] || return 1
  [[ -n "$(daemon_pid ceph-mon "$MON_PIDFILE")" && -n "$(daemon_pid ceph-osd "$OSD_PIDFILE")" ]] || return 1
  local health pool
  health="$(ceph_admin health 2>/dev/null)" || return 1
  [[ "$health" != HEALTH_ERR* ]] || return 1
  for pool in "${POOLS[@]}"; do rbd_docker ls "$pool" >/dev/null 2>&1 || return 1; done
}

# Seconds until DEADLINE ($SECONDS-based, as `up` keeps it), at least 1.
left() { local n=$(($1 - SECONDS)); echo $((n > 1 ? n : 1)); }

# wait_for DEADLINE DESCRIPTION COMMAND...: retry COMMAND until it succeeds or the deadline passes.
wait_for() {
  local deadline="$1" what="$2"
  shift 2
  wait_until "$(left "$deadline")" "$@" || die "timed out waiting for $what (logs: $LOG_DIR)"
}
osd_up() { [[ "$(ceph_admin osd stat -f json 2>/dev/null)" == *'"num_up_osds":1,'* ]]; }
docker_can_list() { local pool; for pool in "${POOLS[@]}"; do rbd_docker ls "$pool" || return 1; done; }

write_conf() {
  local fsid="$1"
  cat >"$CONF" <<EOF
# Generated by deploy/ceph/dev-cluster.sh: a single-node dev cluster on 127.0.0.1. Data lives in RAM (memstore).
[global]
fsid = $fsid
mon host = $MON_HOST
public addr = 127.0.0.1
cluster addr = 127.0.0.1
# One port, one protocol: the mon listens only on $MON_ADDR (msgr v1), the OSD only on 127.0.0.1.
ms bind msgr2 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
run dir = $RUN_DIR
log file = $LOG_DIR/\$cluster-\$name.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = $PG_NUM
osd pool default pgp num = $PG_NUM
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon warn on msgr2 not enabled = false
# Ceph's defaults, spelled out because the plugin and its tests rely on them.
rbd default features = layering, exclusive-lock, object-map, fast-diff, deep-flatten

[mon]
mon data = $DIR/mon/\$cluster-\$id
pid file = \$run_dir/\$name.pid
# No mgr runs here. Without this the mon raises MGR_DOWN (WARN, later ERR) two minutes after mkfs.
mon mgr mkfs grace = 315360000

[osd]
osd data = $DIR/osd/\$cluster-\$id
keyring = \$osd_data/keyring
pid file = \$run_dir/\$name.pid
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
osd crush update on start = true

[client]
# One admin socket per process, or every second concurrent client fails to bind it.
admin socket = \$run_dir/\$cluster-\$name.\$pid.asok

[client.admin]
keyring = $ADMIN_KEYRING

[client.docker]
keyring = $DOCKER_KEYRING
EOF
}

bootstrap() {
  local deadline=$((SECONDS + TIMEOUT)) fsid osd_id pool
  if ss -Hltn "sport = :$MON_PORT" | grep -q .; then
    die "port $MON_PORT is already in use by a process this script did not start (another cluster?)"
  fi
  mkdir -p "$DIR" "$RUN_DIR" "$LOG_DIR" "$DIR/mon" "$OSD_DATA"
  touch "$MARKER"
  fsid="$(cat /proc/sys/kernel/random/uuid)"
  write_conf "$fsid"
  log "conf $CONF (fsid $fsid)"

  {
  umask 077
  ceph-authtool --create-keyring "$MON_KEYRING" --gen-key -n mon. --cap mon 'allow *'
  ceph-authtool --create-keyring "$ADMIN_KEYRING" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *'
  ceph-authtool --create-keyring "$DOCKER_KEYRING" --gen-key -n client.docker \
    --cap mon 'profile rbd' --cap osd "profile rbd pool=${POOLS[0]}, profile rbd pool=${POOLS[1]}"
  ceph-authtool "$MON_KEYRING" --import-keyring "$ADMIN_KEYRING"
  ceph-authtool "$MON_KEYRING" --import-keyring "$DOCKER_KEYRING"
  umask 022
  } >/dev/null
  log "keyrings: admin, docker, mon"

  monmaptool --create --fsid "$fsid" --addv "$MON_ID" "[v1:$MON_ADDR]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i "$MON_ID" --monmap "$DIR/monmap" --keyring "$MON_KEYRING" \
    || die "ceph-mon --mkfs failed (log: $LOG_DIR/ceph-mon.$MON_ID.log)"
  # A daemon's foreground half waits until the daemon has booted: bound it too.
  timeout "$(left "$deadline")" ceph-mon -c "$CONF" -i "$MON_ID" 9>&- || die "ceph-mon failed to start or boot in time (log: $LOG_DIR/ceph-mon.$MON_ID.log)"
  wait_for "$deadline" "the mon to answer" ceph_admin mon stat
  log "mon.$MON_ID up on $MON_ADDR (pid $(daemon_pid ceph-mon "$MON_PIDFILE"))"

  osd_id="$(ceph_admin osd create)"
  [[ "$osd_id" == "$OSD_ID" ]] || die "ceph osd create returned id '$osd_id', expected $OSD_ID"
  ceph-osd -c "$CONF" -i "$OSD_ID" --mkfs --mkkey --no-mon-config >/dev/null 2>&1 \
    || die "ceph-osd --mkfs failed (log: $LOG_DIR/ceph-osd.$OSD_ID.log)"
  ceph_admin auth add "osd.$OSD_ID" osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' \
    -i "$OSD_DATA/keyring" 2>/dev/null
  timeout "$(left "$deadline")" ceph-osd -c "$CONF" -i "$OSD_ID" 9>&- 2>/dev/null || die "ceph-osd failed to start or boot in time (log: $LOG_DIR/ceph-osd.$OSD_ID.log)"
  wait_for "$deadline" "osd.$OSD_ID to come up" osd_up
  log "osd.$OSD_ID up (memstore, pid $(daemon_pid ceph-osd "$OSD_PIDFILE"))"

  for pool in "${POOLS[@]}"; do
    ceph_admin osd pool create "$pool" "$PG_NUM" "$PG_NUM" replicated --autoscale-mode=off >/dev/null 2>&1 \
      || die "ceph osd pool create $pool failed"
  done
  # `rbd pool init` waits for the new PGs to peer: initialise both pools at once (saves ~3 s).
  local inits=()
  for pool in "${POOLS[@]}"; do
    rbd_admin pool init "$pool" &
    inits+=("$!")
  done
  local pid
  for pid in "${inits[@]}"; do wait "$pid" || die "rbd pool init failed"; done
  log "pools ${POOLS[*]} created and rbd-initialised"

  wait_for "$deadline" "client.docker to list the pools" docker_can_list
}

cmd_up() {
  local start=$SECONDS
  lock_state
  if healthy; then
    log "already running ($CONF)"
    return 0
  fi
  if [[ -e "$DIR" ]]; then
    log "not healthy (dead daemon, stale pid file or no answer): wiping $DIR and starting over (memstore data is lost anyway)"
  fi
  stop_daemons
  remove_state
  bootstrap
  log "ready in $((SECONDS - start))s; use: eval \"\$($0 env)\""
}

cmd_down() {
  lock_state
  stop_daemons
  remove_state
  log "down; $DIR removed"
}

cmd_status() {
  local mon osd rc=0
  mon="$(daemon_pid ceph-mon "$MON_PIDFILE")"
  osd="$(daemon_pid ceph-osd "$OSD_PIDFILE")"
  echo "state dir: $DIR"
  echo "mon.$MON_ID: $(if [[ -n "$mon" ]]; then echo "running, pid $mon"; else echo "not running"; fi)"
  echo "osd.$OSD_ID: $(if [[ -n "$osd" ]]; then echo "running, pid $osd"; else echo "not running"; fi)"
  if [[ -n "$mon" ]]; then
    ceph_admin -s 2>&1 || true
  fi
  if healthy; then
    echo "healthy: client.docker can list pools ${POOLS[*]}"
  else
    echo "NOT healthy (run: $0 up)"
    rc=1
  fi
  return "$rc"
}

# One `export NAME=VALUE` a line, VALUE plain or in single quotes: what lib.sh's read_env reads (quickstart.sh,
# test.sh) and what a shell may eval. check_dir keeps the paths free of characters that would need quoting.
cmd_env() {
  [[ -r "$CONF" ]] || log "warning: $CONF does not exist yet; run: $0 up"
  printf 'export CEPH_CONF=%q\n' "$CONF"
  printf "export CEPH_ARGS='--id docker'\n"
  printf 'export RBD_PLUGIN_CEPH_CONF=%q\n' "$CONF"
  printf 'export RBD_PLUGIN_CEPH_ID=docker\n'
  printf 'export RBD_PLUGIN_KEYRING=%q\n' "$DOCKER_KEYRING"
  printf 'export RBD_PLUGIN_POOL=%s\n' "${POOLS[0]}"
  printf 'export RBD_PLUGIN_ALLOWED_POOLS=%s\n' "${POOLS[0]},${POOLS[1]}"
}

main() {
  check_dir
  case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    *)
      echo "usage: $0 up|down|status|env" >&2
      exit 2
      ;;
  esac
}

main "$@"
