#!/usr/bin/env bash
# Installs what building and running OpenLedger needs, idempotently and quickly when
# everything is already present: the C/C++ toolchain pieces RocksDB's build needs
# (libclang for bindgen, a C++ compiler), curl and jq (testnet/localnet.sh), iptables (its partitions), the pinned
# CometBFT, and the standard Cosmos clients the end-to-end tests drive (CosmJS, cosmpy,
# grpcurl: testnet/clients/install.sh).
# Prints `export` lines for the environment the other scripts use.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
dpkg -s libclang-dev >/dev/null 2>&1 || need_apt+=(libclang-dev)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
command -v make >/dev/null 2>&1 || need_apt+=(make)
# testnet/localnet.sh reads CometBFT's RPC with them.
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v jq >/dev/null 2>&1 || need_apt+=(jq)
# The partition scenario of the fault tests (localnet.sh partition) drops packets with it.
command -v iptables >/dev/null 2>&1 || need_apt+=(iptables)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >&2
fi

command -v cargo >/dev/null 2>&1 || { echo "setup: Rust (cargo) is required: https://rustup.rs" >&2; exit 1; }
command -v go >/dev/null 2>&1 || { echo "setup: Go is required to install CometBFT: https://go.dev/dl" >&2; exit 1; }

COMETBFT_BIN=$(testnet/install-cometbft.sh | tail -n 1)
echo "export COMETBFT=$COMETBFT_BIN"
echo "export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/openledger-target}"
testnet/clients/install.sh
