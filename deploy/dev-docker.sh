#!/usr/bin/env bash
# A Docker engine for development and tests, plus an optional second, isolated engine ("host") for multi-host
# tests. Everything it creates lives under paths named rbd-plugin-dev*, so it never touches a system engine's state.
#
#   deploy/dev-docker.sh up     [--name NAME [--netns NS]]
#                                               start the engine unless one answers on its socket; ensure busybox:local;
#                                               --netns: the named engine in network namespace NS (made by the caller,
#                                               e.g. `ip netns add NS`), for Swarm nodes with addresses of their own
#   deploy/dev-docker.sh down   [--name NAME]   stop the engine this script started (pidfile), clean its mounts
#   deploy/dev-docker.sh restart --name NAME [--kill]
#                                               stop that engine's dockerd (SIGTERM, as a service restart; --kill:
#                                               SIGKILL, as a crash) and start it again in the same mount namespace
#   deploy/dev-docker.sh status [--name NAME]   exit 0 if the engine answers, 3 if not
#   deploy/dev-docker.sh env    [--name NAME]   print `export DOCKER_HOST=...`
#   deploy/dev-docker.sh exec   [--name NAME] -- CMD [ARG...]
#                                               run CMD with DOCKER_HOST set; with --name, inside that engine's mount
#                                               namespace (start that host's plugin this way)
#
# Without --name: the main engine on unix:///var/run/docker.sock (an engine already answering there is reused).
# With --name NAME: a second engine in its own mount namespace (unshare -m), with private directories bind-mounted
# over /run/docker/plugins and /etc/docker/plugins (so it sees only its own plugins, and the main engine never sees
# them), its socket at /var/run/rbd-plugin-dev-NAME/docker.sock and --cgroup-parent NAME. Mounts made inside that
# namespace (by its containers or its plugin) are invisible to the main engine: a "host" of its own. A `sleep
# infinity` anchor (pid in /var/run/rbd-plugin-dev-NAME/ns.pid) holds the namespace, so dockerd can restart inside
# it as on a real host, and `exec` joins it even while dockerd is down; `down` ends the anchor. With --netns NS the
# anchor, and so dockerd, are in network namespace NS (`ip netns exec` mounts a fresh /sys there, so the cgroup
# filesystem is mounted again: dockerd needs it); `exec` still joins the mount namespace only, so a plugin started
# that way reaches the cluster on the root namespace's loopback.
#
# Idempotent; safe after a crash (a stale pidfile or socket is detected and replaced). Needs root.
set -euo pipefail
LOG_PREFIX=dev-docker
# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly IMAGE=busybox:local
# Applets linked into the image. Changing this list or IMAGE_REV changes the image's label, and `up` rebuilds it.
readonly IMAGE_REV=2
readonly APPLETS=(sh cat echo ls sleep sha256sum dd mkdir rm touch sync test stat
  head tail wc cp mv ln df du mount umount grep sed tr cut sort uniq true false env id printf seq find xargs
  chmod chown hostname date kill ps uname truncate cmp tee wget nc which)
readonly IMAGE_LABEL=rbd-plugin-dev.busybox
# Seconds to wait for `docker info` after starting dockerd (RBD_DEV_DOCKER_START_TIMEOUT: the Kernel tier's emulated guest needs more).
readonly START_TIMEOUT=${RBD_DEV_DOCKER_START_TIMEOUT:-30}
readonly STOP_TIMEOUT=40    # seconds to wait for dockerd to exit after SIGTERM (it stops containers first)

usage() {
  script_help "$0" >&2
  exit 2
}

