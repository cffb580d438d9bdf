#!/usr/bin/env bash
# Everything on one machine, for trying rbd-plugin out (Debian 12 with the .NET 10 SDK; run as root):
#
#   deploy/quickstart.sh [up]   packages (deploy/install-packages.sh), build + install, dev Ceph cluster, config,
#                               plugin daemon, Docker engine
#   deploy/quickstart.sh down   stop the plugin, engine and cluster that quickstart started (nothing else)
#   deploy/quickstart.sh status one line per component
#
# Idempotent: each component already running is reported and left alone. The dev cluster keeps its data in
# memory (memstore): volumes do not survive `down`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
LOG_PREFIX=quickstart
# shellcheck source=deploy/lib.sh
source "$here/lib.sh"
readonly BIN=/usr/local/bin/rbd-plugin
readonly CONF=/etc/rbd-plugin/rbd-plugin.json
readonly PIDFILE=/run/rbd-plugin.pid
readonly LOGFILE=/var/log/rbd-plugin.log
readonly MARKERS=/run/rbd-plugin-quickstart   # which components this script started, for `down`
readonly PLUGIN_START_TIMEOUT=60
readonly PLUGIN_STOP_TIMEOUT=30
cluster=$repo/deploy/ceph/dev-cluster.sh
dev_docker=$here/dev-docker.sh

# ---- helpers ----------------------------------------------------------------------------------------------------
# The unix socket the config serves on (the template's default if there is no config yet).
plugin_socket() {
  local line re='^[[:space:]]*"Socket":[[:space:]]*"([^"]*)"'
  if [[ -r $CONF ]]; then
    while IFS= read -r line; do
      if [[ $line =~ $re ]]; then printf '%s\n' "${BASH_REMATCH[1]}"; return 0; fi
    done <"$CONF"
  fi
  printf '%s\n' /run/docker/plugins/rbd.sock
}

plugin_answers() {
  local sock
  sock=$(plugin_socket)
  [[ -S $sock ]] || return 1
  curl -fsS --max-time 3 --unix-socket "$sock" -X POST http://plugin/Plugin.Activate 2>/dev/null |
    grep -q VolumeDriver
}

# The pid in our pidfile if it is a live rbd-plugin (not a zombie, not a recycled pid).
plugin_pid() { alive_pid "$PIDFILE" rbd-plugin; }

cluster_running() { [[ -x $cluster ]] && "$cluster" status >/dev/null 2>&1; }

mark() { mkdir -p "$MARKERS"; touch "$MARKERS/$1"; }
marked() { [[ -e $MARKERS/$1 ]]; }

# UPPER_SNAKE -> PascalCase (CEPH_CONF -> CephConf, ALLOWED_POOLS -> AllowedPools).
pascal() {
  local word out="" lower
  local -a words
  IFS=_ read -r -a words <<<"$1"
  for word in "${words[@]}"; do
    lower=${word,,}
    out+=${lower^}
  done
  printf '%s\n' "$out"
}

# Config overrides (Key=Value lines) from `dev-cluster.sh env`, read by lib.sh's read_env (never evaluated), as
# test.sh reads it: its RBD_PLUGIN_* names that are keys of the config template.
cluster_overrides() {
  local env_out pairs pair name key template=$here/docker-plugin-spec/rbd-plugin.json.example
  # Called inside $(...), where bash turns set -e off: every failure exits explicitly.
  env_out=$("$cluster" env) || die "$cluster env failed"
  pairs=$(read_env <<<"$env_out") || exit 1
  while IFS= read -r pair; do
    name=${pair%%=*}
    [[ $name == RBD_PLUGIN_* ]] || continue
    key=$(pascal "${name#RBD_PLUGIN_}")
    if grep -q "^  \"$key\": " "$template"; then printf '%s=%s\n' "$key" "${pair#*=}"; fi
  done <<<"$pairs"
}

# ---- up -----------------------------------------------------------------------------------------------------------
# The one package list is install-packages.sh's (the tests use it too): clang for the Native AOT build included.
ensure_packages() {
  log "packages: deploy/install-packages.sh"
  "$here/install-packages.sh"
}

start_cluster() {
  [[ -x $cluster ]] || die "$cluster not found: the dev Ceph cluster script is needed"
  if cluster_running; then
    log "ceph: dev cluster already running"
  else
    log "ceph: starting the dev cluster"
    "$cluster" up
    mark cluster
  fi
}

write_config() {
  local text
  local -a overrides
  text=$(cluster_overrides)   # a failure here stops the script (set -e); inside < <(...) it would not
  mapfile -t overrides <<<"$text"
  [[ -n $text ]] || die "dev-cluster.sh env printed no RBD_PLUGIN_* settings"
  # Writes only if absent or still the untouched template from install.sh; an edited config is kept.
  "$here/docker-plugin-spec/write-config.sh" "$CONF" "${overrides[@]}"
}

# During start-up: done waiting once the plugin answers, or once its process is gone.
plugin_answers_or_exited() { plugin_answers || ! plugin_pid >/dev/null; }

