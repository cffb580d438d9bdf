#!/usr/bin/env bash
# Runs inside the Kernel tier's guest (bench/kernel.sh starts it; not meant to be run by hand). For each mapper
# given: the plugin's first Mount, Unmount and remount against the same steps by hand, alternating, and fio through
# a mounted volume against `rbd bench` on an image the plugin made the same way. Prints TSV rows:
#   mapper  row  plugin  by-hand  unit
#
#   kernel-guest.sh DAEMON CONF ID KEYRING POOL REPS MAPPER...
set -euo pipefail
daemon=$1 conf=$2 id=$3 keyring=$4 pool=$5 reps=$6
shift 6
c=(-c "$conf" --id "$id" --keyring "$keyring")
dir=$(mktemp -d /tmp/rbd-bench.XXXXXX)
sock=$dir/plugin.sock
pid=
images=()

cleanup() {
  set +e
  [[ -n $pid ]] && kill -TERM "$pid" && wait "$pid"
  findmnt -rn -o TARGET | grep -F "$dir/" | sort -r | while read -r m; do umount -l "$m"; done
  for d in /sys/bus/rbd/devices/*; do
    [[ -e $d/name ]] || continue
    for v in "${images[@]}"; do [[ $(<"$d/name") == "$v" ]] && rbd "${c[@]}" device unmap -t krbd -o noudev,force "/dev/rbd${d##*/}"; done
  done
  for v in "${images[@]}"; do
    rbd "${c[@]}" device unmap -t nbd "$pool/$v" 2>/dev/null
    rbd "${c[@]}" rm --no-progress "$pool/$v" 2>/dev/null
    rados "${c[@]}" -p "$pool" rmomapkey rbd-plugin.volumes "$v" 2>/dev/null
    rados "${c[@]}" -p "$pool" rm "rbd-plugin.lease.$v" 2>/dev/null
  done
  rm -rf --one-file-system "$dir"
}
trap cleanup EXIT

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# POST a Docker request to the plugin; fails on an Err.
call() {
  local verb=$1 body=$2 out
  out=$(curl -sS --unix-socket "$sock" -X POST -H 'Content-Type: application/json' -d "$body" "http://plugin/VolumeDriver.$verb")
  [[ $(jq -r '.Err // ""' <<<"$out") == "" ]] || { echo "VolumeDriver.$verb: $out" >&2; return 1; }
  printf '%s' "$out"
}

