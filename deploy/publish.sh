#!/usr/bin/env bash
# Publishes rbd-plugin as one Native AOT executable (no .NET runtime needed where it runs):
#
#   deploy/publish.sh [OUTPUT_DIR]     default artifacts/publish; prints the binary's path on stdout
#
# Needs the .NET 10 SDK and clang (deploy/install-packages.sh installs it). install.sh installs this binary,
# deploy/test.sh runs the tests' daemons from it, bench/run.sh benchmarks it: one build of the daemon everywhere.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOG_PREFIX=publish
# shellcheck source=deploy/lib.sh
source "$repo/deploy/lib.sh"
case "${1:-}" in
  -h|--help) script_help "$0"; exit 0 ;;
  -*) die -c 2 "unknown option $1 (usage: $0 [OUTPUT_DIR])" ;;
esac
out=$(realpath -m "${1:-$repo/artifacts/publish}")

case "$(uname -m)" in
  x86_64) rid=linux-x64 ;;
  aarch64) rid=linux-arm64 ;;
  *) die -c 2 "unsupported architecture $(uname -m)" ;;
esac
command -v clang >/dev/null || die -c 2 "clang not found (apt-get install clang; deploy/install-packages.sh does)"

log "src/RbdPlugin (Release, $rid, Native AOT) -> $out"
rm -rf -- "$out"
# No doc XML and no static-web-assets manifest (Web SDK) beside the binary: nothing reads them at run time.
# The symbols go to rbd-plugin.dbg beside it (StripSymbols), for gdb; nothing loads them.
DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 dotnet publish "$repo/src/RbdPlugin" -c Release -r "$rid" \
  -p:PublishDocumentationFile=false -p:StaticWebAssetsEnabled=false -o "$out" -nologo -v quiet -clp:ErrorsOnly >&2
[[ -x $out/rbd-plugin ]] || die "$out/rbd-plugin was not made"
printf '%s\n' "$out/rbd-plugin"
