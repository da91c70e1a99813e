//! `openledger watch` end to end: the real CLI following the block stream of
//! `openledgerd dev` on a real CometBFT v0.38. It prints a transfer's events; killed
//! (SIGKILL) and restarted, it resumes after the last height it printed, and what the
//! two runs printed together is exactly every event CometBFT's `block_results` reports
//! for every height: no duplicate, no gap. The filtered variant prints only the events
//! asked for.
//!
//! Needs `cometbft` and the CLI binary, as `e2e_cometbft.rs` says.
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

/// `openledger watch ARGS…` as a child of `procs` (killed when the test ends), stdout
/// to `out`, stderr to `{name}.log`.
fn spawn_watch(procs: &mut Procs, name: &str, chain: &Chain, out: &Path, args: &[&str]) {
    let stdout = std::fs::OpenOptions::new().create(true).append(true).open(out).expect("output file");
    let stderr = std::fs::File::create(procs.root().join(format!("{name}.log"))).expect("log file");
    let child = Command::new(cli_bin())
        .arg("watch")
        .args(args)
        .args(["--grpc", &chain.ports.grpc_url(), "--node", &chain.ports.rpc_url()])
        .env_remove("OPENLEDGER_HOME")
        .env_remove("OPENLEDGER_GRPC")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("starting openledger watch");
    procs.children.push((name.to_string(), child));
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("watch -o json printed a non-JSON line ({e}): {l}")))
        .collect()
}

/// Wait (≤ WAIT) until `path` has a line satisfying `pred`.
fn wait_line(procs: &mut Procs, path: &Path, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = lines(path).into_iter().find(|v| pred(v)) {
            return v;
        }
        procs.assert_alive();
        assert!(Instant::now() < deadline, "watch did not print {what} within {}s", WAIT.as_secs());
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn state_height(path: &Path) -> u64 {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("state file")).expect("state JSON");
    v["height"].as_u64().expect("state height")
}

/// An attribute in one shape (CometBFT's JSON omits empty values and false flags).
fn attr(a: &Value) -> Value {
    json!({"key": a["key"].as_str().unwrap_or(""), "value": a["value"].as_str().unwrap_or(""), "index": a["index"].as_bool().unwrap_or(false)})
}

fn attrs(v: &Value) -> Vec<Value> {
    v["attributes"].as_array().cloned().unwrap_or_default().iter().map(attr).collect()
}

/// Events per height from CometBFT (`block_results`: every tx's events, then the block's).
fn cometbft_events(chain: &Chain, height: u64) -> Vec<Value> {
    let r = chain.rt.block_on(chain.rpc.call("block_results", json!({"height": height.to_string()}))).expect("block_results");
    let mut out = Vec::new();
    for (i, t) in r["txs_results"].as_array().cloned().unwrap_or_default().iter().enumerate() {
        for e in t["events"].as_array().cloned().unwrap_or_default() {
            out.push(json!({"tx_index": i, "type": e["type"], "attributes": attrs(&e)}));
        }
    }
    for e in r["finalize_block_events"].as_array().cloned().unwrap_or_default() {
        out.push(json!({"tx_index": null, "type": e["type"], "attributes": attrs(&e)}));
    }
    out
}

/// A printed line in CometBFT's shape (type, attributes key/value/index).
fn as_cometbft(v: &Value) -> Value {
    json!({"tx_index": v["tx_index"], "type": v["type"], "attributes": attrs(v)})
}

