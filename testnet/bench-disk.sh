#!/usr/bin/env bash
# Disk use after a number of blocks under load, with the default pruning and in archive
# mode: two single-validator localnets (testnet/localnet.sh) side by side, one with
# `--keep-blocks K` (CometBFT blocks below the last K pruned through retain_height, the
# block stream cut to K, and old state versions deleted by `openledgerd prune`, which
# `start` also runs), one with `--keep-blocks 0` (archive: everything kept). Blocks come
# fast (consensus.timeout_commit = 10ms, else the shared tuning file) and
# `openledger bench load` sends signed transfers at a fixed rate throughout.
#
#   testnet/bench-disk.sh [--blocks N] [--rate R] [--keep K] [--out DIR]
#
# Defaults: N=10000, R=100 tx/s, K=1000. Prints a table of MiB per store (and writes it
# to DIR/disk.txt, default /tmp/openledger-bench-disk); the networks are removed after.
set -euo pipefail
cd "$(dirname "$0")/.."
blocks=10000 rate=100 keep=1000 out=/tmp/openledger-bench-disk
while [ $# -gt 0 ]; do
  case "$1" in
    --blocks) blocks=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "bench-disk: unknown argument $1" >&2; exit 2 ;;
  esac
done
eval "$(scripts/setup.sh)"
mkdir -p "$out"
tuning="$out/tuning.env"
sed -e 's/^consensus.timeout_commit=.*/consensus.timeout_commit=10ms/' testnet/cometbft-tuning.env >"$tuning"
net() { testnet/localnet.sh "$@"; }
bin="$CARGO_TARGET_DIR/debug"
accounts=200

modes=(pruned archive)
declare -A keep_of=([pruned]=$keep [archive]=0) base_of=([pruned]=27100 [archive]=27200)
cleanup() { for m in "${modes[@]}"; do net down --kill --purge --dir "$out/$m" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT
cleanup

for m in "${modes[@]}"; do
  COMETBFT_TUNING=$tuning net up --validators 1 --dir "$out/$m" --base-port "${base_of[$m]}" \
    --bench-accounts "$accounts" --keep-blocks "${keep_of[$m]}" >"$out/$m.up.log"
done

# Load on both until both reach the height; each `bench load` run is bounded, and so is
# the loop (at most 200 runs of 30 s).
load() { # MODE
  local m=$1 base=${base_of[$1]} i h
  for ((i = 0; i < 200; i++)); do
    h=$(curl -s "http://127.0.0.1:$((base + 1))/status" | jq -r .result.sync_info.latest_block_height)
    [ "$h" -ge "$blocks" ] && return 0
    "$bin/openledger" bench load --node "http://127.0.0.1:$((base + 1))" --grpc "http://127.0.0.1:$((base + 3))" \
      --rate "$rate" --duration 30 --accounts "$accounts" --drain-timeout 30 >>"$out/$m.load.log" 2>&1 || true
  done
  echo "$m: height $blocks not reached" >&2
  return 1
}
started=$(date +%s)
load pruned & p1=$!
load archive & p2=$!
wait $p1 && wait $p2
elapsed=$(($(date +%s) - started))

bytes() { du -sb "$1" 2>/dev/null | cut -f1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
row() { # MODE LABEL
  local d="$out/$1/node0/cometbft/data" st cb bs cs ti
  st=$(bytes "$out/$1/node0/data/state")
  cb=$(bytes "$d")
  bs=$(bytes "$d/blockstore.db") cs=$(bytes "$d/state.db") ti=$(bytes "$d/tx_index.db")
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$2" "$(mib "$st")" "$(mib "$bs")" "$(mib "$cs")" "$(mib "$ti")" \
    "$(mib $((cb - bs - cs - ti)))" "$(mib $((st + cb)))"
}
{
  echo "$blocks blocks at $rate tx/s offered, 1 validator, timeout_commit 10ms ($elapsed s):"
  for m in "${modes[@]}"; do
    h=$(curl -s "http://127.0.0.1:$((${base_of[$m]} + 1))/status" | jq -r .result.sync_info.latest_block_height)
    echo "$m: height $h"
  done
  echo
  echo "| node | app state and stream (RocksDB) | CometBFT blockstore.db | state.db | tx_index.db | WAL and the rest | total |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  for m in "${modes[@]}"; do net stop node0 --dir "$out/$m" >/dev/null; done
  sleep 2
  row archive "archive (keep_blocks = 0)"
  row pruned "keep_blocks = $keep, before the state prune"
  "$bin/openledgerd" prune --home "$out/pruned/node0" | sed 's/^/    /' >&2
  row pruned "keep_blocks = $keep, after \`openledgerd prune\`"
} | tee "$out/disk.txt"
