#!/usr/bin/env bash
# An N-validator network of CometBFT's built-in kvstore app on loopback: the ceiling the
# OpenLedger network is measured against (same CometBFT, same settings, same machine).
#
#   testnet/kvstore-net.sh up   [--validators N] [--dir DIR] [--base-port P] [--abci builtin|socket]
#   testnet/kvstore-net.sh down [--dir DIR] [--clean]
#   testnet/kvstore-net.sh nodes [--dir DIR]      the RPC URLs, comma-separated
#
# `up` generates the network with `cometbft testnet --v N`, gives node i the ports
# P+10i (p2p) and P+10i+1 (RPC), all on 127.0.0.1, runs `proxy_app = "kvstore"`, applies
# testnet/cometbft-tuning.env ($COMETBFT_TUNING), starts every node, waits (≤ 60 s) for
# blocks and prints the RPC URLs as its last line. `down` stops the nodes it started
# (pids in DIR/nodeI/pid). Defaults: N=1, DIR=/tmp/openledger-kvstore-net, P=36000.
#
# --abci socket runs the same kvstore app out of process instead — CometBFT's own
# `abci-cli kvstore` (installed with `go install` at the pinned tag) on P+10i+2, reached
# through `proxy_app = "tcp://…"` exactly as CometBFT reaches openledgerd — so the cost
# of the ABCI socket transport itself is measured apart from any app's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/cometbft-config.sh"

cmd=${1:-}
[[ -n $cmd ]] && shift
validators=1 dir=/tmp/openledger-kvstore-net base=36000 clean=0 abci=builtin
while [[ $# -gt 0 ]]; do
    case $1 in
        --validators) validators=$2; shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        --base-port) base=$2; shift 2 ;;
        --clean) clean=1; shift ;;
        --abci) abci=$2; shift 2 ;;
        *) echo "kvstore-net: unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ $validators =~ ^[1-9][0-9]?$ ]] || { echo "kvstore-net: --validators must be 1..99" >&2; exit 2; }
[[ $base =~ ^[0-9]+$ && $base -ge 1024 && $base -le 64000 ]] || { echo "kvstore-net: --base-port must be 1024..64000" >&2; exit 2; }
[[ $abci == builtin || $abci == socket ]] || { echo "kvstore-net: --abci builtin or socket" >&2; exit 2; }
cometbft=${COMETBFT:-$(command -v cometbft || echo /root/go/bin/cometbft)}
log() { echo "kvstore-net: $*" >&2; }

nodes() {
    local urls=() i
    for i in $(seq 0 $(( $(cat "$dir/validators") - 1 ))); do urls+=("http://127.0.0.1:$(( $(cat "$dir/base-port") + 10 * i + 1 ))"); done
    (IFS=,; echo "${urls[*]}")
}

down() {
    local pidfile pid
    for pidfile in "$dir"/node*/pid "$dir"/node*/abci.pid; do
        [[ -f $pidfile ]] || continue
        pid=$(cat "$pidfile")
        # Only a cometbft (or abci-cli) we started on this directory.
        if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "--home $(dirname "$pidfile")\|abci-cli kvstore --address tcp://127.0.0.1:"; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
            [[ -d /proc/$pid ]] && kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$pidfile"
    done
}

