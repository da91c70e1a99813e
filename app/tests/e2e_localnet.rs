//! A 4-validator network through `testnet/localnet.sh` — real `openledgerd` and
//! `cometbft` processes on loopback, one genesis written by `genesis add-validator` —
//! committing blocks every node agrees on, a CLI transfer seen by every node, and fees
//! paid to the genesis validators' operator accounts.
//!
//! Needs `cometbft` (see testnet/install-cometbft.sh), `curl` and `jq`, and the binaries
//! (`cargo build --workspace --bins`). Ports come from a free block in 20000..26000;
//! every process is SIGKILLed when the test ends, pass or fail.
mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Instant;

use common::*;
use serde_json::{json, Value};

const NODES: u16 = 4;
const FUNDING: u128 = 1_000_000_000_000;

#[test]
fn four_validators_from_genesis_agree_on_every_block_and_earn_the_fees() {
    let t0 = Instant::now();
    let net = Localnet::up(NODES, t0);
    let all = net.all();

    // Every node commits; `status --json` describes each one.
    net.wait_all(&all, 2);
    // Two nodes can commit a block before the last peer link is up (persistent peers
    // redial every ≤ 2 s): wait, bounded, until every node sees the other three.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status: Value = loop {
        let status: Value = serde_json::from_str(&net.ok(&["status", "--json"])).expect("status --json is JSON");
        let all_linked = status.as_array().is_some_and(|l| l.iter().all(|n| n["peers"] == json!(NODES - 1)));
        if all_linked || std::time::Instant::now() >= deadline {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let nodes = status.as_array().expect("status --json is a list");
    assert_eq!(nodes.len(), NODES as usize, "{status}");
    for (i, n) in nodes.iter().enumerate() {
        assert_eq!(n["name"], format!("node{i}"), "{n}");
        assert_eq!(n["rpc"], net.chains[i].ports.rpc_url(), "{n}");
        assert!(n["height"].as_u64().is_some_and(|h| h >= 2), "{n}");
        assert!(n["app_hash"].as_str().is_some_and(|h| h.len() == 64), "{n}");
        assert_eq!(n["peers"], json!(NODES - 1), "{n}");
        assert_eq!(n["catching_up"], json!(false), "{n}");
        assert_eq!((n["cometbft"].as_str(), n["app"].as_str()), (Some("running"), Some("running")), "{n}");
    }
    let text = net.ok(&["status"]);
    assert!(text.lines().count() == NODES as usize + 2 && text.contains("CATCHING UP"), "{text}");
    // `up` again on a running network says so and changes nothing.
    assert!(net.ok(&["up"]).contains("already up"));
    step(t0, "status: 4 nodes, 3 peers each, not catching up");

    // The validator set is the four of genesis, each mapped to its operator account.
    let genesis: Value = serde_json::from_slice(&std::fs::read(net.dir.join("genesis.json")).expect("genesis.json")).expect("genesis JSON");
    let from_genesis: BTreeSet<String> =
        genesis["validators"].as_array().expect("validators").iter().map(|v| v["address"].as_str().expect("address").to_string()).collect();
    assert_eq!(from_genesis.len(), NODES as usize);
    let operators: Vec<(String, String)> = genesis["app_state"]["token"]["validator_accounts"]
        .as_array()
        .expect("validator_accounts")
        .iter()
        .map(|v| (v["consensus_address"].as_str().expect("cons").to_string(), v["operator_address"].as_str().expect("op").to_string()))
        .collect();
    assert_eq!(operators.iter().map(|(c, _)| c.clone()).collect::<BTreeSet<_>>(), from_genesis);
    for (i, chain) in net.chains.iter().enumerate() {
        let v = chain.rt.block_on(chain.rpc.call("validators", json!({}))).expect("/validators");
        let set: BTreeSet<String> =
            v["validators"].as_array().expect("validators").iter().map(|v| v["address"].as_str().expect("address").to_string()).collect();
        assert_eq!(set, from_genesis, "node{i}'s validator set");
        assert!(v["validators"].as_array().expect("list").iter().all(|v| v["voting_power"] == "10"), "{v}");
    }
    step(t0, "CometBFT /validators on every node = the 4 genesis validators");

    // A transfer through node 1, seen on every node; fees reach the operators.
    let cli = net.cli(1);
    let (user0, user1) = (cli.address("user0"), cli.address("user1"));
    let sent = cli.send("user0", &user1, 4_321, "openledger-localnet");
    step(t0, &format!("user0 → user1 4321uopen at height {}", sent.height));
    let top = net.wait_all(&all, sent.height + 2);
    for (i, chain) in net.chains.iter().enumerate() {
        assert_eq!(chain.grpc_balance(&user1), FUNDING + 4_321, "user1 on node{i}");
        // node0 indexes txs (the node clients use); validators do not, and the CLI's wait
        // above (through node1) found the tx in node1's blocks instead.
        let r = if i == 0 { chain.tx(&sent.txhash) } else { chain.tx_in_blocks(&sent.txhash, sent.height) };
        let r = r.unwrap_or_else(|| panic!("node{i} does not have the tx"));
        assert_eq!((r.code, r.height), (0, sent.height));
        if i != 0 {
            let e = chain.rt.block_on(chain.rpc.tx(&sent.txhash)).expect_err("validators do not index txs");
            assert!(e.to_string().contains("indexing is disabled"), "{e:#}");
        }
    }
    let fee = FUNDING - 4_321 - net.chains[0].grpc_balance(&user0);
    assert!(fee > 0, "no fee was paid");
    let paid: Vec<u128> = operators.iter().map(|(_, op)| net.chains[2].abci_balance(op) - FUNDING).collect();
    let collector = openledger_token::fee_collector().to_string();
    let left = net.chains[2].abci_balance(&collector);
    assert_eq!(paid.iter().sum::<u128>() + left, fee, "operators got {paid:?}, the collector holds {left}, the fee was {fee}");
    // The signers of the commit are paid by power (10 each): at least the 2/3 that signed.
    assert!(paid.iter().filter(|p| **p > 0).count() >= 3, "operators paid: {paid:?}");
    step(t0, &format!("fee {fee}uopen: operators got {paid:?}, {left} left for the next block"));

    // Identical block and app hashes at every height, by RPC and by the script's check.
    net.assert_agree(&all, top);
    let check: Value = serde_json::from_str(&net.ok(&["check", "--json"])).expect("check --json is JSON");
    assert_eq!(check["ok"], json!(true), "{check}");
    assert!(check["heights"].as_u64().is_some_and(|h| h >= top), "{check}");
    step(t0, &format!("every node agrees on blocks 1..={top}"));

    net.ok(&["down"]);
    assert!(pids_under(&net.dir).is_empty(), "processes left after down: {:?}", pids_under(&net.dir));
    let s: Value = serde_json::from_str(&net.ok(&["status", "--json"])).expect("status --json");
    assert!(
        s.as_array().expect("list").iter().all(|n| n["height"].is_null() && n["cometbft"] == "stopped" && n["app"] == "stopped"),
        "{s}"
    );
    step(t0, "down: nothing left running");

    // A stopped node exports its state as a genesis: same validators, user0's sequence.
    let export = |chain_id: &str| {
        Command::new(openledgerd_bin())
            .args(["export", "--chain-id", chain_id, "--home"])
            .arg(net.dir.join("node0"))
            .output()
            .expect("openledgerd export")
    };
    let same = export(genesis["chain_id"].as_str().expect("chain id"));
    assert!(
        !same.status.success() && String::from_utf8_lossy(&same.stderr).contains("needs a chain id other than"),
        "the same chain id is refused"
    );
    let out = export("openledger-localnet-2");
    assert!(out.status.success(), "export failed: {}", String::from_utf8_lossy(&out.stderr));
    let exported: Value = serde_json::from_slice(&out.stdout).expect("export prints JSON");
    assert_eq!((exported["chain_id"].as_str(), &exported["validators"]), (Some("openledger-localnet-2"), &genesis["validators"]));
    let accounts = exported["app_state"]["auth"]["accounts"].as_array().expect("accounts");
    let u0 = accounts.iter().find(|a| a["address"] == user0.as_str()).expect("user0 exported");
    assert_eq!((u0["sequence"].as_u64(), u0["pub_key"]["@type"].as_str()), (Some(1), Some("/cosmos.crypto.secp256k1.PubKey")), "{u0}");
    step(t0, "export of node0: the genesis validators, user0 at sequence 1");
}

/// Bad input: one line on stderr naming the problem, non-zero exit, nothing started.
#[test]
fn localnet_script_refuses_bad_input_with_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let net_dir = dir.path().join("net");
    let run = |args: &[&str]| {
        let out = Command::new("bash")
            .arg(localnet_script())
            .arg("--dir")
            .arg(&net_dir)
            .args(args)
            .env("OPENLEDGERD", openledgerd_bin())
            .env("OPENLEDGER", cli_bin())
            .env("COMETBFT", cometbft_bin())
            .output()
            .expect("running localnet.sh");
        (out.status.success(), String::from_utf8_lossy(&out.stderr).trim().to_string())
    };
    for (args, needle) in [
        (vec!["status"], "no network at"),
        (vec!["stop", "node1"], "no network at"),
        (vec!["up", "--validators", "0"], "--validators must be 1 to 50"),
        (vec!["up", "--validators", "x"], "--validators must be 1 to 50"),
        (vec!["up", "--base-port", "65530"], "--base-port must leave room"),
        (vec!["up", "--frobnicate"], "unknown argument --frobnicate"),
        (vec!["explode"], "unknown command explode"),
    ] {
        let (ok, err) = run(&args);
        assert!(!ok, "{args:?} succeeded");
        assert!(err.contains(needle) && err.lines().count() == 1, "{args:?}: {err:?}");
    }
    assert!(!net_dir.exists(), "a refused command created {}", net_dir.display());
}
