//! `openledgerd dev`: the one-command local chain. Initialises a single-validator chain
//! (`openledger-dev`, accounts alice and bob funded, the validator's key its datanet
//! arbiter, keys in the home's test keyring),
//! runs the app and a `cometbft` child process, and stops both cleanly on a signal.
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use openledger_client::keyring::{Backend, Keyring};

use crate::node::{self, AppConfig, Home, InitOptions};

pub const DEV_CHAIN_ID: &str = "openledger-dev";
/// 1,000,000 OPEN each.
pub const DEV_FUNDING: &str = "1000000000000uopen";

pub struct DevOptions {
    pub home: PathBuf,
    pub reset: bool,
    pub rpc_laddr: String,
    pub p2p_laddr: String,
    pub abci_address: String,
    pub grpc_address: String,
    pub api_address: String,
}

pub async fn run(opts: DevOptions) -> Result<()> {
    let home = Home(opts.home.clone());
    if opts.reset && home.0.exists() {
        std::fs::remove_dir_all(&home.0).with_context(|| format!("removing {}", home.0.display()))?;
    }
    let keyring = Keyring::open(&home.0, Backend::Test);
    if !home.is_initialised() {
        node::ensure_dir(&home.0)?;
        let mut config = AppConfig::default();
        config.abci.address = opts.abci_address.clone();
        config.grpc.address = opts.grpc_address.clone();
        config.api.address = opts.api_address.clone();
        let (validator, _) = match keyring.show("validator") {
            Ok(k) => (k, String::new()),
            Err(_) => keyring.add("validator", None, None)?,
        };
        node::init(
            &home,
            &InitOptions {
                chain_id: DEV_CHAIN_ID,
                moniker: "dev",
                operator: Some(validator.address),
                config,
                rpc_laddr: &opts.rpc_laddr,
                p2p_laddr: &opts.p2p_laddr,
            },
        )?;
        for name in ["alice", "bob"] {
            let key = match keyring.show(name) {
                Ok(k) => k,
                Err(_) => keyring.add(name, None, None)?.0,
            };
            node::genesis_add_account(&home, &key.address.to_string(), DEV_FUNDING)?;
        }
        // The dev chain's own key decides challenges its datanets' curators leave
        // undecided (`openledgerd genesis add-arbiter` on any other chain).
        node::genesis_add_arbiter(&home, &validator.address.to_string())?;
    }
    let config = home.load_config()?;
    let running = node::start(&home, &config).await?;

    let cometbft = node::find_cometbft()?;
    let log_path = home.0.join("cometbft.log");
    let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path)?;
    let mut child = tokio::process::Command::new(&cometbft)
        .args(["start", "--home"])
        .arg(home.cometbft())
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", cometbft.display()))?;

    let rpc = node::cometbft_config_rpc(&home).unwrap_or_default();
    println!("OpenLedger dev chain {DEV_CHAIN_ID} (home {})", home.0.display());
    println!("  CometBFT RPC  {rpc}");
    println!("  ABCI          {}", running.abci_addr);
    println!("  gRPC          {}", running.grpc_addr);
    if let Some(a) = running.api_addr {
        println!("  REST          http://{a}");
    }
    println!("  CometBFT log  {}", log_path.display());
    println!("  keyring       --keyring-backend test --home {}", home.0.display());
    let keys = keyring.list()?;
    for k in &keys {
        println!("  {:<10}    {}", k.name, k.address);
    }
    // Who decides challenges a datanet's curators leave undecided.
    for a in node::genesis_arbiters(&home)? {
        let name = keys.iter().find(|k| k.address.to_string() == a).map_or(a.as_str(), |k| k.name.as_str());
        println!("  arbiter       {name}");
    }
    println!("Press Ctrl-C to stop.");

    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let reason = tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupt",
        _ = sigterm.recv() => "terminate",
        status = child.wait() => {
            running.stop().await;
            anyhow::bail!("cometbft exited ({}); see {}", status.map(|s| s.to_string()).unwrap_or_default(), log_path.display());
        }
    };
    println!("stopping ({reason})…");
    stop_child(&mut child).await;
    running.stop().await;
    println!("stopped; `openledgerd dev --home {}` resumes this chain", home.0.display());
    Ok(())
}

/// SIGTERM, then SIGKILL if it has not exited within 10 s.
async fn stop_child(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        // SAFETY-free: kill(2) through the `kill` utility keeps this crate free of libc.
        let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    }
    if tokio::time::timeout(Duration::from_secs(10), child.wait()).await.is_err() {
        let _ = child.kill().await;
    }
}