start_plugin() {
  local pid sock
  sock=$(plugin_socket)
  [[ -n $sock ]] || die "$CONF sets no unix Socket (TLS mode?): quickstart drives the plugin over its unix socket"
  if plugin_answers; then
    if pid=$(plugin_pid); then
      log "plugin: already running (pid $pid) and answering on $sock"
      if [[ $(readlink "/proc/$pid/exe") == *" (deleted)" ]]; then
        log "plugin: note: $BIN was updated since it started; restart it: $0 down && $0"
      fi
    else
      log "plugin: something already answers on $sock (not started by quickstart): using it"
    fi
    return 0
  fi
  if pid=$(plugin_pid); then
    log "plugin: pid $pid is running but not answering yet; waiting for it"
  else
    mkdir -p "$(dirname "$sock")" "$(dirname "$LOGFILE")"
    printf '\n==== %s quickstart: rbd-plugin serve\n' "$(date -Is)" >>"$LOGFILE"
    # nohup + its own session: it outlives this shell and the terminal. The inner shell writes its own pid, so the
    # pidfile is right whether or not setsid had to fork.
    # shellcheck disable=SC2016 # expanded by the inner shell
    nohup setsid bash -c 'echo "$$" >"$1"; exec "$2" serve --config "$3"' rbd-plugin-start \
      "$PIDFILE" "$BIN" "$CONF" </dev/null >>"$LOGFILE" 2>&1 &
    sleep 0.2
    pid=$(plugin_pid) || { tail -n 20 "$LOGFILE" >&2; die "rbd-plugin exited at once (log: $LOGFILE)"; }
    mark plugin
    log "plugin: started (pid $pid, log $LOGFILE); waiting up to ${PLUGIN_START_TIMEOUT}s for $sock"
  fi
  if ! wait_until "$PLUGIN_START_TIMEOUT" plugin_answers_or_exited; then
    tail -n 20 "$LOGFILE" >&2 || true
    die "rbd-plugin did not answer on $sock within ${PLUGIN_START_TIMEOUT}s (still running as pid $pid)"
  fi
  if ! plugin_answers; then
    tail -n 20 "$LOGFILE" >&2 || true
    die "rbd-plugin exited during start-up (log: $LOGFILE)"
  fi
  log "plugin: answering on $sock"
}

start_docker() {
  if "$dev_docker" status >/dev/null 2>&1; then
    log "docker: engine already running"
    "$dev_docker" up  # only makes sure busybox:local exists
  else
    log "docker: starting the dev engine"
    "$dev_docker" up
    mark docker
  fi
}

cmd_up() {
  ensure_packages
  log "build: deploy/docker-plugin-spec/install.sh"
  "$here/docker-plugin-spec/install.sh"
  start_cluster
  write_config
  # The plugin before the engine: dockerd asks the plugin about each volume it knows while it starts, and waits
  # ~15 s per volume for a plugin that is not there yet.
  start_plugin
  start_docker
  cat <<EOF

Everything is up. Try:
  docker volume create -d rbd -o size=10G db1
  docker run --rm --network none -v db1:/data busybox:local sh -c 'echo hello > /data/hello'
  docker run --rm --network none -v db1:/data busybox:local cat /data/hello
  docker volume inspect db1
  docker volume ls
  docker volume rm db1

Plugin log: $LOGFILE    config: $CONF    status: $0 status    stop: $0 down
EOF
}

# ---- down ---------------------------------------------------------------------------------------------------------
stop_plugin() {
  local pid
  if ! pid=$(plugin_pid); then
    rm -f -- "$PIDFILE"
    if plugin_answers; then
      log "plugin: the one answering on $(plugin_socket) was not started by quickstart: left running"
    else
      log "plugin: not running"
    fi
    return 0
  fi
  log "plugin: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until "$PLUGIN_STOP_TIMEOUT" ! plugin_pid; then
    log "plugin: still running after ${PLUGIN_STOP_TIMEOUT}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f -- "$PIDFILE" "$MARKERS/plugin"
  log "plugin: stopped"
}

cmd_down() {
  # Engine first (its containers' Unmounts still reach the plugin), then the plugin, then the cluster it used.
  if marked docker; then
    "$dev_docker" down
    rm -f -- "$MARKERS/docker"
  else
    log "docker: engine not started by quickstart: left running"
  fi
  stop_plugin
  if grep -q " $(realpath -m /var/lib/rbd-plugin)/" /proc/self/mountinfo; then
    log "warning: mounts left under /var/lib/rbd-plugin (see: findmnt -R /var/lib/rbd-plugin)"
  fi
  if marked cluster; then
    "$cluster" down
    rm -f -- "$MARKERS/cluster"
  else
    log "ceph: dev cluster not started by quickstart: left running"
  fi
}

# The report goes to stdout (it is what `status` prints), the progress of up and down to stderr.
cmd_status() {
  local pid
  if cluster_running; then echo "ceph: running"; else echo "ceph: not running"; fi
  if plugin_answers; then
    if pid=$(plugin_pid); then echo "plugin: running (pid $pid)"; else echo "plugin: answering (not started by quickstart)"; fi
  else
    echo "plugin: not answering on $(plugin_socket)"
  fi
  if "$dev_docker" status >/dev/null 2>&1; then echo "docker: running"; else echo "docker: not running"; fi
}

case "${1:-up}" in
  up|down)
    require_root "packages, mounts, loop devices and dockerd need it"
    "cmd_${1:-up}"
    ;;
  status) cmd_status ;;
  -h|--help|help) script_help "$0" ;;
  *) die "usage: $0 [up|down|status]" ;;
esac
