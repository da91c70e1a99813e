//! End to end against a real CometBFT v0.38 on loopback: the `openledgerd` and
//! `openledger` binaries as a user runs them, a crash (SIGKILL of app and CometBFT) and
//! the restart that must resume the same chain with nothing lost.
//!
//! Needs `cometbft` ($COMETBFT, /root/go/bin/cometbft, PATH or ~/go/bin; see
//! testnet/install-cometbft.sh) and the CLI binary (`cargo build --workspace --bins`).
//! Every port is on 127.0.0.1, chosen away from the default dev-chain ports; every wait
//! is bounded; every process started here is SIGKILLed when the test ends, pass or fail.
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use openledgerd::dev::DEV_CHAIN_ID;

// ---------------------------------------------------------------- tests

/// `openledgerd dev` with real CometBFT: CLI transfers, balances agreeing over the CLI,
/// gRPC and CometBFT abci_query, a CLI failure, then SIGKILL of app and CometBFT and a
/// restart that resumes the same chain with identical history, every tx and the balances.
#[test]
fn dev_chain_transfers_agree_across_cli_grpc_abci_and_survive_sigkill_restart() {
    let t0 = Instant::now();
    let (_, _) = (cometbft_bin(), cli_bin()); // fail fast, before anything is started
    let mut procs = Procs::new();
    let home = procs.home.clone();
    let (dev_args, dev_pid, chain) = spawn_dev(&mut procs, 0, t0);
    let cli = Cli { home: &home, ports: &chain.ports };

    // 1. Blocks.
    let h = chain.wait_height(&mut procs, 2);
    step(t0, &format!("height {h}"));
    let status = chain.status().expect("status");
    assert_eq!(status["node_info"]["network"], DEV_CHAIN_ID);

    // 2. Keys and a transfer.
    let alice = cli.address("alice");
    let bob = cli.address("bob");
    assert_ne!(alice, bob);
    let first = cli.send("alice", &bob, 12_345, DEV_CHAIN_ID);
    step(t0, &format!("sent 12345{DENOM} alice → bob: {first:?}"));
    let r = chain.tx(&first.txhash).expect("the CLI's tx is not found by /tx");
    assert_eq!((r.code, r.height), (0, first.height));

    // 3. Bob's balance three ways.
    let mut expected_bob = dev_funding() + 12_345;
    assert_eq!(expected_bob, 1_000_000_012_345);
    assert_eq!(cli.cli_balance(&bob), expected_bob, "openledger q bank balances");
    assert_eq!(chain.grpc_balance(&bob), expected_bob, "gRPC Balance");
    assert_eq!(chain.abci_balance(&bob), expected_bob, "CometBFT abci_query Balance");

    // A failing send: more than alice has.
    let too_much = format!("{}{DENOM}", dev_funding() * 10);
    let out = cli.run(&["tx", "bank", "send", "alice", &bob, &too_much, "--chain-id", DEV_CHAIN_ID, "-y"]);
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert!(!out.status.success(), "sending more than the balance succeeded: {}", String::from_utf8_lossy(&out.stdout));
    assert!(stderr.contains("insufficient funds"), "error does not say insufficient funds: {stderr:?}");
    assert_eq!(stderr.lines().count(), 1, "error is not one line: {stderr:?}");
    step(t0, &format!("over-balance send rejected: {stderr}"));
    assert_eq!(chain.grpc_balance(&bob), expected_bob, "a failed send changed the recipient");

    // 4. More transfers, then the crash.
    let mut sent = vec![first];
    for amount in [1_000u128, 2_000, 3_000] {
        sent.push(cli.send("alice", &bob, amount, DEV_CHAIN_ID));
        expected_bob += amount;
    }
    assert_eq!(chain.grpc_balance(&bob), expected_bob);
    let pre_height = chain.wait_height(&mut procs, sent.last().unwrap().height + 1);
    let pre_blocks = chain.blocks(pre_height);
    let genesis_block = pre_blocks[0].1.clone();
    let cometbft = cometbft_pids(&procs.cometbft_home());
    assert_eq!(cometbft.len(), 1, "expected one cometbft child of openledgerd dev, found {cometbft:?}");
    step(t0, &format!("recorded blocks 1..={pre_height}; kill -9 openledgerd dev ({dev_pid}) and cometbft ({})", cometbft[0]));
    let mut victims = vec![dev_pid];
    victims.extend(&cometbft);
    kill9(&victims);
    let status = procs.child("dev").wait().expect("wait for openledgerd dev");
    assert!(!status.success(), "openledgerd dev was not killed: {status}");
    procs.children.clear();
    let deadline = Instant::now() + WAIT;
    while !cometbft_pids(&procs.cometbft_home()).is_empty() {
        assert!(Instant::now() < deadline, "cometbft survived SIGKILL");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(chain.height().is_err(), "CometBFT RPC still answers after the kill");

    // 5. Restart on the same home: the same chain resumes.
    step(t0, "restarting openledgerd dev (no --reset)");
    procs.spawn("dev-restart", &openledgerd_bin(), &dev_args);
    let h = chain.wait_height(&mut procs, pre_height + 3);
    step(t0, &format!("resumed: height {h} (crash at {pre_height})"));
    assert_eq!(chain.status().expect("status")["node_info"]["network"], DEV_CHAIN_ID);
    assert_eq!(cometbft_pids(&procs.cometbft_home()).len(), 1, "one cometbft after the restart");
    // (a) History unchanged.
    for (height, before) in &pre_blocks {
        assert_eq!(&chain.block(*height), before, "block {height} changed across the crash");
    }
    assert_eq!(chain.block(1), genesis_block);
    // (b) Every tx found at its height with code 0.
    for s in &sent {
        let r = chain.tx(&s.txhash).unwrap_or_else(|| panic!("tx {} lost in the crash", s.txhash));
        assert_eq!((r.code, r.height), (0, s.height), "tx {} after the restart", s.txhash);
    }
    // (c) Balances.
    assert_eq!(chain.grpc_balance(&bob), expected_bob, "bob's balance after the restart (gRPC)");
    assert_eq!(chain.abci_balance(&bob), expected_bob, "bob's balance after the restart (abci_query)");
    assert_eq!(cli.cli_balance(&bob), expected_bob, "bob's balance after the restart (CLI)");
    // (d) New transfers work.
    let after = cli.send("alice", &bob, 777, DEV_CHAIN_ID);
    assert!(after.height > pre_height, "post-restart tx at height {} ≤ crash height {pre_height}", after.height);
    expected_bob += 777;
    assert_eq!(chain.grpc_balance(&bob), expected_bob);
    assert_eq!(chain.abci_balance(&bob), expected_bob);
    step(t0, &format!("post-restart transfer at height {}; done", after.height));
    procs.assert_alive();
}

/// `openledgerd start` and a separately run `cometbft start`: a genesis account readable
/// over gRPC; SIGKILL of the app alone, then restart (CometBFT too, if it stopped), and
/// the chain continues from where it was with its history and state intact.
#[test]
fn start_with_separate_cometbft_survives_app_sigkill() {
    let t0 = Instant::now();
    let (_, _) = (cometbft_bin(), cli_bin()); // fail fast, before anything is started
    let mut procs = Procs::new();
    let ports = Ports::pick(1);
    let home = procs.home.clone();
    let home_s = home.display().to_string();
    let d = openledgerd_bin();
    let run_d = |args: &[String]| {
        let out = Command::new(&d).args(args).env("COMETBFT", cometbft_bin()).stdin(Stdio::null()).output().expect("openledgerd");
        assert!(
            out.status.success(),
            "openledgerd {} failed:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let mut init: Vec<String> = ["init", "--home", home_s.as_str(), "--chain-id", "e2e-start", "--moniker", "m"].map(String::from).to_vec();
    init.extend(ports.flags());
    run_d(&init);
    let chain = Chain::new(ports);
    let cli = Cli { home: &home, ports: &chain.ports };
    cli.ok(&["keys", "add", "k"]);
    let addr = cli.address("k");
    run_d(&["genesis", "add-account", "--home", home_s.as_str(), addr.as_str(), "1000uopen"].map(String::from));

    let app_args: Vec<String> = ["start", "--home", home_s.as_str()].map(String::from).to_vec();
    let cometbft_args: Vec<String> = vec!["start".into(), "--home".into(), procs.cometbft_home().display().to_string()];
    procs.spawn("app", &d, &app_args);
    wait_port(&mut procs, chain.ports.grpc, "openledgerd gRPC");
    procs.spawn("cometbft", &cometbft_bin(), &cometbft_args);
    let h = chain.wait_height(&mut procs, 2);
    step(t0, &format!("openledgerd start + cometbft start: height {h}"));
    assert_eq!(chain.status().expect("status")["node_info"]["network"], "e2e-start");
    assert_eq!(chain.grpc_balance(&addr), 1000);
    assert_eq!(chain.abci_balance(&addr), 1000);
    assert_eq!(cli.cli_balance(&addr), 1000);

    // SIGKILL the app only.
    let pre_height = chain.wait_height(&mut procs, h + 1);
    let pre_blocks = chain.blocks(pre_height);
    step(t0, &format!("recorded blocks 1..={pre_height}; kill -9 openledgerd start"));
    procs.kill_child("app");
    let deadline = Instant::now() + Duration::from_secs(30);
    let cometbft_exit = loop {
        if let Some(status) = procs.child("cometbft").try_wait().expect("try_wait") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    match &cometbft_exit {
        Some(status) => {
            step(t0, &format!("cometbft exited after losing the app ({status}); restarting both"));
            procs.children.retain(|(n, _)| n != "cometbft");
        }
        None => step(t0, "cometbft still running 30s after losing the app"),
    }
    let stalled_at = chain.height().ok();
    procs.spawn("app-restart", &d, &app_args);
    wait_port(&mut procs, chain.ports.grpc, "restarted openledgerd gRPC");
    if cometbft_exit.is_some() {
        procs.spawn("cometbft-restart", &cometbft_bin(), &cometbft_args);
    } else {
        // CometBFT does not reconnect to a restarted app; if it is still up it must at
        // least not have produced blocks without the app, and a restart must recover.
        // Its RPC may already be closed while it shuts down (slowly, on a loaded machine).
        match stalled_at {
            Some(h) => {
                std::thread::sleep(Duration::from_secs(3));
                let now = chain.height().map_or_else(|e| format!("no answer ({e})"), |n| n.to_string());
                step(t0, &format!("cometbft without the app: height {h} → {now} in 3s; restarting cometbft"));
            }
            None => step(t0, "cometbft alive without the app but its RPC is closed (shutting down); restarting cometbft"),
        }
        procs.kill_child("cometbft");
        procs.spawn("cometbft-restart", &cometbft_bin(), &cometbft_args);
    }
    let h = chain.wait_height(&mut procs, pre_height + 3);
    step(t0, &format!("resumed: height {h} (app killed at ≥ {pre_height})"));
    assert_eq!(chain.status().expect("status")["node_info"]["network"], "e2e-start");
    for (height, before) in &pre_blocks {
        assert_eq!(&chain.block(*height), before, "block {height} changed across the app crash");
    }
    assert_eq!(chain.grpc_balance(&addr), 1000, "genesis balance after the app crash (gRPC)");
    assert_eq!(chain.abci_balance(&addr), 1000, "genesis balance after the app crash (abci_query)");
    procs.assert_alive();
    step(t0, "done");
}