#[test]
fn watch_prints_a_transfers_events_and_resumes_after_a_kill_without_duplicate_or_gap() {
    let t0 = Instant::now();
    let (_, _) = (cometbft_bin(), cli_bin());
    let mut procs = Procs::new();
    let home = procs.home.clone();
    let (_, _, chain) = spawn_dev(&mut procs, 0, t0);
    let cli = Cli { home: &home, ports: &chain.ports };
    chain.wait_height(&mut procs, 2);
    wait_port(&mut procs, chain.ports.grpc, "gRPC");
    let bob = cli.address("bob");
    let out1: PathBuf = procs.root().join("watch1.jsonl");
    let out2: PathBuf = procs.root().join("watch2.jsonl");
    let state: PathBuf = procs.root().join("watch.state");
    let state_s = state.display().to_string();

    step(t0, "watch --from 1 -o json, then a transfer");
    spawn_watch(&mut procs, "watch1", &chain, &out1, &["--from", "1", "-o", "json", "--state", &state_s]);
    let tx1 = cli.send("alice", &bob, 1_234, openledgerd::dev::DEV_CHAIN_ID);
    let hash1 = tx1.txhash.to_uppercase();
    let transfer = wait_line(&mut procs, &out1, "the transfer", |v| {
        v["tx_hash"] == hash1.as_str()
            && v["type"] == "transfer"
            && v["attributes"].as_array().is_some_and(|a| a.iter().any(|x| x["value"] == "1234uopen"))
    });
    assert_eq!(transfer["height"], tx1.height);
    assert_eq!(transfer["code"], 0);
    assert!(transfer["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{transfer}");
    // Let it follow the tip for a block or two, then kill it.
    let h = chain.height().expect("height");
    chain.wait_height(&mut procs, h + 2);
    let deadline = Instant::now() + WAIT;
    while state_height(&state) < h + 2 {
        assert!(Instant::now() < deadline, "watch did not record height {}", h + 2);
        std::thread::sleep(Duration::from_millis(100));
    }
    step(t0, "kill -9 watch");
    procs.kill_child("watch1");
    let printed_until = state_height(&state);

    step(t0, "a transfer while watch is down, then watch again (no --from)");
    let tx2 = cli.send("alice", &bob, 5_678, openledgerd::dev::DEV_CHAIN_ID);
    assert!(tx2.height > printed_until);
    spawn_watch(&mut procs, "watch2", &chain, &out2, &["-o", "json", "--state", &state_s]);
    let hash2 = tx2.txhash.to_uppercase();
    wait_line(&mut procs, &out2, "the second transfer", |v| v["tx_hash"] == hash2.as_str() && v["type"] == "transfer");
    let tx3 = cli.send("bob", &cli.address("alice"), 42, openledgerd::dev::DEV_CHAIN_ID);
    let hash3 = tx3.txhash.to_uppercase();
    wait_line(&mut procs, &out2, "the third transfer", |v| v["tx_hash"] == hash3.as_str());
    let end = chain.height().expect("height");
    let deadline = Instant::now() + WAIT;
    while state_height(&state) < end {
        assert!(Instant::now() < deadline, "watch did not record height {end}");
        std::thread::sleep(Duration::from_millis(100));
    }
    procs.kill_child("watch2");

    step(t0, "compare with CometBFT's block_results for every height");
    let (first, second) = (lines(&out1), lines(&out2));
    let first_max = first.iter().filter_map(|v| v["height"].as_u64()).max().unwrap_or(0);
    let second_min = second.iter().filter_map(|v| v["height"].as_u64()).min().unwrap_or(u64::MAX);
    assert!(
        first_max <= printed_until && second_min > printed_until,
        "run 1 printed up to {first_max}, run 2 from {second_min}, state said {printed_until}"
    );
    let mut printed: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
    for v in first.iter().chain(&second) {
        printed.entry(v["height"].as_u64().expect("height")).or_default().push(as_cometbft(v));
    }
    let last = state_height(&state);
    for height in 1..=last {
        let expected = cometbft_events(&chain, height);
        let got = printed.remove(&height).unwrap_or_default();
        assert_eq!(got, expected, "height {height}: watch printed {} events, CometBFT has {}", got.len(), expected.len());
    }
    assert!(printed.keys().all(|h| *h > last), "printed heights beyond the state: {:?}", printed.keys().collect::<Vec<_>>());

    step(t0, "watch --type transfer --attr recipient=BOB --until");
    let out3 = procs.root().join("watch3.txt");
    let state3 = procs.root().join("watch3.state").display().to_string();
    let recipient = format!("recipient={bob}");
    let until = last.to_string();
    spawn_watch(
        &mut procs,
        "watch3",
        &chain,
        &out3,
        &["--from", "1", "--type", "transfer", "--attr", &recipient, "--until", &until, "--state", &state3],
    );
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(Some(status)) = procs.child("watch3").try_wait() {
            assert!(status.success(), "watch --until exited with {status}: {}", procs.log_tail("watch3", 20));
            break;
        }
        assert!(Instant::now() < deadline, "watch --until {until} did not exit");
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = std::fs::read_to_string(&out3).expect("output");
    let text_lines: Vec<&str> = text.lines().collect();
    // Alice's two transfers to bob: amount; the fee's transfer goes to the fee collector.
    assert_eq!(text_lines.len(), 2, "{text}");
    for (l, (tx, amount)) in text_lines.iter().zip([(&tx1, "1234uopen"), (&tx2, "5678uopen")]) {
        assert!(l.starts_with(&format!("{} 0 transfer ", tx.height)), "{l}");
        assert!(l.contains(&recipient) && l.contains(&format!("amount={amount}")), "{l}");
    }
}
