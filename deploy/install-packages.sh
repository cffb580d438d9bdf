#!/usr/bin/env bash
# Installs the Debian packages the plugin, the dev cluster and the tests need; quick no-op when all are there.
# python3-prometheus-client: the tests parse /metrics with the Prometheus project's own text-format parser.
set -euo pipefail
packages=(ceph-mon ceph-osd ceph-mgr ceph-common rbd-fuse rbd-nbd docker.io busybox-static xfsprogs e2fsprogs fuse3
  util-linux curl openssl python3-prometheus-client clang)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
printf 'install-packages: installing %s\n' "${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
