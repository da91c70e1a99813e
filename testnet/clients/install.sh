#!/usr/bin/env bash
# Install the standard Cosmos clients the end-to-end tests drive, idempotently and in
# about a second when they are already there:
#   - CosmJS (testnet/clients/cosmjs/node_modules, from package-lock.json, `npm ci`);
#   - cosmpy in a venv outside the repo ($CLIENTS_VENV, default
#     ~/.cache/openledger-clients/venv), from the pinned requirements.txt;
#   - grpcurl (`go install` at the pinned tag, into $(go env GOPATH)/bin).
# Each is reinstalled only when its pin file changed (a stamp holds the pin's hash).
# Prints `export` lines (CLIENTS_VENV, GRPCURL); progress goes to stderr.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GRPCURL_VERSION=v1.9.1
venv="${CLIENTS_VENV:-$HOME/.cache/openledger-clients/venv}"
log() { echo "clients: $*" >&2; }
hash_of() { sha256sum "$1" | cut -c1-64; }

# CosmJS.
command -v node >/dev/null || { log "Node.js is required for the CosmJS test"; exit 1; }
want="$(hash_of "$here/cosmjs/package-lock.json")"
stamp="$here/cosmjs/node_modules/.openledger-stamp"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing CosmJS (npm ci)"
  (cd "$here/cosmjs" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$want" >"$stamp"
fi

# cosmpy.
want="$(hash_of "$here/cosmpy/requirements.txt")"
stamp="$venv/.openledger-stamp"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || [ ! -x "$venv/bin/python" ]; then
  log "installing cosmpy into $venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/cosmpy/requirements.txt" >&2
  echo "$want" >"$stamp"
fi

# grpcurl.
gobin="$(go env GOPATH)/bin"
stamp="$gobin/.grpcurl-version"
if [ ! -x "$gobin/grpcurl" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$GRPCURL_VERSION" ]; then
  log "installing grpcurl $GRPCURL_VERSION (go install)"
  go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION" >&2
  echo "$GRPCURL_VERSION" >"$stamp"
fi

echo "export CLIENTS_VENV=$venv"
echo "export GRPCURL=$gobin/grpcurl"
