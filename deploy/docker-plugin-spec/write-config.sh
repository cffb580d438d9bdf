#!/usr/bin/env bash
# Writes the daemon's config file from rbd-plugin.json.example (beside this script), with some keys overridden:
#
#   write-config.sh FILE [Key=Value ...]      e.g. write-config.sh /etc/rbd-plugin/rbd-plugin.json Pool=rbd \
#                                                   AllowedPools=rbd,rbd-extra CephConf=/var/lib/x/ceph.conf
#
# Keys are the template's (PascalCase). AllowedPools takes a comma list. An existing FILE is kept unless it is
# byte-identical to the template (an untouched default that install.sh wrote), so an operator's edits are never
# overwritten. Prints what it did. Used by install.sh and quickstart.sh; needs nothing but bash.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
template=$here/rbd-plugin.json.example
LOG_PREFIX=write-config
# shellcheck source=deploy/lib.sh
source "$here/../lib.sh"

[[ $# -ge 1 ]] || die "usage: $0 FILE [Key=Value ...]"
file=$1
shift

# A JSON string literal of $1; control characters are refused rather than escaped (no path or name has them).
json_string() {
  local s=$1
  [[ $s != *[[:cntrl:]]* ]] || die "control character in value '$s'"
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

json_string_array() {
  local -a items
  local item out="" sep=""
  IFS=, read -r -a items <<<"$1"
  for item in "${items[@]}"; do
    [[ -n $item ]] || continue
    out+="$sep$(json_string "$item")"
    sep=", "
  done
  printf '[%s]' "$out"
}

declare -A overrides=()
for kv in "$@"; do
  [[ $kv == *=* ]] || die "expected Key=Value, got '$kv'"
  key=${kv%%=*}
  [[ $key =~ ^[A-Za-z]+$ ]] || die "bad key '$key'"
  grep -q "^  \"$key\": " "$template" 2>/dev/null || die "unknown key '$key' (not in $template)"
  overrides[$key]=${kv#*=}
done

mkdir -p "$(dirname "$file")"
tmp=$(mktemp "$file.XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
line_re='^(  )"([A-Za-z]+)": (.*[^,])(,?)$'
while IFS= read -r line; do
  if [[ $line =~ $line_re ]] && [[ -v "overrides[${BASH_REMATCH[2]}]" ]]; then
    key=${BASH_REMATCH[2]}
    if [[ $key == AllowedPools ]]; then
      value=$(json_string_array "${overrides[$key]}")
    else
      value=$(json_string "${overrides[$key]}")
    fi
    line="${BASH_REMATCH[1]}\"$key\": $value${BASH_REMATCH[4]}"
  fi
  printf '%s\n' "$line"
done <"$template" >"$tmp"

if [[ -e $file ]]; then
  if cmp -s "$file" "$tmp"; then
    log "$file is up to date"
    exit 0
  fi
  if ! cmp -s "$file" "$template"; then
    log "kept $file (it exists; edit it by hand to change settings)"
    exit 0
  fi
fi
chmod 0640 "$tmp"
mv -f -- "$tmp" "$file"
trap - EXIT
if [[ $# -gt 0 ]]; then
  log "wrote $file (template with ${!overrides[*]})"
else
  log "wrote $file (template defaults)"
fi
