#!/usr/bin/env bash
# End-to-end load benchmark: the saturation throughput of signed transfers through an
# OpenLedger network against plain txs through CometBFT's built-in kvstore app on the
# same layout, same CometBFT settings (testnet/cometbft-tuning.env), same loader
# (`openledger bench saturate`), same machine, one run.
#
#   testnet/bench-load.sh [--validators N] [--duration S] [--accounts A]
#                         [--start-rate R] [--factor F] [--max-steps K]
#                         [--only kvstore|kvstore-socket|openledger] [--openledger-nodes URL,URL…]
#                         [--localnet DIR] [--out DIR]
#
# kvstore: testnet/kvstore-net.sh up --validators N, then the search, then down; then the
# same for kvstore-socket (`--abci socket`: the same kvstore app out of process, behind
# CometBFT's ABCI socket client as openledgerd is — the transport's cost on its own).
# openledger: with --openledger-nodes, an already running network whose genesis funds the
# A bench accounts (`openledger bench accounts --count A -o json` → `openledgerd genesis
# add-accounts --file`), e.g. from testnet/localnet.sh — or --localnet DIR, a network of
# `localnet.sh up --bench-accounts A --dir DIR`: its nodes are the endpoints, and it is
# paused (SIGSTOP) while the kvstore network runs so the two never share the CPU; otherwise (N = 1 only) this script
# makes a single-node chain that does: openledgerd init, add-accounts, the tuning file,
# openledgerd start + cometbft start, on 127.0.0.1:37000-37004.
#
# Each search steps the offered rate from R by ×F (≤ K steps of S seconds) until the
# committed tx/s stops rising or p99 latency passes 30 s, then runs at 50% and 90% of the
# best rate; the table shows the CPU cores each node process, the loader and the whole
# machine used. Results (tables and JSON) go to DIR (default /tmp/openledger-bench-load).
#
# Binaries: $BIN_DIR (default $CARGO_TARGET_DIR/release if it has openledgerd, else
# …/debug); build with `cargo build --release --bins` for figures worth recording.
# Defaults: N=1, S=10, A=2000, R=250, F=1.6, K=8.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/cometbft-config.sh"

validators=1 duration=10 accounts=2000 start_rate=250 factor=1.6 max_steps=8 only="" ol_nodes="" localnet="" out=/tmp/openledger-bench-load
while [[ $# -gt 0 ]]; do
    case $1 in
        --validators) validators=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --accounts) accounts=$2; shift 2 ;;
        --start-rate) start_rate=$2; shift 2 ;;
        --factor) factor=$2; shift 2 ;;
        --max-steps) max_steps=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        --openledger-nodes) ol_nodes=$2; shift 2 ;;
        --localnet) localnet=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench-load: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ -z $only || $only == kvstore || $only == kvstore-socket || $only == openledger ]] || { echo "bench-load: --only kvstore, kvstore-socket or openledger" >&2; exit 2; }
log() { echo "bench-load: $*" >&2; }

target=${CARGO_TARGET_DIR:-$HOME/.cache/openledger-target}
if [[ -z ${BIN_DIR:-} ]]; then
    BIN_DIR=$target/release
    [[ -x $BIN_DIR/openledgerd && -x $BIN_DIR/openledger ]] || BIN_DIR=$target/debug
fi
for b in openledger openledgerd; do
    [[ -x $BIN_DIR/$b ]] || { echo "bench-load: $BIN_DIR/$b missing: cargo build --release --bins (or set BIN_DIR)" >&2; exit 1; }
done
export COMETBFT=${COMETBFT:-$(command -v cometbft || echo /root/go/bin/cometbft)}
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)

