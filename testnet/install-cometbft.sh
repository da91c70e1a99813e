#!/usr/bin/env bash
# Install the CometBFT binary this chain is built and tested against, and print its path.
#
# This script owns the CometBFT pin. It is idempotent: when a `cometbft` reporting the
# pinned version is already on PATH or in $(go env GOPATH)/bin it only prints where it is.
# Otherwise it runs `go install` and checks the result.
#
# The last line of stdout is the absolute path of the binary, so callers can do
#   COMETBFT=$(testnet/install-cometbft.sh | tail -1)
# Progress messages go to stderr.
set -euo pipefail

COMETBFT_VERSION=v0.38.26
WANT="${COMETBFT_VERSION#v}"

log() { echo "install-cometbft: $*" >&2; }
die() { echo "install-cometbft: ERROR: $*" >&2; exit 1; }

# The version a cometbft binary reports, or nothing if it cannot run.
version_of() {
    "$1" version 2>/dev/null | head -n1 | tr -d '[:space:]' || true
}

abs_path() {
    local dir
    dir=$(cd "$(dirname "$1")" && pwd -P)
    echo "$dir/$(basename "$1")"
}

gopath_bin() {
    command -v go >/dev/null 2>&1 || return 0
    local gobin gopath
    gobin=$(go env GOBIN 2>/dev/null || true)
    if [[ -n "$gobin" ]]; then
        echo "$gobin"
        return 0
    fi
    gopath=$(go env GOPATH 2>/dev/null || true)
    # GOPATH may be a list; `go install` uses the first entry.
    [[ -n "$gopath" ]] && echo "${gopath%%:*}/bin"
    return 0
}

candidates=()
if on_path=$(command -v cometbft 2>/dev/null); then
    candidates+=("$on_path")
fi
GOBIN_DIR=$(gopath_bin)
if [[ -n "$GOBIN_DIR" ]]; then
    candidates+=("$GOBIN_DIR/cometbft")
fi

for c in "${candidates[@]+"${candidates[@]}"}"; do
    if [[ -x "$c" ]]; then
        have=$(version_of "$c")
        if [[ "$have" == "$WANT" ]]; then
            log "cometbft $WANT already installed"
            abs_path "$c"
            exit 0
        fi
        log "found $c reporting version '${have:-unknown}', want $WANT"
    fi
done

command -v go >/dev/null 2>&1 || die "Go is not installed; it is needed to build cometbft $COMETBFT_VERSION (https://go.dev/dl/)"
[[ -n "$GOBIN_DIR" ]] || die "cannot determine Go's install directory (go env GOPATH / GOBIN)"

log "installing cometbft $COMETBFT_VERSION with go install (into $GOBIN_DIR)"
go install "github.com/cometbft/cometbft/cmd/cometbft@${COMETBFT_VERSION}" >&2 \
    || die "go install github.com/cometbft/cometbft/cmd/cometbft@${COMETBFT_VERSION} failed"

bin="$GOBIN_DIR/cometbft"
[[ -x "$bin" ]] || die "go install succeeded but $bin does not exist"
have=$(version_of "$bin")
[[ "$have" == "$WANT" ]] || die "$bin reports version '${have:-unknown}', expected $WANT"

if on_path=$(command -v cometbft 2>/dev/null) && [[ "$(abs_path "$on_path")" != "$(abs_path "$bin")" ]]; then
    log "note: 'cometbft' on PATH is $on_path ($(version_of "$on_path")); use $bin or put $GOBIN_DIR first on PATH"
fi
log "installed cometbft $WANT"
abs_path "$bin"
