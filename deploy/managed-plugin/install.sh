#!/usr/bin/env bash
# Installs the managed plugin from a directory made by build.sh on a Docker engine (DOCKER_HOST, or -H):
#
#   deploy/managed-plugin/install.sh [-H HOST] [--name NAME] [--ceph-dir DIR] [--state-dir DIR] [--set KEY=VALUE]...
#                                    [--replace] [--timeout SECONDS] PLUGIN_DIR
#
#   --name       the plugin's name, which is the volume driver's name (default rbd, i.e. rbd:latest)
#   --ceph-dir   the host directory mounted at /etc/ceph in the plugin: ceph.conf and the client's keyring
#                (default /etc/ceph). The key stays in that file; `docker plugin inspect` shows env, never it.
#   --state-dir  the host directory mounted at the plugin's StateDir: the mount journal, the lease token, the admin
#                socket (default /var/lib/rbd-plugin-managed; created root-only). A host directory, not the propagated
#                mount, because an upgrade is a new plugin with a new id, and Docker deletes a removed plugin's
#                propagated mount with it. One enabled plugin per state directory.
#   --set        a setting, RBD_PLUGIN_X=VALUE (docs/configuration.md), as `docker plugin set` takes it
#   --replace    NAME exists already: disable it (-f: Docker refuses a plain disable while any volume of the
#                driver exists) and remove it first. That is an upgrade in place: the volumes' records in Docker
#                name the driver, which keeps its name. Containers using volumes of NAME lose them (see
#                docs/deployment.md); stop them first.
#   --timeout    seconds `docker plugin enable` may take (default 30)
#
# Steps: docker plugin create NAME PLUGIN_DIR; docker plugin set NAME ceph.source=DIR state.source=DIR KEY=VALUE...;
# docker plugin
# enable NAME. The settings are validated by the daemon as it starts, with the same messages as `rbd-plugin
# serve`; Docker cannot show them, so a failed enable prints the engine's log lines of the plugin when it can
# (DOCKERD_LOG=FILE, default: journalctl -u docker).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOG_PREFIX=managed-plugin
# shellcheck source=deploy/lib.sh
source "$repo/deploy/lib.sh"

docker_args=()
name=rbd
ceph_dir=/etc/ceph
state_dir=/var/lib/rbd-plugin-managed
settings=()
replace=false
timeout=30
dir=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -H|--host) [[ $# -ge 2 ]] || die -c 2 "$1 needs a value"; docker_args=(-H "$2"); shift 2 ;;
    --name) [[ $# -ge 2 ]] || die -c 2 "--name needs a value"; name=$2; shift 2 ;;
    --ceph-dir) [[ $# -ge 2 ]] || die -c 2 "--ceph-dir needs a value"; ceph_dir=$2; shift 2 ;;
    --state-dir) [[ $# -ge 2 ]] || die -c 2 "--state-dir needs a value"; state_dir=$2; shift 2 ;;
    --set) [[ $# -ge 2 && $2 =~ ^RBD_PLUGIN_[A-Z_]+=.*$ ]] || die -c 2 "--set needs RBD_PLUGIN_X=VALUE"; settings+=("$2"); shift 2 ;;
    --replace) replace=true; shift ;;
    --timeout) [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || die -c 2 "--timeout needs seconds"; timeout=$2; shift 2 ;;
    -h|--help) script_help "$0"; exit 0 ;;
    -*) die -c 2 "unknown option $1 (see --help)" ;;
    *) [[ -z $dir ]] || die -c 2 "one PLUGIN_DIR only"; dir=$1; shift ;;
  esac
done
[[ -n $dir ]] || die -c 2 "no PLUGIN_DIR (make one with deploy/managed-plugin/build.sh)"
[[ -f $dir/config.json && -d $dir/rootfs ]] || die -c 2 "$dir has no config.json and rootfs/ (make it with deploy/managed-plugin/build.sh)"
[[ -d $ceph_dir ]] || die -c 2 "--ceph-dir $ceph_dir does not exist"
[[ $state_dir == /* ]] || die -c 2 "--state-dir must be an absolute path"
[[ $name =~ ^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?$ ]] || die -c 2 "--name '$name' is not a plugin name"

dk() { docker "${docker_args[@]}" "$@"; }

if dk plugin inspect "$name" >/dev/null 2>&1; then
  $replace || die "plugin $name exists already; --replace upgrades it in place"
  if [[ $(dk plugin inspect -f '{{.Enabled}}' "$name") == true ]]; then
    log "disabling $name (-f)"
    dk plugin disable -f "$name" >/dev/null
  fi
  dk plugin rm -f "$name" >/dev/null
  log "removed the old $name"
fi

log "docker plugin create $name $dir"
dk plugin create "$name" "$dir" >/dev/null
# Docker does not create a bind mount's source; the daemon keeps its state root-only.
# shellcheck disable=SC2174 # only the state directory itself must be root-only
mkdir -p -m 0700 "$state_dir"
dk plugin set "$name" "ceph.source=$(realpath "$ceph_dir")" "state.source=$(realpath "$state_dir")" "${settings[@]}"
log "docker plugin enable $name (up to ${timeout}s)"
if ! dk plugin enable --timeout "$timeout" "$name" >/dev/null; then
  id=$(dk plugin inspect -f '{{.Id}}' "$name")
  log "the plugin did not start; what it said (the engine's log, plugin=$id):"
  if [[ -n ${DOCKERD_LOG:-} ]]; then
    grep -F "plugin=$id" "$DOCKERD_LOG" | tail -n 20 >&2 || true
  elif command -v journalctl >/dev/null; then
    journalctl -u docker --no-pager -n 200 2>/dev/null | grep -F "plugin=$id" | tail -n 20 >&2 || true
  fi
  die "docker plugin enable $name failed; fix the setting it names (docker plugin set $name RBD_PLUGIN_X=VALUE) and enable it again"
fi
log "plugin $name enabled: docker volume create -d $name -o size=10G VOLUME"
