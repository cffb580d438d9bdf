#!/usr/bin/env bash
# A QEMU guest running Debian's stock kernel (krbd, rbd-nbd, dm-crypt for real) for the Kernel test tier.
# The guest's root is this machine's / shared read-only over 9p with a tmpfs overlay, so every installed tool,
# the published daemon and the checkout are there; writes stay in guest memory. No network device at all: the
# host drives the guest through QEMU's guest agent on a virtio-serial port whose host end is a unix socket.
#
#   deploy/kernel-vm.sh up        boot the guest (kernel and initramfs cached) and start a dev cluster in it
#   deploy/kernel-vm.sh down      stop the guest (only the QEMU process this script started)
#   deploy/kernel-vm.sh status    guest running? agent answering? cluster healthy?
#   deploy/kernel-vm.sh env       plain `export X=...` lines for the tests
#   deploy/kernel-vm.sh run -- CMD ARGS...   run CMD in the guest; its output and exit code are ours
#
# Environment: RBD_KERNEL_VM_DIR (state and cache, default /var/lib/rbd-plugin-kernel-vm), RBD_KERNEL_VM_MEM_MB
# (default 6144), RBD_KERNEL_VM_BOOT_TIMEOUT (s until the agent answers, default 240), RBD_KERNEL_VM_CLUSTER_TIMEOUT
# (s for the guest's dev cluster, default 280). Software emulation (TCG) only: /dev/kvm opens on these machines
# but a guest under it hangs at "Booting from ROM" (no vmx/svm), so KVM is never tried.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO=$repo
# The guest learns the checkout from the kernel command line (guest-init keeps it visible when it is under /tmp).
[[ $REPO != *[[:space:]]* ]] || { echo "kernel-vm: the checkout's path has whitespace: $REPO; clone it elsewhere" >&2; exit 2; }
readonly DIR="${RBD_KERNEL_VM_DIR:-/var/lib/rbd-plugin-kernel-vm}"
readonly CACHE="$DIR/cache"
readonly RUN="$DIR/run"
readonly SHARE="$RUN/share"
readonly QGA_SOCK="$RUN/qga.sock"
readonly PIDFILE="$RUN/qemu.pid"
readonly CONSOLE="$RUN/console.log"
readonly MEM_MB="${RBD_KERNEL_VM_MEM_MB:-6144}"
readonly BOOT_TIMEOUT="${RBD_KERNEL_VM_BOOT_TIMEOUT:-240}"
readonly CLUSTER_TIMEOUT="${RBD_KERNEL_VM_CLUSTER_TIMEOUT:-280}"
readonly QGA="$REPO/deploy/kernel-vm/qga.py"
# In the guest: the share's mount point and the dev cluster's own state dir (never the host's default one, which a
# test run on this machine may be using: the guest sees it read-only through the overlay anyway).
readonly GUEST_SHARE=/mnt/rbd-share
readonly GUEST_CEPH_DIR=/var/lib/rbd-plugin-guest/ceph
readonly GUEST_HOSTNAME=rbd-kernel-guest
# What the initramfs loads, in this order after dependencies: virtio PCI, 9p (the root) and overlay.
readonly ROOT_MODULES=(virtio_pci 9pnet_virtio 9p overlay)

