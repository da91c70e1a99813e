//! End to end against a real CometBFT v0.38 on loopback: the `openledgerd` and
//! `openledger` binaries as a user runs them, a crash (SIGKILL of app and CometBFT) and
//! the restart that must resume the same chain with nothing lost.
//!
//! Needs `cometbft` ($COMETBFT, /root/go/bin/cometbft, PATH or ~/go/bin; see
//! testnet/install-cometbft.sh) and the CLI binary (`cargo build --workspace --bins`).
//! Every port is on 127.0.0.1, chosen away from the default dev-chain ports; every wait
//! is bounded; every process started here is SIGKILLed when the test ends, pass or fail.
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use openledger_app::dev::{DEV_CHAIN_ID, DEV_FUNDING};
use openledger_cli::rpc::CometRpc;
use openledger_proto::cosmos::bank::v1beta1 as bank;
use prost::Message;
use serde_json::{json, Value};

/// Upper bound of every wait loop.
const WAIT: Duration = Duration::from_secs(60);
const DENOM: &str = "uopen";

// ---------------------------------------------------------------- binaries

fn openledgerd_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_openledgerd"))
}

fn cli_bin() -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_openledgerd")).with_file_name("openledger");
    assert!(
        p.is_file(),
        "the CLI binary {} is missing: run `cargo build --workspace --bins` first (this test drives the real `openledger` binary)",
        p.display()
    );
    p
}

/// $COMETBFT, else /root/go/bin/cometbft, else PATH, else $HOME/go/bin/cometbft.
/// Not finding it fails the test: an e2e test that silently skips proves nothing.
fn cometbft_bin() -> PathBuf {
    let found = if let Some(p) = std::env::var_os("COMETBFT") {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "COMETBFT={} is not a file: run testnet/install-cometbft.sh and set COMETBFT to the path it prints", p.display());
        Some(p)
    } else {
        let mut candidates = vec![PathBuf::from("/root/go/bin/cometbft")];
        if let Some(path) = std::env::var_os("PATH") {
            candidates.extend(std::env::split_paths(&path).map(|d| d.join("cometbft")));
        }
        if let Some(home) = std::env::var_os("HOME") {
            candidates.push(PathBuf::from(home).join("go/bin/cometbft"));
        }
        candidates.into_iter().find(|p| p.is_file())
    };
    let Some(p) = found else {
        panic!(
            "cometbft not found (looked at $COMETBFT, /root/go/bin/cometbft, PATH, $HOME/go/bin/cometbft): \
             run testnet/install-cometbft.sh, or set COMETBFT=/path/to/cometbft"
        );
    };
    let out = Command::new(&p).arg("version").output().unwrap_or_else(|e| panic!("running {} version: {e}", p.display()));
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        version.starts_with("0.38."),
        "{} reports version {version:?}; this chain speaks ABCI 2.0 of CometBFT v0.38: run testnet/install-cometbft.sh",
        p.display()
    );
    p
}

// ---------------------------------------------------------------- ports

struct Ports {
    rpc: u16,
    p2p: u16,
    abci: u16,
    grpc: u16,
}

impl Ports {
    /// Four free loopback ports in 27000..31000 (away from the dev defaults 26656-26658,
    /// 9090 and below the kernel's ephemeral range), from 27000 + (pid % 500) * 8, the
    /// `slot` (0 or 1) picking which half of that block so two tests of one run never clash.
    fn pick(slot: u16) -> Ports {
        let pid = std::process::id();
        for attempt in 0..500u32 {
            let block = ((pid + attempt * 7) % 500) as u16;
            let base = 27000 + block * 8 + slot * 4;
            let ports = [base, base + 1, base + 2, base + 3];
            if ports.iter().all(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok()) {
                return Ports { rpc: ports[0], p2p: ports[1], abci: ports[2], grpc: ports[3] };
            }
        }
        panic!("no four free loopback ports in 27000..31000");
    }
    fn rpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.rpc)
    }
    fn grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc)
    }
    /// The listen-address flags of `openledgerd init` / `openledgerd dev`.
    fn flags(&self) -> Vec<String> {
        vec![
            "--rpc-laddr".into(),
            format!("127.0.0.1:{}", self.rpc),
            "--p2p-laddr".into(),
            format!("127.0.0.1:{}", self.p2p),
            "--abci-address".into(),
            format!("127.0.0.1:{}", self.abci),
            "--grpc-address".into(),
            format!("127.0.0.1:{}", self.grpc),
        ]
    }
}

// ---------------------------------------------------------------- processes

