//! The load generator (`openledger bench`) end to end against real CometBFT v0.38 on
//! loopback: signed transfers from 50 funded bench accounts through a single-node
//! OpenLedger chain, and `key=value` txs through CometBFT's built-in kvstore app, both
//! at 200 tx/s for 5 s; every tx reported committed is found in a block, balances and
//! keys moved accordingly. Plus the refusals that need no node.
//!
//! Needs `cometbft` and the CLI binary (`cargo build --workspace --bins`). Every wait is
//! bounded; every process started here is SIGKILLed when the test ends.
mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use common::*;
use openledger_loadgen::{account_key, TRANSFER_FEE};
use serde_json::{json, Value};

const ACCOUNTS: u64 = 50;
const SEED: &str = "e2e-load";
const FUNDING: u128 = 1_000_000_000;

/// `openledger bench ARGS…` (no keyring, no default node from the environment).
fn bench(args: &[&str]) -> Output {
    Command::new(cli_bin())
        .arg("bench")
        .args(args)
        .env_remove("OPENLEDGER_NODE")
        .stdin(Stdio::null())
        .output()
        .expect("running openledger bench")
}

fn bench_ok(args: &[&str]) -> String {
    success_stdout(&format!("openledger bench {}", args.join(" ")), bench(args))
}

fn run_d(args: &[&str]) {
    let out =
        Command::new(openledgerd_bin()).args(args).env("COMETBFT", cometbft_bin()).stdin(Stdio::null()).output().expect("openledgerd");
    assert!(
        out.status.success(),
        "openledgerd {} failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One line of `--tx-log`: hash, sent ms, height, code.
fn tx_log(path: &Path) -> Vec<(String, u64, u32)> {
    std::fs::read_to_string(path)
        .expect("tx log")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            assert_eq!(f.len(), 4, "tx log line {l:?}");
            assert_ne!(f[1], "-", "a tx was never sent: {l}");
            (f[0].to_string(), f[2].parse().expect("height"), f[3].parse().expect("code"))
        })
        .collect()
}

/// The report's own consistency: every planned tx sent and committed with code 0,
/// latency percentiles ordered and positive, blocks counted; over several blocks, the
/// committed rate near the offered one (200 tx/s).
fn assert_all_committed(r: &Value, planned: u64) {
    let n = |k: &str| r[k].as_u64().unwrap_or_else(|| panic!("no {k} in {r}"));
    assert_eq!((n("planned"), n("sent"), n("send_errors")), (planned, planned, 0), "{r}");
    assert_eq!((n("committed"), n("failed"), n("missing")), (planned, 0, 0), "{r}");
    assert_eq!(n("mempool_after"), 0, "{r}");
    let l = &r["latency_ms"];
    let p = |k: &str| l[k].as_f64().unwrap_or_else(|| panic!("no latency {k} in {r}"));
    assert!(0.0 < p("p50") && p("p50") <= p("p95") && p("p95") <= p("p99") && p("p99") <= p("max"), "{l}");
    assert!(p("max") < 30_000.0, "{l}");
    let tps = r["committed_tps"].as_f64().expect("committed_tps");
    assert!(tps > 0.0, "{r}");
    if n("blocks") >= 4 {
        let rate = r["rate"].as_f64().expect("rate");
        assert!(tps > 0.6 * rate && tps < 1.5 * rate, "{rate} tx/s offered, {tps} committed: {r}");
    }
    assert!(n("blocks") >= 2 && n("first_height") > 0 && n("last_height") >= n("first_height"), "{r}");
    assert!(r["txs_per_block_mean"].as_f64().expect("mean") > 0.0, "{r}");
}

