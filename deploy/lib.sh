# shellcheck shell=bash
# The shell helpers the deploy scripts share. Source it near the top of a script, after `set -euo pipefail`:
#
#   LOG_PREFIX=dev-cluster
#   source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
#
#   log MSG...                      "PREFIX: MSG" on stderr (stdout stays free for what a script prints as data)
#   die [-c CODE] MSG...            "PREFIX: error: MSG" on stderr, then exit CODE (default 1)
#   require_root [-c CODE] [WHY]    die unless running as root (no sudo: a fresh root machine has none)
#   script_help [FILE]              print FILE's header comment (line 2 down to `set -euo`), default the script
#   take_lock FILE SECONDS          hold an flock on FILE on fd 9 until the script exits; start daemons with 9>&-
#   alive PID                       the process exists and is not a zombie
#   alive_pid PIDFILE [COMM]        print the pid PIDFILE names if that process is alive (and its comm is COMM)
#   wait_until [-p PID] SECONDS [!] CMD [ARG...]
#                                   run CMD every 0.2 s until it succeeds (after `!`: fails); 0 then, 1 once SECONDS
#                                   have passed, 2 as soon as PID (with -p) is no longer alive
#   import_env CMD [ARG...]         run CMD (dev-cluster.sh env, dev-docker.sh env) and export what it prints, read
#                                   by read_env: never evaluated
#   read_env                        stdin `export NAME=VALUE` lines -> stdout NAME=VALUE lines, checked (below)
#
# Only functions and no side effects: sourcing it changes nothing but LOG_PREFIX's default.
: "${LOG_PREFIX:=$(basename "$0" .sh)}"

log() { printf '%s: %s\n' "$LOG_PREFIX" "$*" >&2; }

die() {
  local code=1
  if [[ ${1:-} == -c ]]; then code=$2; shift 2; fi
  printf '%s: error: %s\n' "$LOG_PREFIX" "$*" >&2
  exit "$code"
}

require_root() {
  local code=1
  if [[ ${1:-} == -c ]]; then code=$2; shift 2; fi
  [[ $EUID -eq 0 ]] || die -c "$code" "run as root${1:+ ($1)}"
}

script_help() { sed -n '2,/^set -euo/p' "${1:-$0}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'; }

take_lock() {
  local file=$1 seconds=$2
  mkdir -p "$(dirname "$file")"
  exec 9>"$file"
  flock -w "$seconds" 9 || die "another ${0##*/} holds $file for more than ${seconds}s"
}

# /proc/PID/stat is "PID (COMM) STATE ...", and COMM may hold spaces or parentheses: the state follows the last ") ".
alive() {
  local stat state
  [[ ${1:-} =~ ^[0-9]+$ ]] || return 1
  { IFS= read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  state=${stat##*) }
  state=${state%% *}
  [[ $state != Z && $state != X ]]
}

# A stale pid file (after a crash or a reboot) may name an unrelated process: COMM tells ours from a recycled pid.
alive_pid() {
  local pidfile=$1 comm=${2:-} pid
  [[ -r $pidfile ]] || return 1
  { IFS= read -r pid <"$pidfile"; } 2>/dev/null || return 1
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  if [[ -n $comm && $(cat "/proc/$pid/comm" 2>/dev/null) != "$comm" ]]; then return 1; fi
  printf '%s\n' "$pid"
}

wait_until() {
  local pid="" negate=false seconds int frac limit start now ok
  if [[ ${1:-} == -p ]]; then pid=$2; shift 2; fi
  seconds=${1:-}
  [[ $seconds =~ ^[0-9]+([.][0-9]{1,6})?$ && ! $seconds =~ ^0+([.]0*)?$ ]] ||
    die "wait_until: the timeout must be a positive number of seconds, got '$seconds'"
  shift
  if [[ ${1:-} == '!' ]]; then negate=true; shift; fi
  [[ $# -gt 0 ]] || die "wait_until: no command"
  int=${seconds%%.*}
  frac=000000
  if [[ $seconds == *.* ]]; then frac=${seconds#*.}000000; fi
  limit=$((10#$int * 1000000 + 10#${frac:0:6}))
  start=${EPOCHREALTIME//[!0-9]/}
  while :; do
    if "$@" >/dev/null 2>&1; then ok=true; else ok=false; fi
    if [[ $ok != "$negate" ]]; then return 0; fi
    if [[ -n $pid ]] && ! alive "$pid"; then return 2; fi
    now=${EPOCHREALTIME//[!0-9]/}
    ((now - start < limit)) || return 1
    sleep 0.2
  done
}

# The one way the deploy scripts read `dev-cluster.sh env` and `dev-docker.sh env`. Each line must be
#   export NAME=VALUE
# with NAME one of CEPH_CONF, CEPH_ARGS, DOCKER_HOST or RBD_PLUGIN_[A-Z_]+, and VALUE either plain
# ([A-Za-z0-9_./,:@%+=-]*) or in single quotes (the same characters and spaces). Anything else stops the script:
# a line this cannot read means the printing script changed, and guessing would be worse. Blank lines and
# comments are skipped. The same lines stay fit for a person's `eval "$(deploy/ceph/dev-cluster.sh env)"`.
read_env() {
  local line name value
  local re='^export ([A-Z][A-Z0-9_]*)=(.*)$' plain='^[A-Za-z0-9_./,:@%+=-]*$' quoted="^'([A-Za-z0-9_./,:@%+= -]*)'$"
  local names='^(CEPH_CONF|CEPH_ARGS|DOCKER_HOST|RBD_PLUGIN_[A-Z_]+|RBD_KERNEL_[A-Z_]+)$'
  while IFS= read -r line || [[ -n $line ]]; do
    [[ -n ${line//[[:space:]]/} && ! $line =~ ^[[:space:]]*# ]] || continue
    [[ $line =~ $re ]] || die "cannot read '$line' (expected: export NAME=VALUE)"
    name=${BASH_REMATCH[1]}
    value=${BASH_REMATCH[2]}
    [[ $name =~ $names ]] || die "cannot use '$line': $name is not a name these scripts take"
    if [[ $value =~ $quoted ]]; then
      value=${BASH_REMATCH[1]}
    elif ! [[ $value =~ $plain ]]; then
      die "cannot use '$line': the value has characters that would need a shell to read"
    fi
    printf '%s=%s\n' "$name" "$value"
  done
}

import_env() {
  local out parsed pair
  out=$("$@") || die "$* failed"
  parsed=$(read_env <<<"$out") || exit 1
  while IFS= read -r pair; do
    [[ -n $pair ]] || continue
    export "${pair%%=*}=${pair#*=}"
  done <<<"$parsed"
}

# guest_daemon BINARY: prints the path of a copy of BINARY named by its hash (artifacts/kernel-daemon/), for the
# Kernel tier's guest. The guest reads this machine's files over 9p and caches them, so a path it never read
# before is the only way to be sure that a guest left running runs this build. Older copies are removed.
guest_daemon() {
  local binary=$1 hash dir=artifacts/kernel-daemon
  hash=$(sha256sum "$binary" | cut -c1-16)
  mkdir -p "$dir"
  if [[ ! -x $dir/rbd-plugin-$hash ]]; then
    cp "$binary" "$dir/rbd-plugin-$hash.tmp"
    mv -f "$dir/rbd-plugin-$hash.tmp" "$dir/rbd-plugin-$hash"
  fi
  find "$dir" -maxdepth 1 -name 'rbd-plugin-*' ! -name "rbd-plugin-$hash" -delete
  realpath "$dir/rbd-plugin-$hash"
}