/// Kill a process that is not our child (the `cometbft` that `openledgerd dev` spawns).
fn kill9(pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("kill").arg("-9").args(pids.iter().map(u32::to_string)).status();
}

/// Live `cometbft` processes whose command line names `cometbft_home` (zombies have an
/// empty command line, so they do not count).
fn cometbft_pids(cometbft_home: &Path) -> Vec<u32> {
    let needle = cometbft_home.to_string_lossy().into_owned();
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else { return vec![] };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else { return false };
            let args: Vec<String> = raw.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
            let is_cometbft = args.first().is_some_and(|a0| Path::new(a0).file_name().is_some_and(|n| n == "cometbft"));
            is_cometbft && args.iter().any(|a| a == "start") && args.contains(&needle)
        })
        .collect()
}

/// The processes of one test and its temp dir. Drop SIGKILLs every child and every
/// `cometbft` running on this home; on a failing test it prints the log tails and
/// keeps the directory for inspection.
struct Procs {
    root: Option<tempfile::TempDir>,
    home: PathBuf,
    children: Vec<(String, Child)>,
}

impl Procs {
    fn new() -> Procs {
        let root = tempfile::Builder::new().prefix("openledger-e2e-").tempdir().expect("temp dir");
        let home = root.path().join("home");
        Procs { home, root: Some(root), children: vec![] }
    }

    fn root(&self) -> &Path {
        self.root.as_ref().expect("temp dir").path()
    }

    fn cometbft_home(&self) -> PathBuf {
        self.home.join("cometbft")
    }

    fn spawn(&mut self, name: &str, program: &Path, args: &[String]) -> u32 {
        let log_path = self.root().join(format!("{name}.log"));
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).expect("log file");
        let child = Command::new(program)
            .args(args)
            .env("COMETBFT", cometbft_bin())
            .env_remove("OPENLEDGER_LOG")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", program.display()));
        let pid = child.id();
        self.children.push((name.to_string(), child));
        pid
    }

    fn child(&mut self, name: &str) -> &mut Child {
        &mut self.children.iter_mut().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no child {name}")).1
    }

    /// SIGKILL a child and reap it.
    fn kill_child(&mut self, name: &str) {
        let i = self.children.iter().position(|(n, _)| n == name).unwrap_or_else(|| panic!("no child {name}"));
        let (_, mut c) = self.children.remove(i);
        let _ = c.kill();
        let _ = c.wait();
    }

    /// Panic if a child has exited: a dead node explains every later timeout.
    fn assert_alive(&mut self) {
        let mut dead = None;
        for (name, c) in &mut self.children {
            if let Ok(Some(status)) = c.try_wait() {
                dead = Some(format!("{name} exited unexpectedly ({status})"));
                break;
            }
        }
        if let Some(msg) = dead {
            panic!("{msg}");
        }
    }

    fn log_tail(&self, name: &str, lines: usize) -> String {
        let text = std::fs::read_to_string(self.root().join(format!("{name}.log")))
            .or_else(|_| std::fs::read_to_string(self.home.join(name)))
            .unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for (_, c) in &mut self.children {
            let _ = c.kill();
        }
        kill9(&cometbft_pids(&self.cometbft_home()));
        for (_, c) in &mut self.children {
            let _ = c.wait();
        }
        if std::thread::panicking() {
            let mut names: Vec<String> = std::fs::read_dir(self.root())
                .map(|d| d.filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| n.ends_with(".log")).collect())
                .unwrap_or_default();
            names.sort();
            for n in names {
                let name = n.trim_end_matches(".log").to_string();
                eprintln!("----- tail of {}/{n} -----\n{}", self.root().display(), self.log_tail(&name, 40));
            }
            let dev_log = self.home.join("cometbft.log");
            if dev_log.exists() {
                eprintln!("----- tail of {} -----\n{}", dev_log.display(), self.log_tail("cometbft.log", 40));
            }
            if let Some(root) = self.root.take() {
                eprintln!("kept {} for inspection", root.keep().display());
            }
        }
    }
}

// ---------------------------------------------------------------- RPC helpers

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

struct Chain {
    rt: tokio::runtime::Runtime,
    rpc: CometRpc,
    ports: Ports,
}

#[derive(Debug, Clone, PartialEq)]
struct BlockIds {
    block_hash: String,
    app_hash: String,
}

impl Chain {
    fn new(ports: Ports) -> Chain {
        Chain { rt: runtime(), rpc: CometRpc::new(&ports.rpc_url()), ports }
    }

    fn status(&self) -> anyhow::Result<Value> {
        self.rt.block_on(self.rpc.status())
    }

