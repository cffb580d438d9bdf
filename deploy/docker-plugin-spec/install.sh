#!/usr/bin/env bash
# Builds and installs rbd-plugin on this host (run as root from anywhere in a checkout):
#
#   deploy/docker-plugin-spec/install.sh [--tls] [--no-build]
#
#   1. deploy/publish.sh: one Native AOT executable (no .NET runtime needed) -> /usr/local/bin/rbd-plugin
#      (replaced atomically, so a running daemon keeps its old copy until it restarts), and checks that it runs
#      with an empty environment, as systemd starts it.
#   2. /etc/rbd-plugin/rbd-plugin.json from rbd-plugin.json.example, only if absent (see write-config.sh).
#   3. The systemd unit rbd-plugin.service, enabled, if systemd is the init system (skipped elsewhere).
#   --tls: HTTPS with mutual TLS instead of the unix socket: dev certificates in /etc/rbd-plugin/tls (kept if
#      present; see make-dev-certs.sh), rbd.json -> /etc/docker/plugins/, and a new config listens on
#      127.0.0.1:8443 with no unix socket (Docker would find the socket first and never read rbd.json).
#   --no-build: install the binary from artifacts/publish as it is (e.g. built in CI by deploy/publish.sh).
#
# Idempotent: running it again changes only what differs and says what it did.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
LOG_PREFIX=install
# shellcheck source=deploy/lib.sh
source "$repo/deploy/lib.sh"
readonly BIN=/usr/local/bin/rbd-plugin
readonly CONF_DIR=/etc/rbd-plugin
readonly CONF=$CONF_DIR/rbd-plugin.json
readonly TLS_DIR=$CONF_DIR/tls
readonly UNIT=/etc/systemd/system/rbd-plugin.service
readonly ANNOUNCE_UNIT=/etc/systemd/system/rbd-plugin-announce.service
readonly DOCKER_PLUGIN_DIR=/etc/docker/plugins
publish_dir=$repo/artifacts/publish

tls=false
build=true
for arg in "$@"; do
  case "$arg" in
    --tls) tls=true ;;
    --no-build) build=false ;;
    -h|--help) script_help "$0"; exit 0 ;;
    *) die "unknown argument '$arg' (see --help)" ;;
  esac
done
require_root "it writes $BIN, $CONF_DIR and maybe $UNIT"

# install_file SRC DEST MODE: copy unless identical; atomic rename, so readers (or a running binary) never see a
# half-written file. Sets changed=true|false. (Not called in a condition: set -e must stay in force inside.)
changed=false
install_file() {
  local src=$1 dest=$2 mode=$3 tmp
  changed=false
  if [[ -f $dest ]] && cmp -s "$src" "$dest"; then
    log "$dest is up to date"
    return 0
  fi
  mkdir -p "$(dirname "$dest")"
  tmp=$(mktemp "$dest.XXXXXX")
  cp -- "$src" "$tmp" || { rm -f -- "$tmp"; return 1; }
  chmod "$mode" "$tmp"
  mv -f -- "$tmp" "$dest"
  changed=true
  log "installed $dest"
}

# ---- 1. the binary ------------------------------------------------------------------------------------------------
if $build; then
  "$repo/deploy/publish.sh" "$publish_dir" >/dev/null
fi
[[ -x $publish_dir/rbd-plugin ]] || die "$publish_dir/rbd-plugin missing (build failed, or --no-build without a build)"
# A native executable must not need anything beside it (rbd-plugin.dbg holds its symbols, for gdb only).
extra=$(find "$publish_dir" -mindepth 1 -maxdepth 1 ! -name rbd-plugin ! -name '*.dbg' -printf '%f ')
[[ -z $extra ]] || die "publish output has files besides the single binary: $extra"

install_file "$publish_dir/rbd-plugin" "$BIN" 0755
binary_changed=$changed

# systemd starts it with an empty environment: it must run that way (Native AOT needs no .NET runtime).
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$BIN" --help >/dev/null 2>&1 || {
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$BIN" --help 2>&1 | tail -n 5 >&2 || true
  die "$BIN --help fails in a clean environment"
}
log "$BIN --help runs in a clean environment"

# ---- 2. the config ------------------------------------------------------------------------------------------------
mkdir -p "$CONF_DIR"
chmod 0755 "$CONF_DIR"
if $tls; then
  "$here/write-config.sh" "$CONF" Socket= TcpListen=127.0.0.1:8443 \
    "TlsCert=$TLS_DIR/server.pem" "TlsKey=$TLS_DIR/server-key.pem" "TlsClientCa=$TLS_DIR/ca.pem"
else
  "$here/write-config.sh" "$CONF"
fi

# ---- 3. TLS mode --------------------------------------------------------------------------------------------------
if $tls; then
  "$here/make-dev-certs.sh" "$TLS_DIR"
  if [[ -e $DOCKER_PLUGIN_DIR/rbd.json ]] && ! cmp -s "$here/rbd.json" "$DOCKER_PLUGIN_DIR/rbd.json"; then
    log "kept $DOCKER_PLUGIN_DIR/rbd.json (it differs from $here/rbd.json; compare them by hand)"
  else
    install_file "$here/rbd.json" "$DOCKER_PLUGIN_DIR/rbd.json" 0644
  fi
  if grep -q '"Socket": *"[^"]' "$CONF"; then
    log "note: $CONF still sets Socket: Docker finds /run/docker/plugins/rbd.sock before rbd.json; set \"Socket\": \"\""
  fi
  log "note: dockerd activates a plugin once per lifetime: restart dockerd after switching transports"
fi

# ---- 4. systemd ---------------------------------------------------------------------------------------------------
# /run/systemd/system exists only when systemd is PID 1 (sd_booted(3)); containers and CI sandboxes often lack it.
if [[ -d /run/systemd/system ]]; then
  install_file "$here/rbd-plugin.service" "$UNIT" 0644
  unit_changed=$changed
  # A Swarm node lists the driver (and gets volume-driver=rbd tasks) only once dockerd has used it: this one-shot
  # makes it do so at every start of docker.service.
  install_file "$here/rbd-plugin-announce.service" "$ANNOUNCE_UNIT" 0644
  if $changed; then unit_changed=true; fi
  if $unit_changed; then systemctl daemon-reload; fi
  systemctl enable rbd-plugin.service rbd-plugin-announce.service >/dev/null 2>&1
  log "rbd-plugin.service enabled (starts before docker.service at boot), rbd-plugin-announce.service after it"
  if systemctl is-active --quiet rbd-plugin.service; then
    if $binary_changed || $unit_changed; then
      # Safe with volumes in use: KillMode=process keeps the mapper processes, the daemon reconciles on start.
      systemctl restart rbd-plugin.service
      log "rbd-plugin.service restarted on the new version"
    fi
  else
    log "start it with: systemctl start rbd-plugin.service   (after setting up $CONF)"
  fi
else
  log "systemd is not the init system here (PID 1 is $(cat /proc/1/comm 2>/dev/null || echo unknown)): unit not installed;"
  log "  run the daemon yourself: $BIN serve --config $CONF   (deploy/quickstart.sh does this)"
fi
log "done"
