#!/usr/bin/env bash
# A local N-validator OpenLedger network on loopback: N `openledgerd` + N `cometbft`
# processes, one genesis whose validator set and funded accounts are written by
# `openledgerd genesis add-validator` / `add-account`, keys in a test keyring.
#
#   testnet/localnet.sh up [--validators N] [--base-port P] [--chain-id ID] [--accounts M] [--keep-blocks K]
#                          [--bench-accounts A [--bench-seed S]]   (fund `openledger bench` accounts)
#   testnet/localnet.sh status [--json]          per node: RPC, height, app hash, peers, catching up
#   testnet/localnet.sh check [--json]           block hash and app hash identical on every node at every height
#   testnet/localnet.sh wait-height H [--timeout S]   until every running node has committed H
#   testnet/localnet.sh stop NODE [--app-only] [--kill]   SIGTERM (or SIGKILL) one node's processes
#   testnet/localnet.sh start NODE [--as-user U] restart them on the same home (its CometBFT as user U)
#   testnet/localnet.sh pause NODE | resume NODE [--app-only]   SIGSTOP / SIGCONT
#   testnet/localnet.sh partition NODE           cut NODE's P2P links to every other node (iptables, root;
#                                                NODE's CometBFT must run as its own user: start --as-user)
#   testnet/localnet.sh heal                     remove the partition
#   testnet/localnet.sh logs NODE [--app] [--lines N] [-f]
#   testnet/localnet.sh down [--kill] [--purge]
#
# Every command takes --dir DIR (default $LOCALNET_DIR, else ~/.openledger-localnet).
# NODE is node0 … node{N-1} (or just its number). Node i listens on 127.0.0.1 at
# BASE+10i (P2P), +1 (CometBFT RPC), +2 (ABCI), +3 (gRPC), +4 (REST); BASE defaults
# to 26100. Binaries: $OPENLEDGERD / $OPENLEDGER (else built with cargo into
# $CARGO_TARGET_DIR) and $COMETBFT (else PATH or ~/go/bin, pinned v0.38).
# The CometBFT settings this script applies, and why, are in README.md
# ("Validators: local networks").
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
DIR=${LOCALNET_DIR:-$HOME/.openledger-localnet}
WAIT_SECS=${LOCALNET_WAIT_SECS:-60}

die() { echo "localnet: $*" >&2; exit 1; }
say() { echo "localnet: $*" >&2; }