    fn height(&self) -> anyhow::Result<u64> {
        let s = self.status()?;
        s["sync_info"]["latest_block_height"].as_str().and_then(|h| h.parse().ok()).ok_or_else(|| anyhow::anyhow!("status without height: {s}"))
    }

    /// Wait (≤ WAIT) until CometBFT reports a height ≥ `min`; returns that height.
    fn wait_height(&self, procs: &mut Procs, min: u64) -> u64 {
        let deadline = Instant::now() + WAIT;
        loop {
            let last = match self.height() {
                Ok(h) if h >= min => return h,
                Ok(h) => format!("height {h}"),
                Err(e) => format!("{e:#}"),
            };
            procs.assert_alive();
            assert!(Instant::now() < deadline, "height {min} not reached within {}s (last: {last})", WAIT.as_secs());
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn block(&self, height: u64) -> BlockIds {
        let r = self
            .rt
            .block_on(self.rpc.call("block", json!({"height": height.to_string()})))
            .unwrap_or_else(|e| panic!("/block?height={height}: {e:#}"));
        BlockIds {
            block_hash: r["block_id"]["hash"].as_str().unwrap_or_else(|| panic!("block {height} without block_id.hash: {r}")).to_string(),
            app_hash: r["block"]["header"]["app_hash"].as_str().unwrap_or_else(|| panic!("block {height} without app_hash: {r}")).to_string(),
        }
    }

    /// (height, block hash, app hash) of every block 1..=`to`.
    fn blocks(&self, to: u64) -> Vec<(u64, BlockIds)> {
        (1..=to).map(|h| (h, self.block(h))).collect()
    }

    fn grpc_balance(&self, address: &str) -> u128 {
        let url = self.ports.grpc_url();
        self.rt.block_on(async {
            let mut c = bank::query_client::QueryClient::connect(url.clone()).await.unwrap_or_else(|e| panic!("gRPC connect {url}: {e}"));
            let one = c
                .balance(bank::QueryBalanceRequest { address: address.to_string(), denom: DENOM.into() })
                .await
                .unwrap_or_else(|s| panic!("gRPC Balance({address}): {s}"))
                .into_inner()
                .balance
                .expect("Balance without a coin");
            assert_eq!(one.denom, DENOM);
            let all = c
                .all_balances(bank::QueryAllBalancesRequest { address: address.to_string(), ..Default::default() })
                .await
                .unwrap_or_else(|s| panic!("gRPC AllBalances({address}): {s}"))
                .into_inner()
                .balances;
            assert_eq!(all.len(), 1, "AllBalances of {address}: {all:?}");
            assert_eq!((all[0].denom.as_str(), all[0].amount.as_str()), (DENOM, one.amount.as_str()), "Balance and AllBalances disagree");
            one.amount.parse().expect("balance amount")
        })
    }

    /// Balance through CometBFT: abci_query on the gRPC method path, protobuf in and out.
    fn abci_balance(&self, address: &str) -> u128 {
        let req = bank::QueryBalanceRequest { address: address.to_string(), denom: DENOM.into() };
        let r = self
            .rt
            .block_on(self.rpc.abci_query("/cosmos.bank.v1beta1.Query/Balance", &req.encode_to_vec(), 0))
            .unwrap_or_else(|e| panic!("abci_query Balance: {e:#}"));
        assert_eq!(r.code, 0, "abci_query Balance failed: {} ({})", r.log, r.codespace);
        assert!(r.height > 0, "abci_query answered at height {}", r.height);
        let coin = bank::QueryBalanceResponse::decode(r.value.as_slice()).expect("QueryBalanceResponse").balance.expect("no coin");
        assert_eq!(coin.denom, DENOM);
        coin.amount.parse().expect("balance amount")
    }

    fn tx(&self, hash: &str) -> Option<openledger_cli::rpc::TxResult> {
        self.rt.block_on(self.rpc.tx(hash)).unwrap_or_else(|e| panic!("/tx?hash=0x{hash}: {e:#}"))
    }
}

/// Wait (≤ WAIT) until something accepts TCP connections on 127.0.0.1:`port`.
fn wait_port(procs: &mut Procs, port: u16, what: &str) {
    let deadline = Instant::now() + WAIT;
    while TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500)).is_err() {
        procs.assert_alive();
        assert!(Instant::now() < deadline, "{what} not listening on 127.0.0.1:{port} within {}s", WAIT.as_secs());
        std::thread::sleep(Duration::from_millis(200));
    }
}

// ---------------------------------------------------------------- the CLI

struct Cli<'a> {
    home: &'a Path,
    ports: &'a Ports,
}