log() { printf 'kernel-vm: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

need() {
  local tool=$1 package=$2
  command -v "$tool" >/dev/null || die "$tool not found: apt-get install $package (deploy/install-packages.sh installs it)"
}

check_env() {
  [[ "$DIR" =~ ^/[A-Za-z0-9._/+-]+$ && "$(realpath -m "$DIR")" != / ]] \
    || die "RBD_KERNEL_VM_DIR must be an absolute path of [A-Za-z0-9._/+-] other than /: '$DIR'"
  local n
  for n in "$MEM_MB" "$BOOT_TIMEOUT" "$CLUSTER_TIMEOUT"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "RBD_KERNEL_VM_MEM_MB, _BOOT_TIMEOUT and _CLUSTER_TIMEOUT must be positive integers: '$n'"
  done
}

# ---- the kernel: Debian's package, unpacked into the cache (nothing is installed on this machine) ----

# The package linux-image-amd64 depends on, e.g. linux-image-6.1.0-57-amd64.
kernel_package() {
  local pkg
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
  if [[ -z $pkg ]]; then
    # No package lists (a fresh machine): a kernel cached by an earlier run will do; else update them once.
    local cached
    cached=$(find "$CACHE" -mindepth 2 -maxdepth 2 -name .complete -path "$CACHE/linux-image-*" -printf '%h\n' 2>/dev/null | sort -V | tail -n 1)
    if [[ -n $cached ]]; then
      printf '%s\n' "${cached##*/}"
      return 0
    fi
    log "apt knows no linux-image-amd64 yet: apt-get update"
    apt-get update -qq -o DPkg::Lock::Timeout=300 >&2 || die "apt-get update failed"
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
  fi
  [[ $pkg =~ ^linux-image-[0-9][A-Za-z0-9.+-]*$ ]] || die "cannot tell which kernel package linux-image-amd64 depends on (got '$pkg')"
  printf '%s\n' "$pkg"
}

# Prints the unpacked kernel's directory; downloads and unpacks it on first use.
ensure_kernel() {
  local pkg kdir ver tmp deb
  pkg=$(kernel_package)
  ver=${pkg#linux-image-}
  kdir="$CACHE/$pkg"
  if [[ ! -e "$kdir/.complete" ]]; then
    need dpkg-deb dpkg
    need depmod kmod
    log "fetching $pkg with apt (once; cached in $kdir)"
    rm -rf -- "$kdir"
    tmp=$(mktemp -d "$CACHE/download.XXXXXX")
    # apt-get download writes into the current directory; as root it warns that _apt cannot write there.
    (cd "$tmp" && timeout 600 apt-get download "$pkg" 2>&1 | grep -v 'unsandboxed as root' >&2) \
      || { rm -rf -- "$tmp"; die "apt-get download $pkg failed"; }
    deb=$(find "$tmp" -maxdepth 1 -name "${pkg}_*.deb" -print -quit)
    [[ -n $deb ]] || { rm -rf -- "$tmp"; die "apt-get download $pkg left no .deb"; }
    mkdir -p "$kdir"
    dpkg-deb -x "$deb" "$kdir" || { rm -rf -- "$tmp" "$kdir"; die "dpkg-deb -x $deb failed"; }
    rm -rf -- "$tmp"
    depmod -b "$kdir" "$ver" || die "depmod -b $kdir $ver failed"
    [[ -r "$kdir/boot/vmlinuz-$ver" ]] || die "$pkg has no boot/vmlinuz-$ver"
    touch "$kdir/.complete"
  fi
  printf '%s\n' "$kdir"
}

# ---- the initramfs: busybox, the root's modules, two init scripts; cached by the hash of what goes in ----

ensure_initramfs() {
  local kdir=$1 ver=$2 key out work m line
  need cpio cpio
  need gzip gzip
  if ! { [[ -x /bin/busybox ]] && /bin/busybox --list | grep -qx switch_root; }; then
    die "/bin/busybox (static, with switch_root) not found: apt-get install busybox-static"
  fi
  key=$(cat "$REPO/deploy/kernel-vm/initramfs-init" "$REPO/deploy/kernel-vm/guest-init" /bin/busybox <(printf '%s\n' "$ver" "${ROOT_MODULES[@]}") \
    | sha256sum | cut -c1-16)
  out="$CACHE/initramfs-$ver-$key.gz"
  if [[ ! -s $out ]]; then
    log "building the initramfs ($out)"
    work=$(mktemp -d "$CACHE/initramfs.XXXXXX")
    mkdir -p "$work"/{bin,dev,proc,sys,modules}
    cp /bin/busybox "$work/bin/busybox"
    ln -s busybox "$work/bin/sh"
    cp "$REPO/deploy/kernel-vm/initramfs-init" "$work/init"
    cp "$REPO/deploy/kernel-vm/guest-init" "$work/guest-init"
    : >"$work/modules/order"
    for m in "${ROOT_MODULES[@]}"; do
      # "insmod /path/x.ko" lines, dependencies first; "builtin x" for what the kernel has built in.
      while read -r line; do
        [[ $line == insmod\ * ]] || continue
        line=${line#insmod }
        line=${line%% *}
        grep -qxF "${line##*/}" "$work/modules/order" && continue
        cp "$line" "$work/modules/"
        printf '%s\n' "${line##*/}" >>"$work/modules/order"
      done < <(modprobe -d "$kdir" -S "$ver" --show-depends "$m")
    done
    (cd "$work" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$out.tmp"
    mv "$out.tmp" "$out"
    rm -rf -- "$work"
  fi
  printf '%s\n' "$out"
}

# ---- the VM ----

qemu_pid() { # prints the pid of the QEMU this script started, if it still runs
  local pid argv=()
  [[ -r $PIDFILE ]] || return 0
  pid=$(<"$PIDFILE")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 0
  mapfile -d '' -t argv <"/proc/$pid/cmdline" 2>/dev/null || return 0
  # Ours = a qemu-system-x86_64 whose pid file is ours (never another engineer's VM).
  [[ ${argv[0]##*/} == qemu-system-x86_64 ]] && printf '%s\0' "${argv[@]}" | grep -qzxF "$PIDFILE" && printf '%s\n' "$pid"
  return 0
}

qga() { timeout "$((BOOT_TIMEOUT + 60))" python3 "$QGA" "$QGA_SOCK" "$@"; }

console_tail() {
  if [[ -r $CONSOLE ]]; then tail -n "${1:-30}" "$CONSOLE" | sed 's/^/  console: /' >&2; fi
}

boot() {
  local kdir ver initrd start=$SECONDS
  need qemu-system-x86_64 qemu-system-x86
  need python3 python3
  command -v qemu-ga >/dev/null || die "qemu-ga not found: apt-get install qemu-guest-agent (the guest runs it from this machine's /)"
  kdir=$(ensure_kernel)
  ver=${kdir##*/linux-image-}
  initrd=$(ensure_initramfs "$kdir" "$ver")
  rm -rf -- "$RUN"
  mkdir -p "$RUN" "$SHARE"
  log "booting $ver under TCG ($MEM_MB MiB, 2 vcpus; console: $CONSOLE)"
  # shellcheck disable=SC2054 # QEMU's own option syntax has commas
  local qemu=(
    qemu-system-x86_64 -name rbd-kernel-vm
    -accel tcg,thread=multi -cpu max -smp 2 -m "$MEM_MB"
    -kernel "$kdir/boot/vmlinuz-$ver" -initrd "$initrd"
    -append "console=ttyS0 panic=-1 loglevel=4 rbdvm_kdir=$kdir rbdvm_share=$GUEST_SHARE rbdvm_hostname=$GUEST_HOSTNAME rbdvm_repo=$REPO"
    -display none -monitor none -serial "file:$CONSOLE" -no-reboot
    # No NIC at all: the guest only ever talks to its own loopback, and to the host through the agent.
    -nic none
    -virtfs "local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap"
    -virtfs "local,path=$SHARE,mount_tag=hostshare,security_model=passthrough,multidevs=remap"
    -device virtio-serial-pci
    -chardev "socket,id=qga0,path=$QGA_SOCK,server=on,wait=off"
    -device "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0"
    -pidfile "$PIDFILE" -daemonize
  )
  "${qemu[@]}" 9>&- </dev/null >"$RUN/qemu.out" 2>&1 || { cat "$RUN/qemu.out" >&2; die "qemu-system-x86_64 failed to start"; }
  if ! qga ping --wait "$BOOT_TIMEOUT"; then
    console_tail 40
    die "the guest agent did not answer within ${BOOT_TIMEOUT}s (console above; the VM is left running for inspection: $0 down)"
  fi
  log "guest up in $((SECONDS - start))s"
}

cluster() { # cluster up|status|env: the dev cluster script, run in the guest with the guest's own state dir
  qga exec --timeout "$((CLUSTER_TIMEOUT + 30))" --env "RBD_DEV_CEPH_DIR=$GUEST_CEPH_DIR" \
    --env "RBD_DEV_CEPH_TIMEOUT=$CLUSTER_TIMEOUT" -- "$REPO/deploy/ceph/dev-cluster.sh" "$@"
}

take_lock() {
  mkdir -p "$DIR"
  exec 9>"$DIR/lock"
  flock -w "$((BOOT_TIMEOUT + CLUSTER_TIMEOUT + 120))" 9 || die "another kernel-vm.sh holds $DIR/lock"
}

cmd_up() {
  local start=$SECONDS
  take_lock
  mkdir -p "$CACHE"
  local pid
  pid=$(qemu_pid)
  if [[ -n $pid ]] && ! grep -qzF "rbdvm_repo=$REPO " <(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null); then
    log "guest runs for another checkout: restarting it for $REPO"
    stop_vm
  fi
  if [[ -n $(qemu_pid) ]] && qga ping --wait 10 2>/dev/null; then
    log "guest already running (pid $(qemu_pid))"
  else
    if [[ -n $(qemu_pid) ]]; then
      log "guest runs but its agent does not answer: restarting it"
      stop_vm
    fi
    boot
  fi
  local cstart=$SECONDS
  if cluster status >/dev/null 2>&1; then
    log "guest cluster already healthy"
  else
    cluster up || { console_tail 20; die "the dev cluster did not come up in the guest (logs in the guest: $GUEST_CEPH_DIR/log)"; }
    log "guest cluster up in $((SECONDS - cstart))s"
  fi
  log "ready in $((SECONDS - start))s; use: eval \"\$($0 env)\""
}

stop_vm() {
  local pid waited=0
  pid=$(qemu_pid)
  [[ -n $pid ]] || return 0
  log "stopping QEMU pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  while [[ -e /proc/$pid ]]; do
    if ((waited == 100)); then
      log "QEMU still runs after 10s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    ((waited < 200)) || die "QEMU pid $pid survives SIGKILL"
    sleep 0.1
    waited=$((waited + 1))
  done
}

cmd_down() {
  take_lock
  stop_vm
  rm -rf -- "$RUN"
  log "down (cache kept in $CACHE)"
}

cmd_status() {
  local pid rc=0
  pid=$(qemu_pid)
  echo "state dir: $DIR"
  if [[ -z $pid ]]; then
    echo "guest: not running (run: $0 up)"
    return 1
  fi
  echo "guest: running, QEMU pid $pid, agent $QGA_SOCK"
  if qga ping --wait 5 2>/dev/null; then echo "agent: answering"; else echo "agent: NOT answering"; rc=1; fi
  if ((rc == 0)) && cluster status; then :; else rc=1; fi
  return "$rc"
}

cmd_env() {
  [[ -n $(qemu_pid) ]] || log "warning: the guest is not running; run: $0 up"
  printf 'export RBD_KERNEL_QGA_SOCKET=%q\n' "$QGA_SOCK"
  printf 'export RBD_KERNEL_SHARE_HOST=%q\n' "$SHARE"
  printf 'export RBD_KERNEL_SHARE_GUEST=%q\n' "$GUEST_SHARE"
  # Paths as the guest sees them; the files exist only in the guest.
  printf 'export RBD_KERNEL_CEPH_CONF=%q\n' "$GUEST_CEPH_DIR/ceph.conf"
  printf 'export RBD_KERNEL_CEPH_ID=docker\n'
  printf 'export RBD_KERNEL_KEYRING=%q\n' "$GUEST_CEPH_DIR/ceph.client.docker.keyring"
  printf 'export RBD_KERNEL_ADMIN_KEYRING=%q\n' "$GUEST_CEPH_DIR/ceph.client.admin.keyring"
  printf 'export RBD_KERNEL_POOL=rbd\n'
  printf 'export RBD_KERNEL_EXTRA_POOL=rbd-extra\n'
}

cmd_run() {
  [[ ${1:-} == -- ]] && shift
  (($#)) || die "usage: $0 run -- CMD ARGS..."
  [[ -n $(qemu_pid) ]] || die "the guest is not running; run: $0 up"
  exec python3 "$QGA" "$QGA_SOCK" exec --timeout "${RBD_KERNEL_VM_RUN_TIMEOUT:-600}" -- "$@"
}

main() {
  check_env
  local command=${1:-}
  (($#)) && shift
  case "$command" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    run) cmd_run "$@" ;;
    *)
      echo "usage: $0 up|down|status|env|run -- CMD ARGS..." >&2
      exit 2
      ;;
  esac
}

main "$@"
