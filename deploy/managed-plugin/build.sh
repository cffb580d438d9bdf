#!/usr/bin/env bash
# Builds the managed (v2) Docker plugin's directory: config.json and rootfs/, ready for `docker plugin create`.
#
#   deploy/managed-plugin/build.sh [--binary PATH] [--release TEXT] [OUT_DIR]      prints OUT_DIR on stdout
#
#   OUT_DIR      default artifacts/managed-plugin (replaced)
#   --binary     the Native AOT rbd-plugin to put in (default: built now with deploy/publish.sh)
#   --release    written to rootfs/etc/rbd-plugin/release (default: the binary's --version). Docker refuses a
#                second plugin whose rootfs is identical to an existing one's, so two builds meant to be installed
#                side by side (an upgrade) must differ here.
#
# The rootfs is Debian bookworm made by mmdebstrap from Debian's packages: ceph-common (rbd, librados, librbd),
# rbd-fuse, rbd-nbd, e2fsprogs, xfsprogs, mount (mount, umount, losetup), util-linux (blkid, fsfreeze) and
# procps (kill), plus the libraries the AOT binary loads (libssl3 for TLS, zlib1g). mmdebstrap takes a minute or
# more, so its tarball is cached, one per package list:
#   RBD_PLUGIN_ROOTFS_CACHE   default /var/cache/rbd-plugin/managed-plugin
#   RBD_PLUGIN_DEBIAN_MIRROR  default http://deb.debian.org/debian (bookworm, bookworm-updates)
#   RBD_PLUGIN_DEBIAN_SECURITY default http://deb.debian.org/debian-security (bookworm-security)
# Needs root (mmdebstrap --mode=root keeps the files' owners) and the mmdebstrap package.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOG_PREFIX=managed-plugin
# shellcheck source=deploy/lib.sh
source "$repo/deploy/lib.sh"

readonly SUITE=bookworm
# Changing this list (or ROOTFS_REV) changes the cache key: the next build makes a new rootfs.
readonly PACKAGES=(ceph-common rbd-fuse rbd-nbd e2fsprogs xfsprogs mount util-linux procps libssl3 zlib1g cryptsetup-bin)
readonly ROOTFS_REV=1
# What the daemon runs (Node/): checked in the new rootfs, so a missing package fails here, not at the first Mount.
readonly TOOLS=(rbd rbd-fuse rbd-nbd losetup mount umount blkid mkfs.ext4 mke2fs mkfs.xfs resize2fs xfs_growfs fsfreeze kill cryptsetup)
readonly MMDEBSTRAP_TIMEOUT=1200

binary=""
release=""
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --binary) [[ $# -ge 2 ]] || die -c 2 "--binary needs a path"; binary=$2; shift 2 ;;
    --release) [[ $# -ge 2 ]] || die -c 2 "--release needs a value"; release=$2; shift 2 ;;
    -h|--help) script_help "$0"; exit 0 ;;
    -*) die -c 2 "unknown option $1 (see --help)" ;;
    *) [[ -z $out ]] || die -c 2 "one OUT_DIR only"; out=$1; shift ;;
  esac
done
require_root -c 2 "mmdebstrap --mode=root and the rootfs's file owners need it"
out=$(realpath -m "${out:-$repo/artifacts/managed-plugin}")
[[ $out != / && $out != "$repo" ]] || die -c 2 "refusing to replace $out"
command -v mmdebstrap >/dev/null || die -c 2 "mmdebstrap not found (apt-get install mmdebstrap; deploy/install-packages.sh does)"