case $cmd in
    up)
        [[ -x $cometbft ]] || { echo "kvstore-net: cometbft not found (run testnet/install-cometbft.sh or set COMETBFT)" >&2; exit 1; }
        if [[ $abci == socket ]]; then
            # CometBFT's own out-of-process kvstore, at the CometBFT pin.
            pin=$(sed -n 's/^COMETBFT_VERSION=//p' "$here/install-cometbft.sh")
            abci_cli=$(dirname "$cometbft")/abci-cli
            # (`abci-cli version` prints the ABCI version, so the pin it was built at is
            # recorded beside it.)
            if ! [[ -x $abci_cli && $(cat "$abci_cli.pin" 2>/dev/null) == "$pin" ]]; then
                log "installing abci-cli $pin"
                GOBIN=$(dirname "$cometbft") go install "github.com/cometbft/cometbft/abci/cmd/abci-cli@$pin" >&2
                echo "$pin" > "$abci_cli.pin"
            fi
        fi
        if compgen -G "$dir/node*/pid" > /dev/null; then down; fi
        for port in $(seq "$base" $((base + 10 * validators - 9))); do
            if (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
                echo "kvstore-net: 127.0.0.1:$port is in use (another network? see --base-port)" >&2
                exit 1
            fi
        done
        rm -rf "$dir"
        mkdir -p "$dir"
        "$cometbft" testnet --v "$validators" --o "$dir" --starting-ip-address 127.0.0.1 > /dev/null
        # The block size localnet.sh gives the OpenLedger network (its GENESIS_TUNING).
        for g in "$dir"/node*/config/genesis.json; do
            jq '.consensus_params.block.max_bytes = "4194304"' "$g" > "$g.tmp" && mv "$g.tmp" "$g"
        done
        echo "$validators" > "$dir/validators"
        echo "$base" > "$dir/base-port"
        peers=()
        for i in $(seq 0 $((validators - 1))); do
            peers+=("$("$cometbft" show-node-id --home "$dir/node$i")@127.0.0.1:$((base + 10 * i))")
        done
        for i in $(seq 0 $((validators - 1))); do
            cfg=$dir/node$i/config/config.toml
            cometbft_apply_tuning "$cfg"
            others=()
            for j in $(seq 0 $((validators - 1))); do [[ $j -ne $i ]] && others+=("${peers[$j]}"); done
            if [[ $abci == socket ]]; then
                abci_addr=tcp://127.0.0.1:$((base + 10 * i + 2))
                "$abci_cli" kvstore --address "$abci_addr" --log_level error > "$dir/node$i/abci.log" 2>&1 &
                echo $! > "$dir/node$i/abci.pid"
                cometbft_set "$cfg" proxy_app "$abci_addr"
            else
                cometbft_set "$cfg" proxy_app kvstore
            fi
            # node0 indexes txs, as localnet.sh's node0 does (the tuning file turns it off).
            [[ $i -ne 0 ]] || cometbft_set "$cfg" tx_index.indexer kv
            cometbft_set "$cfg" moniker "kvstore$i"
            cometbft_set "$cfg" p2p.laddr "tcp://127.0.0.1:$((base + 10 * i))"
            cometbft_set "$cfg" p2p.persistent_peers "$(IFS=,; echo "${others[*]:-}")"
            cometbft_set "$cfg" rpc.laddr "tcp://127.0.0.1:$((base + 10 * i + 1))"
            cometbft_set "$cfg" rpc.pprof_laddr ""
            cometbft_set "$cfg" instrumentation.prometheus false
            "$cometbft" start --home "$dir/node$i" > "$dir/node$i/cometbft.log" 2>&1 &
            echo $! > "$dir/node$i/pid"
        done
        urls=$(nodes)
        deadline=$((SECONDS + 60))
        for url in ${urls//,/ }; do
            until h=$(curl -sf "$url/status" | jq -r '.result.sync_info.latest_block_height' 2>/dev/null) && [[ ${h:-0} -ge 1 ]]; do
                if [[ $SECONDS -ge $deadline ]]; then
                    log "no blocks at $url within 60 s; see $dir/node*/cometbft.log"
                    down
                    exit 1
                fi
                sleep 0.3
            done
        done
        log "$validators kvstore validator(s) up in $dir"
        echo "$urls"
        ;;
    down)
        [[ -d $dir ]] || exit 0
        down
        [[ $clean -eq 1 ]] && rm -rf "$dir"
        log "down"
        ;;
    nodes)
        nodes
        ;;
    *)
        sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
        exit 2
        ;;
esac
