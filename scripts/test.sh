#!/usr/bin/env bash
# The one command that runs every test on a fresh machine: installs what is missing,
# checks the format (rustfmt.toml), builds every binary (end-to-end tests drive
# openledgerd, openledger and cometbft), lints (clippy.toml forbids HashMap/HashSet:
# iteration order would fork consensus),
# then runs the whole workspace's tests: unit, in-process consensus driver, and
# end-to-end against real CometBFT on loopback; then each fuzz target briefly.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/setup.sh)"
cargo fmt --all --check
cargo build --workspace --bins
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace --no-fail-fast "$@"
# Every fuzz target for a short, bounded time from its seed corpus (README, "Fuzzing").
cargo fmt --manifest-path fuzz/Cargo.toml --check
scripts/fuzz.sh 15