impl Cli<'_> {
    fn run(&self, args: &[&str]) -> Output {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        // `keys` and `tx` take the keyring flags; `tx`, `q` and `status` the node flags.
        if matches!(args.first(), Some(&"keys" | &"tx")) {
            all.extend(["--home".into(), self.home.display().to_string(), "--keyring-backend".into(), "test".into()]);
        }
        if args.first() != Some(&"keys") {
            all.extend(["--node".into(), self.ports.rpc_url(), "--grpc".into(), self.ports.grpc_url()]);
        }
        Command::new(cli_bin())
            .args(&all)
            .env_remove("OPENLEDGER_HOME")
            .env_remove("OPENLEDGER_KEYRING_BACKEND")
            .env_remove("OPENLEDGER_NODE")
            .env_remove("OPENLEDGER_GRPC")
            .stdin(Stdio::null())
            .output()
            .expect("running openledger")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "openledger {} failed ({}):\nstdout: {}\nstderr: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    fn address(&self, key: &str) -> String {
        let a = self.ok(&["keys", "show", key, "-a"]).trim().to_string();
        assert!(a.starts_with("open1") && !a.contains(char::is_whitespace), "keys show {key} -a printed {a:?}");
        a
    }

    /// `tx bank send … -y -o json`: exit 0, the JSON result well formed with code 0.
    fn send(&self, from: &str, to: &str, amount: u128, chain_id: &str) -> SentTx {
        let amount = format!("{amount}{DENOM}");
        let out = self.ok(&["tx", "bank", "send", from, to, &amount, "--chain-id", chain_id, "-y", "-o", "json"]);
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("tx bank send -o json printed non-JSON ({e}): {out}"));
        let txhash = v["txhash"].as_str().unwrap_or_else(|| panic!("no txhash: {v}")).to_string();
        assert!(txhash.len() == 64 && txhash.chars().all(|c| c.is_ascii_hexdigit()), "txhash {txhash:?}");
        let field = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("no numeric {k}: {v}"));
        assert_eq!(field("code"), 0, "tx failed: {v}");
        let (height, gas_wanted, gas_used) = (field("height"), field("gas_wanted"), field("gas_used"));
        assert!(height > 0, "{v}");
        assert!(gas_used > 0 && gas_used <= gas_wanted, "gas_used {gas_used} gas_wanted {gas_wanted}");
        SentTx { txhash, height }
    }

    fn cli_balance(&self, address: &str) -> u128 {
        let out = self.ok(&["q", "bank", "balances", address, "-o", "json"]);
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("q bank balances -o json printed non-JSON ({e}): {out}"));
        let balances = v["balances"].as_array().unwrap_or_else(|| panic!("no balances array: {v}"));
        assert_eq!(balances.len(), 1, "{v}");
        assert_eq!(balances[0]["denom"], DENOM, "{v}");
        balances[0]["amount"].as_str().and_then(|a| a.parse().ok()).unwrap_or_else(|| panic!("amount is not a decimal string: {v}"))
    }
}

#[derive(Debug, Clone)]
struct SentTx {
    txhash: String,
    height: u64,
}

fn dev_funding() -> u128 {
    DEV_FUNDING.trim_end_matches(DENOM).parse().expect("DEV_FUNDING")
}

fn step(t0: Instant, msg: &str) {
    eprintln!("[{:>6.1}s] {msg}", t0.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------- tests

/// `openledgerd dev` with real CometBFT: CLI transfers, balances agreeing over the CLI,
/// gRPC and CometBFT abci_query, a CLI failure, then SIGKILL of app and CometBFT and a
/// restart that resumes the same chain with identical history, every tx and the balances.
#[test]
fn dev_chain_transfers_agree_across_cli_grpc_abci_and_survive_sigkill_restart() {
    let t0 = Instant::now();
    let (_, _) = (cometbft_bin(), cli_bin()); // fail fast, before anything is started
    let mut procs = Procs::new();
    let ports = Ports::pick(0);
    let home = procs.home.clone();
    let mut dev_args: Vec<String> = vec!["dev".into(), "--home".into(), home.display().to_string()];
    dev_args.extend(ports.flags());
    step(t0, &format!("openledgerd {}", dev_args.join(" ")));
    let dev_pid = procs.spawn("dev", &openledgerd_bin(), &dev_args);
    let chain = Chain::new(ports);
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
        let h = stalled_at.expect("cometbft alive but its RPC does not answer");
        std::thread::sleep(Duration::from_secs(3));
        let now = chain.height().expect("status");
        step(t0, &format!("cometbft without the app: height {h} → {now} in 3s; restarting cometbft"));
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
