#!/usr/bin/env bash
# Benchmarks the production mappers, krbd and rbd-nbd, in the Kernel tier's guest (Debian's stock kernel under
# QEMU, deploy/kernel-vm.sh): the plugin's first Mount, Unmount and remount against the same steps by hand
# (rbd device map with the plugin's options, mkfs.ext4 with its flags, mount; umount, unmap), alternating, median
# of REPS; and fio through a mounted volume against `rbd bench` (librbd, no mapper) on an image the plugin made.
# Prints a markdown table. The guest is emulated (TCG): only the ratios mean anything. Not part of the test run.
#
#   bench/kernel.sh [REPS]      default 3; ~10 min on this project's 2-core machines
#
# Needs root, fio (installed with apt-get if missing), and the guest's packages (deploy/install-packages.sh). Boots
# the guest unless it runs (and stops it again after), publishes the daemon (Native AOT), and removes its volumes.
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_PREFIX='bench-kernel'
# shellcheck source=deploy/lib.sh
source deploy/lib.sh

reps=${1:-3}
[[ $reps =~ ^[1-9][0-9]*$ ]] || die -c 2 "REPS must be a positive integer: '$reps'"
require_root -c 2 "the guest, mounts and mappings need it"
command -v fio >/dev/null || { log "installing fio"; apt-get install -y -q fio >/dev/null; }

started=
# shellcheck disable=SC2317 # reached through the trap
stop_guest() { [[ -z $started ]] || deploy/kernel-vm.sh down; }
trap stop_guest EXIT
deploy/kernel-vm.sh status >/dev/null 2>&1 || { deploy/kernel-vm.sh up; started=1; }
import_env deploy/kernel-vm.sh env
daemon=$(guest_daemon "$(deploy/publish.sh artifacts/bench-daemon)")

# Through the log share, which the guest mounts uncached: it caches this machine's files, and may hold an older copy.
cp bench/kernel-guest.sh "$RBD_KERNEL_SHARE_HOST/bench-kernel-guest.sh"
log "running in the guest: krbd, then nbd ($reps repetitions)"
rows=$(RBD_KERNEL_VM_RUN_TIMEOUT=3000 deploy/kernel-vm.sh run -- bash "$RBD_KERNEL_SHARE_GUEST/bench-kernel-guest.sh" "$daemon" \
  "$RBD_KERNEL_CEPH_CONF" "$RBD_KERNEL_CEPH_ID" "$RBD_KERNEL_KEYRING" "$RBD_KERNEL_POOL" "$reps" krbd nbd)

printf '| mapper | row | plugin | by hand / rbd bench | plugin ÷ baseline |\n|---|---|---:|---:|---:|\n'
while IFS=$'\t' read -r mapper row plugin hand unit; do
  ratio=$(awk -v p="$plugin" -v h="$hand" 'BEGIN { if (h > 0) printf "%.2f", p / h; else print "-" }')
  printf '| %s | %s | %s %s | %s %s | %s |\n' "$mapper" "$row" "$plugin" "$unit" "$hand" "$unit" "$ratio"
done <<<"$rows"
