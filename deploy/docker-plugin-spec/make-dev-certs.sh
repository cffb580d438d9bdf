#!/usr/bin/env bash
# Development certificates for the plugin's HTTPS listener with mutual TLS (rbd.json):
#
#   make-dev-certs.sh [--force] [DIR]        DIR defaults to /etc/rbd-plugin/tls
#
#   ca.pem, ca-key.pem                    a dev CA (10 years); signs both certificates below
#   server.pem, server-key.pem            the plugin's server certificate: SAN IP:127.0.0.1, DNS:localhost
#                                         (plugin: TlsCert, TlsKey; TlsClientCa = ca.pem)
#   docker-client.pem, docker-client-key.pem
#                                         Docker's client certificate (rbd.json: CertFile, KeyFile; CAFile = ca.pem)
#
# Keys are mode 0600. Idempotent: existing files are kept; only missing ones are made (a new CA re-issues both
# certificates, since the old ones would not chain to it). --force regenerates everything. For development only:
# production uses certificates from the site's own CA, in the same file names.
set -euo pipefail
LOG_PREFIX=make-dev-certs
# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

force=false
dir=/etc/rbd-plugin/tls
for arg in "$@"; do
  case "$arg" in
    --force) force=true ;;
    -h|--help) script_help "$0"; exit 0 ;;
    -*) die -c 2 "unknown option $arg" ;;
    *) dir=$arg ;;
  esac
done

command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"

readonly CA_DAYS=3650 LEAF_DAYS=825   # 825 days: the longest leaf lifetime some TLS clients still accept
umask 077
mkdir -p "$dir"
chmod 0755 "$dir"
work=$(mktemp -d "$dir/.make-dev-certs.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

# new_key FILE: an EC P-256 key (fast to make, accepted by Go's and .NET's TLS).
new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

make_ca() {
  new_key "$work/ca-key.pem"
  openssl req -x509 -new -key "$work/ca-key.pem" -sha256 -days "$CA_DAYS" -subj "/CN=rbd-plugin dev CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$work/ca.pem"
  install_pair ca
}

# make_leaf NAME CN EXTENSIONS: a key and a certificate signed by the CA in $dir.
make_leaf() {
  local name=$1 cn=$2 ext=$3
  new_key "$work/$name-key.pem"
  openssl req -new -key "$work/$name-key.pem" -subj "/CN=$cn" -out "$work/$name.csr"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "authorityKeyIdentifier=keyid,issuer" "subjectKeyIdentifier=hash" "$ext" >"$work/$name.ext"
  openssl x509 -req -in "$work/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" \
    -set_serial "0x$(openssl rand -hex 16)" -sha256 -days "$LEAF_DAYS" -extfile "$work/$name.ext" \
    -out "$work/$name.pem" 2>/dev/null
  install_pair "$name"
}

# install_pair NAME: move NAME.pem (0644) and NAME-key.pem (0600) from the work dir into place, key first.
install_pair() {
  chmod 0600 "$work/$1-key.pem"
  chmod 0644 "$work/$1.pem"
  mv -f -- "$work/$1-key.pem" "$dir/$1-key.pem"
  mv -f -- "$work/$1.pem" "$dir/$1.pem"
  log "made $dir/$1.pem and $dir/$1-key.pem"
}

have_pair() { [[ -s $dir/$1.pem && -s $dir/$1-key.pem ]]; }

reissue=$force
if $force || ! have_pair ca; then
  if [[ -e $dir/ca.pem && ! -s $dir/ca-key.pem ]] && ! $force; then
    die "$dir/ca.pem exists without ca-key.pem: cannot sign with it (use --force to start over)"
  fi
  make_ca
  reissue=true
fi

if $reissue || ! have_pair server; then
  make_leaf server rbd-plugin "$(printf '%s\n%s' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    "extendedKeyUsage=serverAuth")"
fi
if $reissue || ! have_pair docker-client; then
  make_leaf docker-client docker "extendedKeyUsage=clientAuth"
fi

# Report certificates that exist but no longer chain to the CA (e.g. a CA replaced by hand); never fix silently.
for leaf in server docker-client; do
  if ! openssl verify -CAfile "$dir/ca.pem" "$dir/$leaf.pem" >/dev/null 2>&1; then
    log "warning: $dir/$leaf.pem does not verify against $dir/ca.pem (rerun with --force to re-issue)"
  fi
done
chmod 0600 "$dir/ca-key.pem" "$dir/server-key.pem" "$dir/docker-client-key.pem"
log "certificates in $dir are ready"