# ---- arguments --------------------------------------------------------------------------------------------------
[[ $# -ge 1 ]] || usage
cmd=$1
shift
name=""
netns=""
exec_argv=()
kill_signal=TERM
while [[ $# -gt 0 ]]; do
  case "$1" in
    --name) [[ $# -ge 2 ]] || usage; name=$2; shift 2 ;;
    --name=*) name=${1#--name=}; shift ;;
    --kill) [[ $cmd == restart ]] || usage; kill_signal=KILL; shift ;;
    --netns) [[ $cmd == up && $# -ge 2 ]] || usage; netns=$2; shift 2 ;;
    --) shift; exec_argv=("$@"); break ;;
    -h|--help) usage ;;
    *) if [[ $cmd == exec ]]; then exec_argv=("$@"); break; fi; usage ;;
  esac
done
if [[ -n $name && ! $name =~ ^[a-z][a-z0-9-]{0,15}$ ]]; then
  die "--name must match ^[a-z][a-z0-9-]{0,15}\$ (got '$name')"
fi
if [[ -n $netns ]]; then
  [[ -n $name ]] || die "--netns needs --name: the main engine stays in the root network namespace"
  [[ -e /run/netns/$netns ]] || die "--netns $netns: no such network namespace (make it with: ip netns add $netns)"
fi

# ---- layout -----------------------------------------------------------------------------------------------------
if [[ -z $name ]]; then
  socket=/var/run/docker.sock
  data_root=/var/lib/rbd-plugin-dev/docker
  exec_root=/var/run/rbd-plugin-dev-docker
  pidfile=/var/run/rbd-plugin-dev-docker.pid
  logfile=/var/log/rbd-plugin-dev-docker.log
  lockfile=/var/run/rbd-plugin-dev-docker.lock
else
  run_dir=/var/run/rbd-plugin-dev-$name
  socket=$run_dir/docker.sock
  data_root=/var/lib/rbd-plugin-dev/$name/docker
  exec_root=$run_dir/exec
  pidfile=$run_dir/docker.pid
  logfile=/var/log/rbd-plugin-dev-$name.log
  lockfile=/var/run/rbd-plugin-dev-$name.lock
  # Bind-mounted over /run/docker/plugins and /etc/docker/plugins inside the engine's namespace.
  plugins_run_dir=$run_dir/plugins
  plugins_etc_dir=/var/lib/rbd-plugin-dev/$name/etc-docker-plugins
  nspidfile=$run_dir/ns.pid
fi
docker_host=unix://$socket

# ---- helpers ----------------------------------------------------------------------------------------------------
dk() { docker -H "$docker_host" "$@"; }

engine_answers() { timeout 10 docker -H "$docker_host" info >/dev/null 2>&1; }

# The pid of the dockerd this script runs for this engine: the one in our pidfile if it is a live dockerd (a stale
# pidfile after a crash or reboot may name an unrelated process), else a live dockerd using our data-root (the
# pidfile was lost): never treat a running engine's mounts as leftovers.
# (lib.sh's alive: a zombie does not count, a killed dockerd may wait a while for its reaper.)
our_pid() {
  local pid cmdline
  if alive_pid "$pidfile" dockerd; then return 0; fi
  for pid in $(pgrep -x dockerd); do
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
    if [[ " $cmdline " == *" --data-root $data_root "* ]] && alive "$pid"; then
      printf '%s\n' "$pid"
      return 0
    fi
  done
  return 1
}

# The pid of the anchor holding a named engine's mount namespace, if it lives (a stale pidfile names no sleep, or a
# sleep in our own namespace).
ns_pid() {
  local pid
  [[ -n $name ]] || return 1
  pid=$(alive_pid "$nspidfile" sleep) || return 1
  [[ $(readlink "/proc/$pid/ns/mnt") != "$(readlink /proc/self/ns/mnt)" ]] || return 1
  printf '%s\n' "$pid"
}

# A fresh mount namespace whose mounts never propagate back, with its own plugin dirs, held by a sleep.
# Whether process $1's comm is $2.
comm_is() { [[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]]; }

start_namespace() {
  local pid
  mkdir -p "$plugins_run_dir" "$plugins_etc_dir" /run/docker/plugins /etc/docker/plugins
  local -a enter=()
  if [[ -n $netns ]]; then enter=(ip netns exec "$netns"); fi
  # shellcheck disable=SC2016 # $1.. are expanded by the inner shell
  setsid "${enter[@]}" unshare -m --propagation private -- /bin/sh -c '
    set -e
    mount --make-rprivate /
    if [ -n "$3" ] && ! mountpoint -q /sys/fs/cgroup; then mount -t cgroup2 none /sys/fs/cgroup; fi
    mount --bind "$1" /run/docker/plugins
    mount --bind "$2" /etc/docker/plugins
    exec sleep infinity' sh "$plugins_run_dir" "$plugins_etc_dir" "$netns" </dev/null >>"$logfile" 2>&1 9>&- &
  pid=$!
  # Ready once the shell has become the sleep (its mounts are done).
  wait_until -p "$pid" 10 comm_is "$pid" sleep || case $? in
    2) die "could not make a mount namespace for $name (see $logfile)" ;;
    *) die "the mount namespace for $name was not ready within 10s" ;;
  esac
  printf '%s\n' "$pid" >"$nspidfile"
  log "mount namespace for $name held by pid $pid"
}