search() { # MODE NODES LABEL [CPU FLAGS…]
    local mode=$1 nodes=$2 label=$3
    shift 3
    log "$label: saturation search ($mode on $nodes)"
    "$BIN_DIR/openledger" bench saturate --mode "$mode" --node "$nodes" --accounts "$accounts" \
        --duration "$duration" --start-rate "$start_rate" --factor "$factor" --max-steps "$max_steps" "$@" -o json \
        > "$out/$stamp-$label.json"
    local json=$out/$stamp-$label.json
    {
        echo "== $label ($mode on $nodes)"
        jq -r '
            def row($l): [$l, (.rate|floor), .sent, .send_errors, (.missing + .failed), (.committed_tps*10|round/10),
                          (.latency_ms.p50|round), (.latency_ms.p95|round), (.latency_ms.p99|round), (.txs_per_block_mean|round),
                          ((.cpu_cores // {}) | to_entries | map("\(.key) \(.value)") | join(", "))] | @tsv;
            (["step","offered","sent","errors","lost","commit/s","p50_ms","p95_ms","p99_ms","txs/blk","cpu_cores"] | @tsv),
            (.steps | to_entries[] | .key as $i | .value | row("\($i + 1)")),
            (.at_50 | row("50%")), (.at_90 | row("90%"))' "$json" | column -t -s $'\t'
        jq -r '"saturation \(.saturation_tps|round) tx/s (stopped: \(.stop_reason))"' "$json"
    } | tee -a "$out/$stamp-summary.txt"
}

{
    echo "# bench-load $stamp: validators $validators, $duration s steps, accounts $accounts, binaries $BIN_DIR"
    echo "# uptime: $(uptime)"
    echo "# CometBFT settings: $(grep -v '^#' "$here/cometbft-tuning.env" | grep . | tr '\n' ' ')"
} | tee "$out/$stamp-summary.txt"

localnet_nodes() { "$here/localnet.sh" status --json --dir "$localnet" | jq -r '.[].name'; }
if [[ -n $localnet ]]; then
    ol_nodes=$("$here/localnet.sh" status --json --dir "$localnet" | jq -r '[.[].rpc] | join(",")')
    ln_names=$(localnet_nodes)
    [[ -n $ol_nodes ]] || { echo "bench-load: no running network at $localnet" >&2; exit 1; }
fi

# ---------------------------------------------------------------- kvstore ceilings
kv_search() { # LABEL ABCI
    local label=$1 abci=$2 kvdir=$out/kvstore-net kv_nodes i
    kv_nodes=$("$here/kvstore-net.sh" up --validators "$validators" --abci "$abci" --dir "$kvdir" | tail -1)
    trap '"$here/kvstore-net.sh" down --dir "$kvdir" >/dev/null 2>&1 || true; resume_localnet' EXIT
    local flags=()
    for i in $(seq 0 $((validators - 1))); do
        flags+=(--cpu-pid "cometbft$i=$(cat "$kvdir/node$i/pid")")
        [[ ! -f $kvdir/node$i/abci.pid ]] || flags+=(--cpu-pid "kvstore$i=$(cat "$kvdir/node$i/abci.pid")")
    done
    search kvstore "$kv_nodes" "$label" "${flags[@]}"
    "$here/kvstore-net.sh" down --dir "$kvdir" >/dev/null
    trap - EXIT
}
resume_localnet() { [[ -z $localnet ]] || for n in $ln_names; do "$here/localnet.sh" resume "$n" --dir "$localnet" > /dev/null 2>&1 || true; done; }
if [[ -z $only || $only == kvstore || $only == kvstore-socket ]]; then
    if [[ -n $localnet ]]; then
        for n in $ln_names; do "$here/localnet.sh" pause "$n" --dir "$localnet" > /dev/null; done
        log "localnet at $localnet paused while the kvstore networks run"
    fi
    [[ -n $only && $only != kvstore ]] || kv_search kvstore builtin
    [[ -n $only && $only != kvstore-socket ]] || kv_search kvstore-socket socket
    if [[ -n $localnet ]]; then
        resume_localnet
        h=$(curl -sf "${ol_nodes%%,*}/status" | jq -r .result.sync_info.latest_block_height)
        "$here/localnet.sh" wait-height $((h + 3)) --timeout 60 --dir "$localnet" > /dev/null
        log "localnet resumed (height $((h + 3)) on every node)"
    fi
fi

# ---------------------------------------------------------------- openledger
if [[ -z $only || $only == openledger ]]; then
    if [[ -n $ol_nodes ]]; then
        # Someone else's network: CPU of its processes, if they run here.
        flags=()
        for pid in $(pgrep -x openledgerd || true) $(pgrep -x cometbft || true); do
            flags+=(--cpu-pid "$(cat /proc/$pid/comm)-$pid=$pid")
        done
        search transfer "$ol_nodes" openledger "${flags[@]}"
    else
        [[ $validators -eq 1 ]] || { echo "bench-load: an OpenLedger network of $validators validators: start it with testnet/localnet.sh (funding $accounts bench accounts) and pass --openledger-nodes" >&2; exit 1; }
        home=$out/openledger-node
        rm -rf "$home"
        "$BIN_DIR/openledgerd" init --home "$home" --chain-id openledger-bench --moniker bench \
            --rpc-laddr 127.0.0.1:37001 --p2p-laddr 127.0.0.1:37000 --abci-address 127.0.0.1:37002 \
            --grpc-address 127.0.0.1:37003 --api-address "" > /dev/null
        "$BIN_DIR/openledger" bench accounts --count "$accounts" -o json > "$home/bench-accounts.json"
        "$BIN_DIR/openledgerd" genesis add-accounts --home "$home" --file "$home/bench-accounts.json" > /dev/null
        cometbft_apply_tuning "$home/cometbft/config/config.toml"
        cometbft_set "$home/cometbft/config/config.toml" rpc.pprof_laddr ""
        # A single node is node0, the one clients use: it indexes txs (as in localnet.sh).
        cometbft_set "$home/cometbft/config/config.toml" tx_index.indexer kv
        "$BIN_DIR/openledgerd" start --home "$home" > "$home/openledgerd.log" 2>&1 &
        app_pid=$!
        cometbft_pid=""
        stop_ol() {
            [[ -n $cometbft_pid ]] && kill "$cometbft_pid" 2>/dev/null || true
            kill "$app_pid" 2>/dev/null || true
            wait 2>/dev/null || true
        }
        trap stop_ol EXIT
        for _ in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/37003) 2>/dev/null && break; sleep 0.2; done
        "$COMETBFT" start --home "$home/cometbft" > "$home/cometbft.log" 2>&1 &
        cometbft_pid=$!
        deadline=$((SECONDS + 60))
        until h=$(curl -sf http://127.0.0.1:37001/status | jq -r .result.sync_info.latest_block_height 2>/dev/null) && [[ ${h:-0} -ge 2 ]]; do
            [[ $SECONDS -lt $deadline ]] || { log "no blocks within 60 s; see $home/*.log"; exit 1; }
            sleep 0.3
        done
        search transfer http://127.0.0.1:37001 openledger --cpu-pid "openledgerd=$app_pid" --cpu-pid "cometbft=$cometbft_pid"
        stop_ol
        trap - EXIT
    fi
fi
# The ratios the issue asks for: OpenLedger against each kvstore ceiling of this run.
sat() { [[ -f $out/$stamp-$1.json ]] && jq -r '.saturation_tps' "$out/$stamp-$1.json" || true; }
ol=$(sat openledger)
for kv in kvstore kvstore-socket; do
    k=$(sat "$kv")
    [[ -n $ol && -n $k ]] && awk -v o="$ol" -v k="$k" -v n="$kv" 'BEGIN { printf "ratio openledger / %s: %.0f / %.0f = %.2f\n", n, o, k, o / k }' | tee -a "$out/$stamp-summary.txt"
done
echo "# uptime after: $(uptime)" | tee -a "$out/$stamp-summary.txt"
log "results in $out/$stamp-*"