# ------------------------------------------------------------------ arguments

ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) [ $# -ge 2 ] || die "--dir needs a directory"; DIR=$2; shift 2 ;;
    --dir=*) DIR=${1#--dir=}; shift ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
set -- "${ARGS[@]+"${ARGS[@]}"}"
[ $# -ge 1 ] || die "usage: localnet.sh up|status|check|wait-height|stop|start|pause|resume|partition|heal|logs|down … (see the top of $0)"
CMD=$1; shift
case "$DIR" in /*) ;; *) DIR=$(pwd)/$DIR ;; esac
ENV_FILE=$DIR/localnet.env

need_tools() {
  local t
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || die "$t is required (apt-get install $t)"; done
}

is_uint() { case "$1" in ''|*[!0-9]*) return 1 ;; *) return 0 ;; esac; }

load_env() {
  [ -f "$ENV_FILE" ] || die "no network at $DIR (run: localnet.sh up --dir $DIR)"
  # shellcheck disable=SC1090
  . "$ENV_FILE"
}

# node NAME or number → index; refuses unknown nodes.
node_index() {
  local n=${1:-}
  [ -n "$n" ] || die "$CMD needs a NODE (node0 … node$((NODES - 1)))"
  n=${n#node}
  is_uint "$n" && [ "$n" -lt "$NODES" ] || die "unknown node $1: this network has node0 … node$((NODES - 1))"
  echo "$n"
}

home_of() { echo "$DIR/node$1"; }
port_of() { echo $((BASE_PORT + 10 * $1 + $2)); } # 0 p2p, 1 rpc, 2 abci, 3 grpc, 4 api
rpc_of() { echo "http://127.0.0.1:$(port_of "$1" 1)"; }

port_open() { (: </dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

# ------------------------------------------------------------------ binaries

find_binaries() {
  if [ -z "${OPENLEDGERD:-}" ] || [ -z "${OPENLEDGER:-}" ]; then
    local target=${CARGO_TARGET_DIR:-$HOME/.cache/openledger-target}
    say "building openledgerd and openledger (cargo build --workspace --bins, target $target)"
    (cd "$REPO" && CARGO_TARGET_DIR=$target cargo build --workspace --bins --quiet) || die "cargo build failed"
    OPENLEDGERD=${OPENLEDGERD:-$target/debug/openledgerd}
    OPENLEDGER=${OPENLEDGER:-$target/debug/openledger}
  fi
  [ -x "$OPENLEDGERD" ] || die "OPENLEDGERD=$OPENLEDGERD is not an executable"
  [ -x "$OPENLEDGER" ] || die "OPENLEDGER=$OPENLEDGER is not an executable"
  if [ -z "${COMETBFT:-}" ]; then
    COMETBFT=$(command -v cometbft || true)
    [ -n "$COMETBFT" ] || COMETBFT=$HOME/go/bin/cometbft
    [ -x "$COMETBFT" ] || COMETBFT=$("$REPO/testnet/install-cometbft.sh" | tail -n 1)
  fi
  [ -x "$COMETBFT" ] || die "COMETBFT=$COMETBFT is not an executable (run testnet/install-cometbft.sh)"
  case "$("$COMETBFT" version)" in 0.38.*) ;; *) die "$COMETBFT is not CometBFT v0.38 (run testnet/install-cometbft.sh)" ;; esac
  export COMETBFT
}

# ------------------------------------------------------------------ processes

# True if PID exists and has not exited (a zombie has).
pid_alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# pid in FILE if that process is alive and runs on this network's node home (a pid
# reused by another program does not count).
live_pid() {
  local file=$1 home=$2 pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  is_uint "$pid" && pid_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$home" || return 1
  echo "$pid"
}

proc_state() { # running | paused | stopped
  local pid
  if pid=$(live_pid "$1" "$2"); then
    if [ "$(awk '{print $3}' "/proc/$pid/stat")" = T ]; then echo paused; else echo running; fi
  else
    echo stopped
  fi
}

wait_port() { # PORT WHAT PIDFILE
  local deadline=$((SECONDS + WAIT_SECS)) pid
  pid=$(cat "$3")
  until port_open "$1"; do
    # Only "still alive": just started, it may not have exec'd its program yet.
    pid_alive "$pid" || die "$2 exited before listening on 127.0.0.1:$1 (see $(dirname "$3")/$(basename "$3" .pid).log)"
    [ $SECONDS -lt $deadline ] || die "$2 not listening on 127.0.0.1:$1 within ${WAIT_SECS}s"
    sleep 0.2
  done
}

start_node() { # INDEX [USER]
  local i=$1 user=${2:-} home
  home=$(home_of "$i")
  if ! live_pid "$home/app.pid" "$home" >/dev/null; then
    port_open "$(port_of "$i" 2)" && die "node$i: 127.0.0.1:$(port_of "$i" 2) (ABCI) is taken by another process"
    setsid "$OPENLEDGERD" start --home "$home" >>"$home/app.log" 2>&1 </dev/null &
    echo $! >"$home/app.pid"
  fi
  wait_port "$(port_of "$i" 2)" "node$i openledgerd" "$home/app.pid"
  if ! live_pid "$home/cometbft.pid" "$home" >/dev/null; then
    if [ -n "$user" ]; then
      local run_as
      run_as=$(prepare_user "$i" "$user")
      # shellcheck disable=SC2086 # run_as is setpriv and its options
      setsid $run_as "$DIR/bin/cometbft" start --home "$home/cometbft" >>"$home/cometbft.log" 2>&1 </dev/null &
    else
      setsid "$COMETBFT" start --home "$home/cometbft" >>"$home/cometbft.log" 2>&1 </dev/null &
    fi
    echo $! >"$home/cometbft.pid"
  fi
  wait_port "$(port_of "$i" 1)" "node$i cometbft" "$home/cometbft.pid"
}

# Make node INDEX's CometBFT runnable as USER (`start --as-user`): its own uid is what
# lets `partition` tell its packets from the other nodes' (all share 127.0.0.1). Needs
# root; the user must exist (useradd --system --no-create-home USER). The CometBFT home
# is chowned to USER and the binary copied to $DIR/bin (readable by USER); every
# directory above $DIR must be searchable by USER. Prints the setpriv command.
prepare_user() { # INDEX USER
  local home uid gid
  home=$(home_of "$1")
  [ "$(id -u)" = 0 ] || die "start --as-user needs root (it changes the owner of $home/cometbft)"
  need_tools setpriv
  uid=$(id -u "$2" 2>/dev/null) || die "no user $2: create it (useradd --system --no-create-home --shell /usr/sbin/nologin $2)"
  gid=$(id -g "$2")
  [ "$uid" != 0 ] || die "--as-user needs a user other than root"
  mkdir -p "$DIR/bin"
  cmp -s "$COMETBFT" "$DIR/bin/cometbft" || install -m 0755 "$COMETBFT" "$DIR/bin/cometbft"
  chmod 0755 "$DIR" "$DIR/bin" "$home"
  chown -R "$uid:$gid" "$home/cometbft"
  setpriv --reuid="$uid" --regid="$gid" --clear-groups test -x "$DIR/bin/cometbft" -a -w "$home/cometbft/data" ||
    die "user $2 cannot run $DIR/bin/cometbft or write $home/cometbft/data: make every directory above $DIR searchable (chmod o+x)"
  echo "setpriv --reuid=$uid --regid=$gid --clear-groups"
}

# uid of a live process.
proc_uid() { awk '/^Uid:/ {print $2}' "/proc/$1/status"; }

# The iptables chain of this network's partition (one per base port).
part_chain() { echo "OLPART$BASE_PORT"; }

cmd_partition() { # INDEX
  local i=$1 home pid uid ouid="" j p maj=() chain
  [ "$(id -u)" = 0 ] || die "partition needs root (iptables)"
  need_tools iptables
  home=$(home_of "$i")
  pid=$(live_pid "$home/cometbft.pid" "$home") || die "node$i's cometbft is not running"
  uid=$(proc_uid "$pid")
  for ((j = 0; j < NODES; j++)); do
    [ "$j" != "$i" ] || continue
    maj+=("$(port_of "$j" 0)")
    p=$(live_pid "$(home_of "$j")/cometbft.pid" "$(home_of "$j")") || continue
    [ -z "$ouid" ] || [ "$(proc_uid "$p")" = "$ouid" ] || die "the other nodes' cometbft run as different users; partition needs them under one"
    ouid=$(proc_uid "$p")
  done
  [ -n "$ouid" ] || die "no other node is running"
  [ "$uid" != "$ouid" ] ||
    die "node$i's cometbft runs as uid $uid like the others, so its packets cannot be told apart: localnet.sh stop node$i; localnet.sh start node$i --as-user USER"
  [ ${#maj[@]} -le 15 ] || die "partition handles networks of up to 16 nodes (iptables multiport)"
  chain=$(part_chain)
  iptables -w -N "$chain" 2>/dev/null || iptables -w -F "$chain"
  iptables -w -C OUTPUT -j "$chain" 2>/dev/null || iptables -w -I OUTPUT 1 -j "$chain"
  local node_p2p maj_p2p
  node_p2p=$(port_of "$i" 0)
  maj_p2p=$(IFS=,; echo "${maj[*]}")
  # Every packet on loopback leaves through OUTPUT, where its socket's owner is known:
  # the node dialing or writing to the others' P2P listeners; the node's listener
  # answering connections the others dialed; the others dialing or writing to the
  # node's listener.
  iptables -w -A "$chain" -p tcp -m owner --uid-owner "$uid" -m multiport --dports "$maj_p2p" -j DROP
  iptables -w -A "$chain" -p tcp -m owner --uid-owner "$uid" --sport "$node_p2p" -j DROP
  iptables -w -A "$chain" -p tcp -m owner --uid-owner "$ouid" --dport "$node_p2p" -j DROP
  echo "node$i partitioned: P2P between it (uid $uid, port $node_p2p) and ports $maj_p2p (uid $ouid) dropped (iptables chain $chain)"
}

cmd_heal() {
  local chain
  chain=$(part_chain)
  [ "$(id -u)" = 0 ] || die "heal needs root (iptables)"
  need_tools iptables
  while iptables -w -C OUTPUT -j "$chain" 2>/dev/null; do iptables -w -D OUTPUT -j "$chain"; done
  if iptables -w -L "$chain" -n >/dev/null 2>&1; then
    iptables -w -F "$chain"
    iptables -w -X "$chain"
    echo "partition healed (iptables chain $chain removed)"
  else
    echo "no partition (no iptables chain $chain)"
  fi
}

# SIGTERM (then SIGKILL after 15 s) or SIGKILL; waits (bounded) until the process is gone.
stop_proc() { # PIDFILE HOME SIGNAL
  local pid deadline killed=0
  pid=$(live_pid "$1" "$2") || { rm -f "$1"; return 0; }
  kill -CONT "$pid" 2>/dev/null || true # a paused process cannot act on SIGTERM
  kill "-$3" "$pid" 2>/dev/null || true
  [ "$3" != KILL ] || killed=1
  deadline=$((SECONDS + 15))
  while live_pid "$1" "$2" >/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      [ $killed = 0 ] || die "process $pid ($1) survived SIGKILL for 5 s"
      kill -KILL "$pid" 2>/dev/null || true
      killed=1 deadline=$((SECONDS + 5))
    fi
    sleep 0.1
  done
  rm -f "$1"
}

stop_node() { # INDEX APP_ONLY SIGNAL
  local home
  home=$(home_of "$1")
  # CometBFT first: it stops asking the app for blocks before the app goes away.
  [ "$2" = 1 ] || stop_proc "$home/cometbft.pid" "$home" "$3"
  stop_proc "$home/app.pid" "$home" "$3"
}

any_running() {
  local i home
  for ((i = 0; i < NODES; i++)); do
    home=$(home_of "$i")
    live_pid "$home/app.pid" "$home" >/dev/null && return 0
    live_pid "$home/cometbft.pid" "$home" >/dev/null && return 0
  done
  return 1
}

# ------------------------------------------------------------------ RPC

rpc_get() { curl -sf --max-time 3 "$1" 2>/dev/null; }

height_of() { # INDEX → latest height, or nothing
  rpc_get "$(rpc_of "$1")/status" | jq -r '.result.sync_info.latest_block_height // empty' 2>/dev/null || true
}

# ------------------------------------------------------------------ up

# The CometBFT settings of a local network, from testnet/cometbft-tuning.env (shared with
# the kvstore network, so both run on identical settings); README.md "Validators: local
# networks" gives the reason for each. Set through `openledgerd config set` (typed,
# unknown keys refused), never by editing files.
TUNING_SETTINGS=()
while IFS= read -r line || [ -n "$line" ]; do
  line=${line%%#*}; line=${line//[[:space:]]/}
  [ -n "$line" ] && TUNING_SETTINGS+=("$line")
done < "${COMETBFT_TUNING:-$(dirname "${BASH_SOURCE[0]}")/cometbft-tuning.env}"
# Consensus parameters in genesis (all nodes must agree on them; kvstore-net.sh sets the
# same block size).
GENESIS_TUNING=(
  consensus_params.block.max_bytes=4194304
  consensus_params.block.max_gas=1000000000
)

cmd_up() {
  local n=4 base=26100 chain=openledger-localnet accounts=4 bench=0 bench_seed=openledger-bench keep=
  while [ $# -gt 0 ]; do
    case "$1" in
      --validators) n=${2:-}; shift 2 || die "--validators needs a number" ;;
      --base-port) base=${2:-}; shift 2 || die "--base-port needs a port" ;;
      --chain-id) chain=${2:-}; shift 2 || die "--chain-id needs an id" ;;
      --accounts) accounts=${2:-}; shift 2 || die "--accounts needs a number" ;;
      --bench-accounts) bench=${2:-}; shift 2 || die "--bench-accounts needs a number" ;;
      --bench-seed) bench_seed=${2:-}; shift 2 || die "--bench-seed needs a seed" ;;
      --keep-blocks) keep=${2:-}; shift 2 || die "--keep-blocks needs a number" ;;
      *) die "up: unknown argument $1" ;;
    esac
  done
  is_uint "$n" && [ "$n" -ge 1 ] && [ "$n" -le 50 ] || die "--validators must be 1 to 50, got $n"
  is_uint "$accounts" && [ "$accounts" -le 100 ] || die "--accounts must be 0 to 100, got $accounts"
  [ -z "$keep" ] || is_uint "$keep" || die "--keep-blocks must be a number, got $keep"
  is_uint "$bench" && [ "$bench" -le 100000 ] || die "--bench-accounts must be 0 to 100000, got $bench"
  is_uint "$base" && [ "$base" -ge 1024 ] && [ $((base + 10 * n)) -le 65535 ] || die "--base-port must leave room for $n nodes below 65536, got $base"
  need_tools curl jq setsid

  if [ -f "$ENV_FILE" ]; then
    load_env
    if any_running; then
      echo "localnet at $DIR is already up ($NODES validators, chain $CHAIN_ID); \`status\` shows it, \`down\` stops it"
      return 0
    fi
    find_binaries
    say "resuming the network at $DIR ($NODES validators, chain $CHAIN_ID)"
    local i
    for ((i = 0; i < NODES; i++)); do start_node "$i"; done
    wait_all_height 1
    cmd_status
    return 0
  fi
  [ ! -e "$DIR" ] || [ -z "$(ls -A "$DIR")" ] || die "$DIR exists and is not a localnet directory: choose another --dir"
  local i p
  for ((i = 0; i < n; i++)); do
    for p in 0 1 2 3 4; do
      port_open $((base + 10 * i + p)) && die "127.0.0.1:$((base + 10 * i + p)) is in use: choose another --base-port"
    done
  done
  find_binaries
  mkdir -p "$DIR"
  NODES=$n BASE_PORT=$base CHAIN_ID=$chain

  say "keys (test keyring in $DIR)"
  local kr=(--keyring-backend test --home "$DIR")
  local ops=() users=()
  for ((i = 0; i < n; i++)); do
    # The .key files hold mnemonics: readable by their owner only.
    (umask 077 && "$OPENLEDGER" keys add "val$i" "${kr[@]}" >"$DIR/val$i.key" 2>&1) || die "keys add val$i: $(cat "$DIR/val$i.key")"
    ops+=("$("$OPENLEDGER" keys show "val$i" -a "${kr[@]}")")
  done
  for ((i = 0; i < accounts; i++)); do
    (umask 077 && "$OPENLEDGER" keys add "user$i" "${kr[@]}" >"$DIR/user$i.key" 2>&1) || die "keys add user$i: $(cat "$DIR/user$i.key")"
    users+=("$("$OPENLEDGER" keys show "user$i" -a "${kr[@]}")")
  done

  say "node homes ($n validators, chain $chain, ports $base…$((base + 10 * n - 1)))"
  for ((i = 0; i < n; i++)); do
    "$OPENLEDGERD" init --home "$(home_of "$i")" --chain-id "$chain" --moniker "node$i" --operator "${ops[$i]}" \
      --p2p-laddr "127.0.0.1:$(port_of "$i" 0)" --rpc-laddr "127.0.0.1:$(port_of "$i" 1)" \
      --abci-address "127.0.0.1:$(port_of "$i" 2)" --grpc-address "127.0.0.1:$(port_of "$i" 3)" \
      --api-address "127.0.0.1:$(port_of "$i" 4)" >/dev/null
  done

  # One genesis, written in node0's home: node0 is its validator since init; the
  # others join by add-validator; operators and users are funded.
  local g0
  g0=$(home_of 0)
  for ((i = 1; i < n; i++)); do
    "$OPENLEDGERD" genesis add-validator --home "$g0" --from-home "$(home_of "$i")" --power 10 --operator "${ops[$i]}" >/dev/null
  done
  for a in "${ops[@]}" "${users[@]+"${users[@]}"}"; do
    "$OPENLEDGERD" genesis add-account --home "$g0" "$a" 1000000000000uopen >/dev/null
  done
  if [ "$bench" -gt 0 ]; then
    # The accounts `openledger bench load --accounts A --seed S` signs for.
    "$OPENLEDGER" bench accounts --count "$bench" --seed "$bench_seed" -o json >"$DIR/bench-accounts.json"
    "$OPENLEDGERD" genesis add-accounts --home "$g0" --file "$DIR/bench-accounts.json" >/dev/null
  fi
  # node0's operator decides challenges a datanet's curators leave undecided.
  "$OPENLEDGERD" genesis add-arbiter --home "$g0" "${ops[0]}" >/dev/null
  "$OPENLEDGERD" genesis set --home "$g0" "${GENESIS_TUNING[@]}"
  # A history shorter than CometBFT's default evidence window (100,000 blocks) needs a
  # shorter window: a validator keeps every block evidence may still name.
  if [ -n "$keep" ] && [ "$keep" -gt 0 ] && [ "$keep" -lt 100000 ]; then
    "$OPENLEDGERD" genesis set --home "$g0" "consensus_params.evidence.max_age_num_blocks=$keep"
  fi
  cp "$g0/cometbft/config/genesis.json" "$DIR/genesis.json"

  local peers=() id
  for ((i = 0; i < n; i++)); do
    id=$("$COMETBFT" show-node-id --home "$(home_of "$i")/cometbft")
    peers+=("$id@127.0.0.1:$(port_of "$i" 0)")
  done
  for ((i = 0; i < n; i++)); do
    local home others=() j
    home=$(home_of "$i")
    cp "$DIR/genesis.json" "$home/cometbft/config/genesis.json"
    for ((j = 0; j < n; j++)); do [ "$j" = "$i" ] || others+=("${peers[$j]}"); done
    "$OPENLEDGERD" config set --home "$home" "${TUNING_SETTINGS[@]}" \
      "p2p.persistent_peers=$(IFS=,; echo "${others[*]+"${others[*]}"}")"
    [ -z "$keep" ] || sed -i "s/^keep_blocks = .*/keep_blocks = $keep/" "$home/config/app.toml"
    # node0 serves clients: it indexes txs (the tuning file turns indexing off).
    [ "$i" != 0 ] || "$OPENLEDGERD" config set --home "$home" tx_index.indexer=kv
  done
  cat >"$ENV_FILE" <<EOF
NODES=$n
BASE_PORT=$base
CHAIN_ID=$chain
EOF

  say "starting $n nodes"
  for ((i = 0; i < n; i++)); do start_node "$i"; done
  wait_all_height 1
  cmd_status
  echo "keyring: --keyring-backend test --home $DIR (keys val0…val$((n - 1)) operators, user0…user$((accounts - 1)))"
  [ "$bench" = 0 ] || echo "bench accounts: $bench funded (openledger bench load --accounts $bench --seed $bench_seed)"
}

# Wait until every running node has committed H.
wait_all_height() { # H [TIMEOUT]
  local target=$1 deadline=$((SECONDS + ${2:-$WAIT_SECS})) i h lagging
  while :; do
    lagging=""
    for ((i = 0; i < NODES; i++)); do
      [ "$(proc_state "$(home_of "$i")/cometbft.pid" "$(home_of "$i")")" = running ] || continue
      h=$(height_of "$i")
      if [ -z "$h" ] || [ "$h" -lt "$target" ]; then lagging+=" node$i(${h:-no answer})"; fi
    done
    [ -n "$lagging" ] || return 0
    [ $SECONDS -lt $deadline ] || die "height $target not reached within ${2:-$WAIT_SECS}s by:$lagging"
    sleep 0.3
  done
}

# ------------------------------------------------------------------ status, check

node_json() { # INDEX → one JSON object
  local i=$1 home rpc status net
  home=$(home_of "$i")
  rpc=$(rpc_of "$i")
  status=$(rpc_get "$rpc/status" || true)
  net=$(rpc_get "$rpc/net_info" || true)
  jq -n --arg name "node$i" --arg rpc "$rpc" --arg grpc "http://127.0.0.1:$(port_of "$i" 3)" \
    --arg cometbft "$(proc_state "$home/cometbft.pid" "$home")" --arg app "$(proc_state "$home/app.pid" "$home")" \
    --argjson status "${status:-null}" --argjson net "${net:-null}" '{
      name: $name, rpc: $rpc, grpc: $grpc,
      height: ($status.result.sync_info.latest_block_height // null | if . == null then null else tonumber end),
      app_hash: ($status.result.sync_info.latest_app_hash // null),
      block_hash: ($status.result.sync_info.latest_block_hash // null),
      peers: ($net.result.n_peers // null | if . == null then null else tonumber end),
      catching_up: (if $status == null then null else $status.result.sync_info.catching_up end),
      validator: ($status.result.validator_info.address // null),
      cometbft: $cometbft, app: $app }'
}

cmd_status() {
  local json=0
  [ "${1:-}" != --json ] || json=1
  need_tools curl jq
  local i all="[]"
  for ((i = 0; i < NODES; i++)); do all=$(jq -c --argjson n "$(node_json "$i")" '. + [$n]' <<<"$all"); done
  if [ $json = 1 ]; then
    jq . <<<"$all"
  else
    echo "localnet $CHAIN_ID at $DIR"
    jq -r '(["NODE", "RPC", "HEIGHT", "APP HASH", "PEERS", "CATCHING UP", "COMETBFT", "APP"] | @tsv),
      (.[] | [.name, .rpc, (.height // "-"), ((.app_hash // "-") | .[0:16]), (.peers // "-"), (if .catching_up == null then "-" else .catching_up end), .cometbft, .app] | map(tostring) | @tsv)' \
      <<<"$all" | column -t -s $'\t'
  fi
}

# Block hash and app hash of every height 1…H (H: the lowest height of the nodes that
# answer) identical on every node (the header of H+1 carries the app hash after H, so
# this compares every app's results); and each app's last committed hash (ABCI Info)
# equal to the one the next block records.
cmd_check() {
  local json=0
  [ "${1:-}" != --json ] || json=1
  need_tools curl jq
  local i h top="" answering=() metas ref lo hi bad=""
  for ((i = 0; i < NODES; i++)); do
    h=$(height_of "$i")
    [ -n "$h" ] || continue
    answering+=("$i")
    if [ -z "$top" ] || [ "$h" -lt "$top" ]; then top=$h; fi
  done
  [ ${#answering[@]} -gt 0 ] || die "no node answers"
  declare -A seen=()
  for i in "${answering[@]}"; do
    metas=""
    for ((lo = 1; lo <= top; lo += 20)); do
      hi=$((lo + 19 > top ? top : lo + 19))
      metas+=$(rpc_get "$(rpc_of "$i")/blockchain?minHeight=$lo&maxHeight=$hi" |
        jq -r '.result.block_metas[] | "\(.header.height) \(.block_id.hash) \(.header.app_hash)"' || true)$'\n'
    done
    while read -r h hash app; do
      [ -n "$h" ] || continue
      ref=${seen[$h]:-}
      if [ -z "$ref" ]; then
        seen[$h]="$hash $app node$i"
      elif [ "${ref% *}" != "$hash $app" ]; then
        bad+="height $h: node$i has block $hash app hash $app, ${ref##* } has ${ref% *}; "
      fi
    done <<<"$metas"
    # The app's own last committed hash (ABCI Info at height A) must be the app hash in
    # the header of block A+1 (waited for ≤ 3 s; a halted chain leaves it unchecked).
    local info ah ahex want try
    info=$(rpc_get "$(rpc_of "$i")/abci_info" || echo '{}')
    ah=$(jq -r '.result.response.last_block_height // empty' <<<"$info")
    ahex=$(jq -r '.result.response.last_block_app_hash // empty' <<<"$info" | base64 -d 2>/dev/null | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F)
    [ -n "$ah" ] || continue
    for ((try = 0; try < 10; try++)); do
      want=$(rpc_get "$(rpc_of "$i")/block?height=$((ah + 1))" | jq -r '.result.block.header.app_hash // empty' || true)
      [ -z "$want" ] || break
      sleep 0.3
    done
    if [ -n "$want" ] && [ "$want" != "$ahex" ]; then
      bad+="node$i's app committed $ahex at height $ah, block $((ah + 1)) records $want; "
    fi
  done
  if [ $json = 1 ]; then
    jq -n --argjson nodes "$(printf '%s\n' "${answering[@]}" | jq -s 'map("node\(.)")')" --argjson top "$top" --arg bad "$bad" \
      '{ok: ($bad == ""), heights: $top, nodes: $nodes, mismatches: ($bad | split("; ") | map(select(. != "")))}'
  fi
  [ -z "$bad" ] || die "nodes disagree: $bad"
  [ $json = 1 ] || echo "ok: ${#answering[@]} nodes agree on block hash and app hash at heights 1…$top"
}

# ------------------------------------------------------------------ commands

case "$CMD" in
  up) cmd_up "$@" ;;
  status) load_env; cmd_status "$@" ;;
  check) load_env; cmd_check "$@" ;;
  wait-height)
    load_env
    target=${1:-}; shift || true
    is_uint "$target" || die "wait-height needs a height"
    timeout=$WAIT_SECS
    if [ "${1:-}" = --timeout ]; then timeout=${2:-}; is_uint "$timeout" || die "--timeout needs seconds"; fi
    need_tools curl jq
    wait_all_height "$target" "$timeout"
    ;;
  stop | pause | resume)
    load_env
    i=$(node_index "${1:-}"); shift
    app_only=0 sig=TERM
    for a in "$@"; do
      case "$a" in
        --app-only) app_only=1 ;;
        --kill) [ "$CMD" = stop ] || die "--kill is for stop"; sig=KILL ;;
        *) die "$CMD: unknown argument $a" ;;
      esac
    done
    home=$(home_of "$i")
    case "$CMD" in
      stop) stop_node "$i" "$app_only" "$sig"; echo "node$i stopped (SIG$sig$([ $app_only = 1 ] && echo ', openledgerd only'))" ;;
      pause | resume)
        s=STOP; [ "$CMD" = pause ] || s=CONT
        for f in app cometbft; do
          [ $app_only = 0 ] || [ $f = app ] || continue
          pid=$(live_pid "$home/$f.pid" "$home") || die "node$i's $f is not running"
          kill -$s "$pid"
        done
        echo "node$i ${CMD}d"
        ;;
    esac
    ;;
  start)
    load_env
    i=$(node_index "${1:-}"); shift
    user=""
    while [ $# -gt 0 ]; do
      case "$1" in
        --as-user) user=${2:-}; [ -n "$user" ] || die "--as-user needs a user"; shift 2 ;;
        *) die "start: unknown argument $1" ;;
      esac
    done
    find_binaries
    start_node "$i" "$user"
    echo "node$i started ($(rpc_of "$i")$([ -z "$user" ] || echo ", cometbft as $user"))"
    ;;
  partition)
    load_env
    cmd_partition "$(node_index "${1:-}")"
    ;;
  heal)
    load_env
    cmd_heal
    ;;
  logs)
    load_env
    i=$(node_index "${1:-}"); shift
    file=cometbft.log lines=50 follow=0
    while [ $# -gt 0 ]; do
      case "$1" in
        --app) file=app.log; shift ;;
        --lines) lines=${2:-}; is_uint "$lines" || die "--lines needs a number"; shift 2 ;;
        -f | --follow) follow=1; shift ;;
        *) die "logs: unknown argument $1" ;;
      esac
    done
    log=$(home_of "$i")/$file
    [ -f "$log" ] || die "no log at $log"
    if [ $follow = 1 ]; then exec tail -n "$lines" -f "$log"; else tail -n "$lines" "$log"; fi
    ;;
  down)
    load_env
    sig=TERM purge=0
    for a in "$@"; do
      case "$a" in
        --kill) sig=KILL ;;
        --purge) purge=1 ;;
        *) die "down: unknown argument $a" ;;
      esac
    done
    for ((i = 0; i < NODES; i++)); do stop_node "$i" 0 "$sig"; done
    # A partition left in place would outlive the network.
    if [ "$(id -u)" = 0 ] && command -v iptables >/dev/null 2>&1 && iptables -w -L "$(part_chain)" -n >/dev/null 2>&1; then cmd_heal; fi
    if [ $purge = 1 ]; then
      rm -rf "$DIR"
      echo "localnet at $DIR stopped and removed"
    else
      echo "localnet at $DIR stopped (\`up\` resumes it, \`down --purge\` removes it)"
    fi
    ;;
  *) die "unknown command $CMD (up, status, check, wait-height, stop, start, pause, resume, partition, heal, logs, down)" ;;
esac
