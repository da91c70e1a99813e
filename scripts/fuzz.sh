#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz: libFuzzer, nightly Rust) of every untrusted input:
# txs (decode and CheckTx), ABCI socket frames, ProcessProposal + FinalizeBlock of
# arbitrary tx lists, every query (ABCI and REST), genesis. Each target runs for a
# bounded time from its committed seed corpus (fuzz/corpus/<target>, real txs and
# blocks of the simulation); new inputs go to a scratch directory, so the tree is left
# as it was. A crash stops with the failing input saved under fuzz/artifacts/.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET ...]    default: 20 s, every target
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/setup.sh)"
secs=${1:-20}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(tx abci_frames proposal queries genesis)

CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" >&2
fi
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal >&2
# Its own target directory, outside the clone (a second build: nightly, instrumented).
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$HOME/.cache/openledger-fuzz-target}
# Safe Rust needs no address sanitizer to find what matters here (panics, aborts,
# overflows, hangs); without it the build is shared with the other targets and faster.
cargo +nightly fuzz build -s none --debug-assertions >&2
for t in "${targets[@]}"; do
  scratch=$(mktemp -d)
  echo "== fuzz $t for ${secs}s" >&2
  cargo +nightly fuzz run -s none --debug-assertions "$t" "$scratch" "fuzz/corpus/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=6144 -timeout=30 -print_final_stats=1 2>&1 |
    grep -E "^(stat::|#[0-9]+[[:space:]]+DONE|==|SUMMARY|.*panicked|.*deadly|Done )" | tail -n 12 >&2
  status=${PIPESTATUS[0]}
  rm -rf "$scratch"
  [ "$status" = 0 ] || { echo "fuzz target $t failed (exit $status): see fuzz/artifacts/$t" >&2; exit 1; }
done