mirror=${RBD_PLUGIN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${RBD_PLUGIN_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
sources=("deb $mirror $SUITE main" "deb $mirror $SUITE-updates main" "deb $security $SUITE-security main")
# No manuals, docs or translations: nobody reads them inside a plugin.
mmdebstrap_args=(--variant=essential --mode=root --format=tar "--include=$(IFS=,; echo "${PACKAGES[*]}")"
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias')
cache=${RBD_PLUGIN_ROOTFS_CACHE:-/var/cache/rbd-plugin/managed-plugin}
key=$(printf '%s\n' "$ROOTFS_REV" "$SUITE" "${sources[@]}" "${mmdebstrap_args[@]}" | sha256sum | cut -c1-16)
tarball=$cache/rootfs-$key.tar

# The rootfs tarball, made once per key; concurrent builds wait for the one making it.
ensure_rootfs() {
  local tmp started
  mkdir -p "$cache"
  take_lock "$cache/lock" "$MMDEBSTRAP_TIMEOUT"
  if [[ -s $tarball ]]; then
    log "rootfs $tarball (cached)"
    return 0
  fi
  # A build killed half-way left its temporary tarball and log (we hold the lock: nobody else is writing one).
  find "$cache" -maxdepth 1 -name '.rootfs-*' -delete
  tmp=$(mktemp --suffix=.tar "$cache/.rootfs-$key.XXXXXX")
  # shellcheck disable=SC2064 # expand $tmp now
  trap "rm -f -- '$tmp' '$tmp.log'" EXIT
  log "mmdebstrap $SUITE with ${PACKAGES[*]} -> $tarball (a minute or more)"
  started=$SECONDS
  # Mirrors are given, so mmdebstrap reads none from stdin.
  if ! timeout "$MMDEBSTRAP_TIMEOUT" mmdebstrap "${mmdebstrap_args[@]}" "$SUITE" "$tmp" "${sources[@]}" </dev/null >"$tmp.log" 2>&1; then
    tail -n 30 "$tmp.log" >&2
    rm -f -- "$tmp.log"
    die "mmdebstrap failed (or ran past ${MMDEBSTRAP_TIMEOUT}s)"
  fi
  rm -f -- "$tmp.log"
  mv -f -- "$tmp" "$tarball"
  trap - EXIT
  # Older package lists' tarballs are of no further use.
  find "$cache" -maxdepth 1 -name 'rootfs-*.tar' ! -name "rootfs-$key.tar" -delete
  log "rootfs made in $((SECONDS - started))s ($(du -h "$tarball" | cut -f1))"
}

if [[ -z $binary ]]; then
  binary=$("$repo/deploy/publish.sh")
fi
[[ -x $binary ]] || die -c 2 "$binary is not an executable"
if ldd "$binary" 2>/dev/null | grep -q libcoreclr; then
  die -c 2 "$binary needs the .NET runtime; give the Native AOT binary (deploy/publish.sh)"
fi
ensure_rootfs

rm -rf -- "$out"
mkdir -p "$out/rootfs"
tar -C "$out/rootfs" --numeric-owner -xf "$tarball"
install -m 0755 "$binary" "$out/rootfs/usr/local/bin/rbd-plugin"
# The propagated mount's directory (Docker creates it too; here it is plain to see).
mkdir -p "$out/rootfs/var/lib/rbd-plugin"
[[ -n $release ]] || release=$("$binary" --version)
mkdir -p "$out/rootfs/etc/rbd-plugin"
printf '%s\n' "$release" >"$out/rootfs/etc/rbd-plugin/release"
cp "$repo/deploy/managed-plugin/config.json" "$out/config.json"

# The binary starts against this rootfs's libraries, and every tool the daemon runs is there.
chroot "$out/rootfs" /usr/local/bin/rbd-plugin --version >/dev/null || die "rbd-plugin does not start inside the rootfs"
# Looked up in the daemon's own search path (Node/SearchPath.cs), as it will look them up.
for tool in "${TOOLS[@]}"; do
  found=false
  for dir in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
    [[ -x $out/rootfs$dir/$tool ]] && { found=true; break; }
  done
  $found || die "$tool is missing from the rootfs (packages: ${PACKAGES[*]})"
done
log "plugin directory $out ($release; $(du -sh "$out/rootfs" | cut -f1))"
printf '%s\n' "$out"