/// `openledger bench load` of signed transfers on a single-node chain whose genesis funds
/// the bench accounts (`bench accounts -o json` → `genesis add-accounts --file`): all
/// 1,000 committed, each found by `/tx` at the height the loader reports, and every
/// account's balance moved by exactly its sends, receipts and fees.
#[test]
fn load_commits_every_signed_transfer_on_a_single_node_chain() {
    let t0 = Instant::now();
    let (_, _) = (cometbft_bin(), cli_bin());
    let mut procs = Procs::new();
    let ports = Ports::pick(0);
    let home = procs.home.display().to_string();
    let mut init: Vec<String> = ["init", "--home", home.as_str(), "--chain-id", "e2e-load", "--moniker", "m"].map(String::from).to_vec();
    init.extend(ports.flags());
    run_d(&init.iter().map(String::as_str).collect::<Vec<_>>());

    let accounts = bench_ok(&["accounts", "--count", "50", "--seed", SEED, "--amount", &format!("{FUNDING}uopen"), "-o", "json"]);
    let list: Value = serde_json::from_str(&accounts).expect("accounts JSON");
    let addresses: Vec<String> =
        list.as_array().expect("list").iter().map(|e| e["address"].as_str().expect("address").to_string()).collect();
    let expected: Vec<String> = (0..ACCOUNTS).map(|i| account_key(SEED, i).address().to_string()).collect();
    assert_eq!(addresses, expected, "bench accounts prints the loader's keys, in order");
    assert_eq!(list[0]["amount"], format!("{FUNDING}uopen"));
    let text = bench_ok(&["accounts", "--count", "3", "--seed", SEED]);
    assert_eq!(text.lines().collect::<Vec<_>>(), expected[..3].iter().map(String::as_str).collect::<Vec<_>>());
    let file = procs.root().join("accounts.json");
    std::fs::write(&file, &accounts).expect("write accounts");
    run_d(&["genesis", "add-accounts", "--home", &home, "--file", &file.display().to_string()]);
    step(t0, "genesis funds 50 bench accounts");

    let d = openledgerd_bin();
    procs.spawn("app", &d, &["start".into(), "--home".into(), home.clone()]);
    let chain = Chain::new(ports);
    wait_port(&mut procs, chain.ports.grpc, "openledgerd gRPC");
    procs.spawn("cometbft", &cometbft_bin(), &["start".into(), "--home".into(), procs.cometbft_home().display().to_string()]);
    chain.wait_height(&mut procs, 2);
    step(t0, "chain up");

    let log = procs.root().join("txs.log");
    let out = bench_ok(&[
        "load",
        "--node",
        &chain.ports.rpc_url(),
        "--rate",
        "200",
        "--duration",
        "5",
        "--accounts",
        "50",
        "--seed",
        SEED,
        "--chain-id",
        "e2e-load",
        "--drain-timeout",
        "30",
        "-o",
        "json",
        "--tx-log",
        &log.display().to_string(),
    ]);
    let r: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("bench load -o json printed non-JSON ({e}): {out}"));
    step(t0, &format!("load: {r}"));
    assert_eq!((r["mode"].as_str(), r["chain_id"].as_str(), r["accounts"].as_u64()), (Some("transfer"), Some("e2e-load"), Some(ACCOUNTS)));
    assert_all_committed(&r, 1000);

    // Every tx the loader reports committed is in the block it names, with code 0.
    let txs = tx_log(&log);
    assert_eq!(txs.len(), 1000);
    for (hash, height, code) in &txs {
        assert_eq!(*code, 0, "{hash}");
        let found = chain.tx(hash).unwrap_or_else(|| panic!("tx {hash} reported committed at {height} is not found by /tx"));
        assert_eq!((found.height, found.code), (*height, 0), "{hash}");
    }
    step(t0, "all 1000 found by /tx");

    // Account i sent 20 txs of 1 uopen to account i+1, each paying the fee.
    let sends = 1000 / ACCOUNTS as u128;
    for (i, a) in addresses.iter().enumerate() {
        assert_eq!(chain.grpc_balance(a), FUNDING - sends * (1 + TRANSFER_FEE) + sends, "bench account {i}");
    }
    // A second run continues from the accounts' current sequences.
    let out = bench_ok(&[
        "load",
        "--node",
        &chain.ports.rpc_url(),
        "--rate",
        "100",
        "--duration",
        "1",
        "--accounts",
        "50",
        "--seed",
        SEED,
        "-o",
        "json",
    ]);
    let r: Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_all_committed(&r, 100);
    assert_eq!(chain.grpc_balance(&addresses[0]), FUNDING - (sends + 2) * (1 + TRANSFER_FEE) + sends + 2);
    step(t0, "balances moved by exactly the sends; a second run continues the sequences");
    procs.assert_alive();
}

