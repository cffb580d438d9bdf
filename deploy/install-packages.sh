#!/usr/bin/env bash
# Installs the Debian packages the plugin, the dev cluster and the tests need; quick no-op when all are there.
# python3-prometheus-client: the tests parse /metrics with the Prometheus project's own text-format parser.
# mmdebstrap: the managed plugin's rootfs (deploy/managed-plugin/build.sh, the Docker tier).
# Kernel tier (deploy/kernel-vm.sh): qemu-system-x86 boots Debian's kernel (fetched with apt-get download, never
# installed), cpio and kmod build its initramfs, qemu-guest-agent is the command channel (the guest runs this
# machine's copy over 9p), python3 its host end; udev is only started in the guest by the test that wants one.
# cryptsetup-bin: LUKS2 for -o encrypted=true (docs/encryption.md); the guest runs this machine's copy over 9p.
set -euo pipefail
packages=(ceph-mon ceph-osd ceph-mgr ceph-common rbd-fuse rbd-nbd docker.io busybox-static xfsprogs e2fsprogs fuse3
  util-linux curl openssl python3-prometheus-client clang mmdebstrap cryptsetup-bin
  qemu-system-x86 qemu-guest-agent cpio kmod python3 udev)
# Debian's Compose (1.29.2), which the Docker tier drives as users do (DockerComposeTests).
packages+=(docker-compose)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
printf 'install-packages: installing %s\n' "${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Another apt or dpkg may hold the lock (a second test run, unattended upgrades): wait for it rather than fail.
apt-get update -qq -o DPkg::Lock::Timeout=300
apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null