# Whether a device maps image $1, from sysfs and /proc (a `rbd device list` costs a second here, which would blur
# what is measured): a krbd device naming it, or an rbd-nbd process serving it.
is_mapped() {
  case $mapper in
    krbd) grep -qsx "$1" /sys/bus/rbd/devices/*/name ;;
    nbd) pgrep -f "rbd-nbd .* $pool/$1( |\$)" >/dev/null ;;
  esac
}

# Waits until nothing is mounted at $1 and no device maps image $2 (the plugin releases after its Unmount answered).
wait_released() {
  while mountpoint -q "$1" || is_mapped "$2"; do
    sleep 0.02
  done
}

start_plugin() {
  "$daemon" serve --socket "$sock" --state-dir "$dir/state" --mount-root "$dir/mounts" --host-id bench \
    --ceph-conf "$conf" --ceph-id "$id" --keyring "$keyring" --pool "$pool" --allowed-pools "$pool" \
    --mapper "$mapper" --remove-action delete --unmount-grace 0s --log-format json >>"$dir/plugin-$mapper.log" 2>&1 &
  pid=$!
  until curl -sf --unix-socket "$sock" -X POST http://plugin/Plugin.Activate >/dev/null 2>&1; do
    kill -0 "$pid" || { tail -20 "$dir/plugin-$mapper.log" >&2; exit 1; }
    sleep 0.2
  done
}

stop_plugin() { kill -TERM "$pid"; wait "$pid" || true; pid=; }

map_args() {
  case $mapper in
    krbd) echo "-o noshare,noudev" ;;
    nbd) echo "--show-cookie -o try-netlink,reattach-timeout=300" ;;
  esac
}

# The plugin's mkfs flags (src/RbdPlugin/Node/Filesystem.cs: MkfsArgs, for a fresh zeroed image).
mkfs_flags=(-q -E nodiscard,lazy_itable_init=1,lazy_journal_init=1,assume_storage_prezeroed=1)

by_hand_map() {
  local out
  # shellcheck disable=SC2046 # map_args is a fixed list of words
  out=$(rbd "${c[@]}" device map -t "$mapper" $(map_args) "$pool/$1")
  echo "${out%% *}"
}

row() { printf '%s\t%s\t%s\t%s\t%s\n' "$mapper" "$1" "$2" "$3" "$4"; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }

cycles() {
  local i v h t mp dev
  local -a pf pu pr hf hu hr
  for ((i = 0; i < reps; i++)); do
    v=bench-$mapper-$i-$$ h=hand-$mapper-$i-$$
    images+=("$v" "$h")
    call Create "{\"Name\":\"$v\",\"Opts\":{\"size\":\"1G\"}}" >/dev/null
    call Create "{\"Name\":\"$h\",\"Opts\":{\"size\":\"1G\"}}" >/dev/null # same features as the plugin's

    t=$(now_ms); mp=$(call Mount "{\"Name\":\"$v\",\"ID\":\"a\"}" | jq -r .Mountpoint); pf+=($(($(now_ms) - t)))
    t=$(now_ms); call Unmount "{\"Name\":\"$v\",\"ID\":\"a\"}" >/dev/null; wait_released "$mp" "$v"; pu+=($(($(now_ms) - t)))
    t=$(now_ms); call Mount "{\"Name\":\"$v\",\"ID\":\"a\"}" >/dev/null; pr+=($(($(now_ms) - t)))
    call Unmount "{\"Name\":\"$v\",\"ID\":\"a\"}" >/dev/null; wait_released "$mp" "$v"

    mkdir -p "$dir/hand/$h"
    t=$(now_ms); dev=$(by_hand_map "$h"); mkfs.ext4 "${mkfs_flags[@]}" "$dev"; mount "$dev" "$dir/hand/$h"; hf+=($(($(now_ms) - t)))
    t=$(now_ms); umount "$dir/hand/$h"; rbd "${c[@]}" device unmap -t "$mapper" $([[ $mapper == krbd ]] && echo "-o noudev") "$dev"; hu+=($(($(now_ms) - t)))
    t=$(now_ms); dev=$(by_hand_map "$h"); mount "$dev" "$dir/hand/$h"; hr+=($(($(now_ms) - t)))
    umount "$dir/hand/$h"; rbd "${c[@]}" device unmap -t "$mapper" $([[ $mapper == krbd ]] && echo "-o noudev") "$dev"
  done
  row "first Mount (mkfs)" "$(printf '%s\n' "${pf[@]}" | median)" "$(printf '%s\n' "${hf[@]}" | median)" ms
  row "Unmount (to released)" "$(printf '%s\n' "${pu[@]}" | median)" "$(printf '%s\n' "${hu[@]}" | median)" ms
  row "remount" "$(printf '%s\n' "${pr[@]}" | median)" "$(printf '%s\n' "${hr[@]}" | median)" ms
}

# fio on a 256 MiB file of a mounted volume; prints bytes/s and IOPS of the job's direction.
fio_job() {
  local file=$1 rw=$2 bs=$3 depth=$4 total=$5 dirn
  dirn=$([[ $rw == *read* ]] && echo read || echo write)
  fio --name=bench --filename="$file" --size=256M --io_size="$total" --rw="$rw" --bs="$bs" --iodepth="$depth" \
    --ioengine=libaio --direct=1 --randrepeat=0 --output-format=json 2>/dev/null \
    | jq -r --arg d "$dirn" '.jobs[0][$d] | "\(.bw_bytes) \(.iops)"'
}

# rbd bench on a plugin-made image; prints bytes/s and IOPS from its summary line.
rbd_bench() {
  local image=$1 type=$2 pattern=$3 size=$4 threads=$5 total=$6
  rbd "${c[@]}" bench --io-type "$type" --io-pattern "$pattern" --io-size "$size" --io-threads "$threads" \
    --io-total "$total" "$pool/$image" 2>&1 \
    | awk '/^elapsed:/ { m = $9 ~ /^KiB/ ? 1024 : $9 ~ /^MiB/ ? 1048576 : $9 ~ /^GiB/ ? 1073741824 : 1; printf "%.0f %s\n", $8 * m, $6 }'
}

io() {
  local v=io-$mapper-$$ b=iob-$mapper-$$ mp plugin hand
  images+=("$v" "$b")
  call Create "{\"Name\":\"$v\",\"Opts\":{\"size\":\"1G\"}}" >/dev/null
  call Create "{\"Name\":\"$b\",\"Opts\":{\"size\":\"1G\"}}" >/dev/null
  mp=$(call Mount "{\"Name\":\"$v\",\"ID\":\"a\"}" | jq -r .Mountpoint)
  local -a jobs=("seq write 4 MiB|write|4M|4|256M|write|seq|4M|4|256M" "seq read 4 MiB|read|4M|4|256M|read|seq|4M|4|256M"
    "rand write 4 KiB|randwrite|4k|16|16M|write|rand|4K|16|16M" "rand read 4 KiB|randread|4k|16|16M|read|rand|4K|16|16M")
  local j name rw bs depth total type pattern size threads btotal
  for j in "${jobs[@]}"; do
    IFS='|' read -r name rw bs depth total type pattern size threads btotal <<<"$j"
    plugin=$(fio_job "$mp/fio.dat" "$rw" "$bs" "$depth" "$total")
    hand=$(rbd_bench "$b" "$type" "$pattern" "$size" "$threads" "$btotal")
    row "$name MiB/s" "$(awk '{printf "%.1f", $1 / 1048576}' <<<"$plugin")" "$(awk '{printf "%.1f", $1 / 1048576}' <<<"$hand")" "MiB/s"
    row "$name IOPS" "$(awk '{printf "%.0f", $2}' <<<"$plugin")" "$(awk '{printf "%.0f", $2}' <<<"$hand")" "IOPS"
  done
  call Unmount "{\"Name\":\"$v\",\"ID\":\"a\"}" >/dev/null
  wait_released "$mp" "$v"
}

for mapper in "$@"; do
  start_plugin
  cycles
  io
  stop_plugin
done