/// The same load of `key=value` txs through CometBFT's built-in kvstore app
/// (`--proxy_app=kvstore`, the ceiling's app): all committed and the keys readable.
#[test]
fn load_commits_every_kvstore_tx_on_cometbfts_builtin_app() {
    let t0 = Instant::now();
    let cometbft = cometbft_bin();
    let mut procs = Procs::new();
    let ports = Ports::pick(1);
    let home = procs.cometbft_home();
    let out = Command::new(&cometbft).args(["init", "--home"]).arg(&home).output().expect("cometbft init");
    assert!(out.status.success(), "cometbft init: {}", String::from_utf8_lossy(&out.stderr));
    procs.spawn(
        "cometbft",
        &cometbft,
        &[
            "start".into(),
            "--home".into(),
            home.display().to_string(),
            "--proxy_app=kvstore".into(),
            format!("--rpc.laddr=tcp://127.0.0.1:{}", ports.rpc),
            format!("--p2p.laddr=tcp://127.0.0.1:{}", ports.p2p),
        ],
    );
    let chain = Chain::new(ports);
    chain.wait_height(&mut procs, 2);
    step(t0, "kvstore node up");

    let log = procs.root().join("txs.log");
    let out = bench_ok(&[
        "load",
        "--mode",
        "kvstore",
        "--node",
        &chain.ports.rpc_url(),
        "--rate",
        "200",
        "--duration",
        "5",
        "--drain-timeout",
        "30",
        "-o",
        "json",
        "--tx-log",
        &log.display().to_string(),
    ]);
    let r: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("bench load -o json printed non-JSON ({e}): {out}"));
    step(t0, &format!("load: {r}"));
    assert_eq!(r["mode"], "kvstore");
    assert_all_committed(&r, 1000);
    let size = r["tx_bytes"].as_u64().expect("tx_bytes") as usize;
    assert_eq!(size, openledger_loadgen::transfer_tx_size(), "kvstore txs as large as a signed transfer");

    let txs = tx_log(&log);
    assert_eq!(txs.len(), 1000);
    for (hash, height, _) in txs.iter().step_by(97) {
        let found = chain.tx(hash).unwrap_or_else(|| panic!("tx {hash} not found by /tx"));
        assert_eq!((found.height, found.code), (*height, 0), "{hash}");
    }
    let prefix = r["key_prefix"].as_str().expect("key_prefix");
    for k in [0u64, 500, 999] {
        let key = format!("{prefix}{k:09}");
        let q = chain.rt.block_on(chain.rpc.call("abci_query", json!({"path": "", "data": hex::encode(&key)}))).expect("abci_query");
        let value = q["response"]["value"].as_str().unwrap_or_default();
        use base64::Engine;
        let value = base64::engine::general_purpose::STANDARD.decode(value).expect("base64");
        assert_eq!(key.len() + 1 + value.len(), size, "key {key}: {q}");
        assert!(value.iter().all(|b| *b == b'v'), "key {key}: {q}");
    }
    step(t0, "keys committed and readable");
    procs.assert_alive();
}

/// Mistakes are one line on stderr and a non-zero exit, before anything is sent.
#[test]
fn load_refuses_bad_arguments_with_one_line() {
    let node = "http://127.0.0.1:9"; // never contacted: the checks come first
    for (args, says) in [
        (vec!["load", "--node", "127.0.0.1:26657", "--rate", "10"], "invalid --node \"127.0.0.1:26657\""),
        (vec!["load", "--node", node, "--rate", "0"], "--rate must be a positive number"),
        (vec!["load", "--node", node, "--rate", "10", "--mode", "bank"], "unknown --mode \"bank\": transfer or kvstore"),
        (vec!["load", "--node", node, "--rate", "10", "--duration", "0"], "--duration must be"),
        (vec!["load", "--node", node, "--rate", "10", "--accounts", "0"], "--accounts must be at least"),
        (vec!["load", "--node", node, "--rate", "10", "-o", "xml"], "invalid --output"),
        (vec!["saturate", "--node", node, "--factor", "1"], "--factor must be above 1"),
        (vec!["accounts", "--count", "0"], "--count must be"),
    ] {
        let out = bench(&args);
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(says), "{args:?}: {stderr:?}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: not one line: {stderr:?}");
    }
    // A node that is not there: one line naming it.
    let out = bench(&["load", "--node", node, "--rate", "10", "--duration", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert!(!out.status.success() && stderr.contains("127.0.0.1:9") && stderr.lines().count() == 1, "{stderr:?}");
}
