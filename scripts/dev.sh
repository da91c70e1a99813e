#!/usr/bin/env bash
# The one command that runs a local OpenLedger chain on a fresh machine:
# installs what is missing, builds, and runs `openledgerd dev` (Ctrl-C stops it;
# run it again to resume the same chain, or pass --reset for a new one).
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/setup.sh)"
cargo build --bins --quiet
export PATH="$CARGO_TARGET_DIR/debug:$PATH"
exec openledgerd dev "$@"