# Mount points at or below $1 in this mount namespace, deepest first (mountinfo escapes spaces etc. as \ooo).
mounts_under() {
  local prefix mp
  prefix=$(realpath -m -- "$1")   # /var/run is usually a symlink to /run; mountinfo shows real paths
  while read -r _ _ _ _ mp _; do
    mp=$(printf '%b' "${mp//\\/\\0}")
    if [[ $mp == "$prefix" || $mp == "$prefix"/* ]]; then printf '%s\n' "$mp"; fi
  done </proc/self/mountinfo | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-
}

# Unmount what a dead engine left behind (netns files, container rootfs, shm) under its exec-root and data-root.
clean_mounts() {
  local dir mp n=0
  for dir in "$exec_root" "$data_root"; do
    while IFS= read -r mp; do
      [[ -n $mp ]] || continue
      umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || log "warning: could not unmount $mp"
      n=$((n + 1))
    done < <(mounts_under "$dir")
  done
  if [[ $n -gt 0 ]]; then log "unmounted $n leftover mount(s) under $exec_root and $data_root"; fi
}

ensure_image() {
  local want have old tmp applet
  # The label records the layout and applet list, so a change rebuilds the image.
  want=$(printf '%s\n' "$IMAGE_REV" "${APPLETS[@]}" | sha256sum | cut -c1-16)
  have=$(dk image inspect --format "{{ index .Config.Labels \"$IMAGE_LABEL\" }}" "$IMAGE" 2>/dev/null || true)
  if [[ $have == "$want" ]]; then
    log "image $IMAGE present"
    return 0
  fi
  old=$(dk image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
  [[ -x /bin/busybox ]] || die "/bin/busybox missing: apt-get install busybox-static"
  if ldd /bin/busybox >/dev/null 2>&1; then
    die "/bin/busybox is dynamically linked; the image needs busybox-static (apt-get install busybox-static)"
  fi
  tmp=$(mktemp -d /tmp/rbd-plugin-dev-rootfs.XXXXXX)
  # shellcheck disable=SC2064 # expand $tmp now: it is local
  trap "rm -rf -- '$tmp'" EXIT
  # No /data (nor anything else a test mounts a volume on): Docker copies an image directory's content into a
  # fresh volume with an extra Mount/Unmount pair, which would blur tests that count plugin calls.
  mkdir -p "$tmp/rootfs/bin" "$tmp/rootfs/etc" "$tmp/rootfs/tmp"
  chmod 1777 "$tmp/rootfs/tmp"
  cp /bin/busybox "$tmp/rootfs/bin/busybox"
  for applet in "${APPLETS[@]}"; do
    ln -s busybox "$tmp/rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$tmp/rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$tmp/rootfs/etc/group"
  tar -C "$tmp/rootfs" --numeric-owner --owner=0 --group=0 -cf - . |
    dk import --change 'CMD ["sh"]' --change "LABEL $IMAGE_LABEL=$want" - "$IMAGE" >/dev/null
  rm -rf -- "$tmp"
  trap - EXIT
  # The outdated image, now untagged; kept if a container still uses it.
  if [[ -n $old ]]; then dk image rm "$old" >/dev/null 2>&1 || true; fi
  log "image $IMAGE built from /bin/busybox (${#APPLETS[@]} applets)"
}

dockerd_args() {
  printf '%s\0' dockerd -H "$docker_host" --data-root "$data_root" --exec-root "$exec_root" --pidfile "$pidfile" \
    --bridge=none --iptables=false --ip-forward=false --ip-masq=false
  if [[ -n $name ]]; then printf '%s\0' --cgroup-parent "$name"; fi
}

start_engine() {
  local -a args
  local pid
  command -v dockerd >/dev/null || die "dockerd not found: apt-get install docker.io"
  mapfile -d '' -t args < <(dockerd_args)
  rm -f -- "$pidfile"          # stale (checked by the caller): dockerd refuses to start over a pidfile
  # dockerd reuses the containerd named in this pidfile if kill(pid, 0) succeeds, which it also does for a zombie
  # not yet reaped after a crash: it then waits for a socket nobody serves and gives up ("timeout waiting for
  # containerd to start"). A live orphaned containerd is fine to reuse; anything else is stale.
  local cpidfile=$exec_root/containerd/containerd.pid
  if [[ -r $cpidfile ]]; then
    alive_pid "$cpidfile" containerd >/dev/null || rm -f -- "$cpidfile"
  fi
  clean_mounts
  mkdir -p "$data_root" "$exec_root" "$(dirname "$socket")" "$(dirname "$logfile")"
  printf '\n==== %s dev-docker up %s\n' "$(date -Is)" "${name:-main}" >>"$logfile"
  if [[ -z $name ]]; then
    setsid "${args[@]}" </dev/null >>"$logfile" 2>&1 9>&- &
  else
    local ns
    ns=$(ns_pid) || { start_namespace; ns=$(ns_pid); }
    # nsenter execs dockerd: $! is dockerd's pid. The anchor's network namespace too (the root one unless --netns).
    setsid nsenter -t "$ns" -m -n -- "${args[@]}" </dev/null >>"$logfile" 2>&1 9>&- &
  fi
  pid=$!
  log "started dockerd (pid $pid, log $logfile); waiting up to ${START_TIMEOUT}s for it to answer on $socket"
  wait_until -p "$pid" "$START_TIMEOUT" engine_answers || {
    local rc=$?
    tail -n 20 "$logfile" >&2 || true
    [[ $rc -ne 2 ]] || die "dockerd exited during start-up (see $logfile)"
    die "dockerd did not answer within ${START_TIMEOUT}s (left running as pid $pid; see $logfile)"
  }
}

cmd_up() {
  local pid
  if engine_answers; then
    if pid=$(our_pid); then
      log "engine on $socket already running (pid $pid, started by this script)"
    else
      log "engine already answering on $socket (not started by this script): reusing it"
    fi
  elif pid=$(our_pid); then
    die "our dockerd (pid $pid) is running but does not answer on $socket; see $logfile, or run: $0 down${name:+ --name $name}"
  else
    start_engine
    log "engine up on $socket ($(dk version --format '{{.Server.Version}} (API {{.Server.APIVersion}})'))"
  fi
  ensure_image
}

# Signals dockerd $1 with $2 and waits for it to exit (SIGKILL after STOP_TIMEOUT: it stops containers first).
stop_dockerd() {
  local pid=$1
  log "stopping dockerd (pid $pid, SIG$2)"
  kill "-$2" "$pid" 2>/dev/null || true
  if ! wait_until "$STOP_TIMEOUT" ! alive "$pid"; then
    log "dockerd did not exit within ${STOP_TIMEOUT}s: sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f -- "$pidfile"
}

# Ends a named engine's namespace anchor; reports what else still runs in the namespace (and keeps it alive).
end_namespace() {
  local anchor ns p left=()
  anchor=$(ns_pid) || { rm -f -- "${nspidfile:-}"; return 0; }
  ns=$(readlink "/proc/$anchor/ns/mnt")
  for p in /proc/[0-9]*; do
    if [[ ${p#/proc/} != "$anchor" && $(readlink "$p/ns/mnt" 2>/dev/null) == "$ns" ]]; then left+=("${p#/proc/}"); fi
  done
  if [[ ${#left[@]} -gt 0 ]]; then
    # Processes started inside the namespace (e.g. this host's plugin) keep it alive; their owners stop them.
    log "note: still running in $name's mount namespace (started with '$0 exec --name $name'): pid ${left[*]}"
  fi
  kill -KILL "$anchor" 2>/dev/null || true
  rm -f -- "$nspidfile"
}

cmd_down() {
  local pid
  if ! pid=$(our_pid); then
    rm -f -- "$pidfile"
    if engine_answers; then
      log "engine on $socket was not started by this script: leaving it alone"
    else
      log "no engine of ours is running${name:+ for $name}"
    fi
    clean_mounts
    if [[ -n $name ]]; then end_namespace; fi
    return 0
  fi
  stop_dockerd "$pid" TERM
  clean_mounts
  if [[ -n $name ]]; then end_namespace; fi
  log "engine stopped"
}

# dockerd stops (or dies) and starts again; the namespace, and the mounts in it (the plugin's), stay, as on a host.
cmd_restart() {
  local pid
  [[ -n $name ]] || die "restart needs --name: the main engine is shared"
  pid=$(our_pid) || die "engine '$name' is not running: $0 up --name $name"
  ns_pid >/dev/null || die "engine '$name' has no namespace anchor (started by an older $0): $0 down --name $name; $0 up --name $name"
  stop_dockerd "$pid" "$kill_signal"
  start_engine
  log "engine $name restarted on $socket"
}

cmd_status() {
  local pid
  if engine_answers; then
    if pid=$(our_pid); then
      printf 'engine: running on %s (pid %s, started by this script, data-root %s)\n' "$socket" "$pid" "$data_root"
    else
      printf 'engine: running on %s (not started by this script)\n' "$socket"
    fi
    dk version --format 'version: {{.Server.Version}} (API {{.Server.APIVersion}})'
    if dk image inspect "$IMAGE" >/dev/null 2>&1; then
      printf 'image: %s present\n' "$IMAGE"
    else
      printf 'image: %s missing (run: %s up)\n' "$IMAGE" "$0"
    fi
    return 0
  fi
  if pid=$(our_pid); then
    printf 'engine: pid %s is running but does not answer on %s (see %s)\n' "$pid" "$socket" "$logfile"
  else
    printf 'engine: not running (%s)\n' "$socket"
  fi
  return 3
}

cmd_exec() {
  local pid
  [[ ${#exec_argv[@]} -gt 0 ]] || usage
  export DOCKER_HOST=$docker_host
  if [[ -z $name ]]; then
    exec "${exec_argv[@]}"
  fi
  # An engine started by an older version of this script is its namespace's anchor itself.
  pid=$(ns_pid) || pid=$(our_pid) || die "engine '$name' is not running: $0 up --name $name"
  exec nsenter -t "$pid" -m -- "${exec_argv[@]}"
}

case "$cmd" in
  up|down|restart)
    require_root "dockerd, its mounts and namespaces need it"
    take_lock "$lockfile" 120
    "cmd_$cmd"
    ;;
  status) cmd_status ;;
  env) printf 'export DOCKER_HOST=%q\n' "$docker_host" ;;
  exec) cmd_exec ;;
  -h|--help|help) usage ;;
  *) usage ;;
esac
