//! Shared by the end-to-end tests: the binaries, loopback ports, child processes that
//! are SIGKILLed when a test ends, CometBFT RPC and gRPC helpers, and the CLI as a user
//! runs it.
#![allow(dead_code)] // each test binary uses a different part
use std::collections::{BTreeMap, BTreeSet};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine as _;
use openledger_client::rpc::CometRpc;
use openledger_proto::cosmos::bank::v1beta1 as bank;
use openledgerd::dev::DEV_FUNDING;
use prost::Message;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Upper bound of every wait loop.
pub const WAIT: Duration = Duration::from_secs(60);
pub const DENOM: &str = "uopen";

// ---------------------------------------------------------------- binaries

pub fn openledgerd_bin() -> PathBuf {
    cargo_bin("openledgerd")
}

pub fn cli_bin() -> PathBuf {
    cargo_bin("openledger")
}

/// The executable of the workspace binary `bin`, as Cargo builds it. The binaries live in
/// other packages than these tests, so `CARGO_BIN_EXE_*` does not name them, and
/// guessing paths beside the test binary breaks with any other target layout: ask
/// Cargo instead.
///
/// Once per test process, `$CARGO build --workspace --bins --message-format=json` (the
/// cargo running these tests, so its target dir, CARGO_TARGET_DIR included), and each
/// binary's path is the `executable` of its `compiler-artifact` message. The whole
/// workspace, not `-p PACKAGE`: a narrower build resolves dependency features for that
/// package alone and rebuilds the CLI's dependencies (6 minutes measured), where this is
/// exactly scripts/test.sh's first step and so builds nothing.
pub fn cargo_bin(bin: &str) -> PathBuf {
    static BINS: OnceLock<BTreeMap<String, PathBuf>> = OnceLock::new();
    let bins = BINS.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let mut cmd = Command::new(&cargo);
        cmd.args(["build", "--quiet", "--message-format=json", "--workspace", "--bins"]).arg("--manifest-path").arg(&manifest);
        // A test built with --release drives release binaries (target/release/deps/this-test).
        let exe = std::env::current_exe().expect("current_exe");
        if exe.parent().and_then(Path::parent).and_then(Path::file_name).is_some_and(|d| d == "release") {
            cmd.arg("--release");
        }
        let out = cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("running {cargo:?} build: {e}"));
        assert!(out.status.success(), "cargo build --workspace --bins failed:\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|m| m["reason"] == "compiler-artifact")
            .filter_map(|m| Some((m["target"]["name"].as_str()?.to_string(), PathBuf::from(m["executable"].as_str()?))))
            .collect()
    });
    let p = bins.get(bin).unwrap_or_else(|| panic!("cargo build --workspace --bins built no binary {bin:?} (built: {:?})", bins.keys()));
    assert!(p.is_file(), "cargo reported {} for {bin}, which is not a file", p.display());
    p.clone()
}

/// $COMETBFT, else /root/go/bin/cometbft, else PATH, else $HOME/go/bin/cometbft.
/// Not finding it fails the test: an e2e test that silently skips proves nothing.
pub fn cometbft_bin() -> PathBuf {
    let found = if let Some(p) = std::env::var_os("COMETBFT") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "COMETBFT={} is not a file: run testnet/install-cometbft.sh and set COMETBFT to the path it prints",
            p.display()
        );
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

pub struct Ports {
    pub rpc: u16,
    pub p2p: u16,
    pub abci: u16,
    pub grpc: u16,
    pub api: u16,
}

impl Ports {
    /// Five free loopback ports in 27000..32000 (away from the dev defaults 26656-26658,
    /// 9090, 1317 and below the kernel's ephemeral range), from 27000 + (pid % 500) * 10,
    /// the `slot` (0 or 1) picking which half of that block so two tests of one run never
    /// clash.
    pub fn pick(slot: u16) -> Ports {
        let pid = std::process::id();
        for attempt in 0..500u32 {
            let block = ((pid + attempt * 7) % 500) as u16;
            let base = 27000 + block * 10 + slot * 5;
            let ports = [base, base + 1, base + 2, base + 3, base + 4];
            if ports.iter().all(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok()) {
                return Ports { rpc: ports[0], p2p: ports[1], abci: ports[2], grpc: ports[3], api: ports[4] };
            }
        }
        panic!("no five free loopback ports in 27000..32000");
    }
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api)
    }
    pub fn rpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.rpc)
    }
    pub fn grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc)
    }
    /// The listen-address flags of `openledgerd init` / `openledgerd dev`.
    pub fn flags(&self) -> Vec<String> {
        vec![
            "--rpc-laddr".into(),
            format!("127.0.0.1:{}", self.rpc),
            "--p2p-laddr".into(),
            format!("127.0.0.1:{}", self.p2p),
            "--abci-address".into(),
            format!("127.0.0.1:{}", self.abci),
            "--grpc-address".into(),
            format!("127.0.0.1:{}", self.grpc),
            "--api-address".into(),
            format!("127.0.0.1:{}", self.api),
        ]
    }
}

/// A block of loopback ports for a local network of up to 10 nodes (`testnet/localnet.sh
/// up --base-port BASE`: node i uses BASE+10i … BASE+10i+4), in 20000..26000 — below
/// the single-node blocks (27000..32000), the dev defaults and the kernel's ephemeral
/// range (32768…) — picked from the pid so concurrent test binaries rarely meet, and
/// checked free.
pub fn localnet_base_port(nodes: u16) -> u16 {
    assert!((1..=10).contains(&nodes), "localnet_base_port: 1 to 10 nodes");
    let pid = std::process::id();
    for attempt in 0..60u32 {
        let base = 20000 + ((pid + attempt * 7) % 60) as u16 * 100;
        let free = (0..nodes).all(|i| (0..5).all(|p| TcpListener::bind(("127.0.0.1", base + 10 * i + p)).is_ok()));
        if free {
            return base;
        }
    }
    panic!("no free block of loopback ports for {nodes} nodes in 20000..26000");
}

impl Ports {
    /// The ports of node `i` of a local network at `base` (see `localnet_base_port`).
    pub fn of_localnet_node(base: u16, i: u16) -> Ports {
        let p = base + 10 * i;
        Ports { p2p: p, rpc: p + 1, abci: p + 2, grpc: p + 3, api: p + 4 }
    }
}

// ---------------------------------------------------------------- processes

/// Kill a process that is not our child (the `cometbft` that `openledgerd dev` spawns).
pub fn kill9(pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("kill").arg("-9").args(pids.iter().map(u32::to_string)).status();
}

/// Live `cometbft` processes whose command line names `cometbft_home` (zombies have an
/// empty command line, so they do not count).
pub fn cometbft_pids(cometbft_home: &Path) -> Vec<u32> {
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

/// Live processes (other than this one) with an argument that names a path under `dir`.
pub fn pids_under(dir: &Path) -> Vec<u32> {
    let needle = dir.to_string_lossy().into_owned();
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else { return vec![] };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else { return false };
            raw.split(|b| *b == 0).any(|a| String::from_utf8_lossy(a).starts_with(needle.as_str()))
        })
        .collect()
}

/// The processes of one test and its temp dir. Drop SIGKILLs every child and every
/// `cometbft` running on this home; on a failing test it prints the log tails and
/// keeps the directory for inspection.
pub struct Procs {
    pub root: Option<tempfile::TempDir>,
    pub home: PathBuf,
    pub children: Vec<(String, Child)>,
}

impl Procs {
    pub fn new() -> Procs {
        let root = tempfile::Builder::new().prefix("openledger-e2e-").tempdir().expect("temp dir");
        let home = root.path().join("home");
        Procs { home, root: Some(root), children: vec![] }
    }

    pub fn root(&self) -> &Path {
        self.root.as_ref().expect("temp dir").path()
    }

    pub fn cometbft_home(&self) -> PathBuf {
        self.home.join("cometbft")
    }

    pub fn spawn(&mut self, name: &str, program: &Path, args: &[String]) -> u32 {
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

    pub fn child(&mut self, name: &str) -> &mut Child {
        &mut self.children.iter_mut().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no child {name}")).1
    }

    /// SIGKILL a child and reap it.
    pub fn kill_child(&mut self, name: &str) {
        let i = self.children.iter().position(|(n, _)| n == name).unwrap_or_else(|| panic!("no child {name}"));
        let (_, mut c) = self.children.remove(i);
        let _ = c.kill();
        let _ = c.wait();
    }

    /// Panic if a child has exited: a dead node explains every later timeout.
    pub fn assert_alive(&mut self) {
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

    pub fn log_tail(&self, name: &str, lines: usize) -> String {
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

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

pub struct Chain {
    pub rt: tokio::runtime::Runtime,
    pub rpc: CometRpc,
    pub ports: Ports,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BlockIds {
    pub block_hash: String,
    pub app_hash: String,
}

impl Chain {
    pub fn new(ports: Ports) -> Chain {
        Chain { rt: runtime(), rpc: CometRpc::new(&ports.rpc_url()), ports }
    }

    pub fn status(&self) -> anyhow::Result<Value> {
        self.rt.block_on(self.rpc.status())
    }

    pub fn height(&self) -> anyhow::Result<u64> {
        let s = self.status()?;
        s["sync_info"]["latest_block_height"]
            .as_str()
            .and_then(|h| h.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("status without height: {s}"))
    }

    /// Wait (≤ WAIT) until CometBFT reports a height ≥ `min`; returns that height.
    pub fn wait_height(&self, procs: &mut Procs, min: u64) -> u64 {
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

    pub fn block(&self, height: u64) -> BlockIds {
        let r = self
            .rt
            .block_on(self.rpc.call("block", json!({"height": height.to_string()})))
            .unwrap_or_else(|e| panic!("/block?height={height}: {e:#}"));
        BlockIds {
            block_hash: r["block_id"]["hash"].as_str().unwrap_or_else(|| panic!("block {height} without block_id.hash: {r}")).to_string(),
            app_hash: r["block"]["header"]["app_hash"]
                .as_str()
                .unwrap_or_else(|| panic!("block {height} without app_hash: {r}"))
                .to_string(),
        }
    }

    /// (height, block hash, app hash) of every block 1..=`to`.
    pub fn blocks(&self, to: u64) -> Vec<(u64, BlockIds)> {
        (1..=to).map(|h| (h, self.block(h))).collect()
    }

    pub fn grpc_balance(&self, address: &str) -> u128 {
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
    pub fn abci_balance(&self, address: &str) -> u128 {
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

    pub fn tx(&self, hash: &str) -> Option<openledger_client::rpc::TxResult> {
        self.rt.block_on(self.rpc.tx(hash)).unwrap_or_else(|e| panic!("/tx?hash=0x{hash}: {e:#}"))
    }

    /// The tx found in the blocks from `from` on (`block` + `block_results`), for nodes
    /// that do not index txs.
    pub fn tx_in_blocks(&self, hash: &str, from: u64) -> Option<openledger_client::rpc::TxResult> {
        self.rt.block_on(self.rpc.find_tx_in_blocks(hash, from)).unwrap_or_else(|e| panic!("block scan for {hash}: {e:#}")).0
    }
}

/// Wait (≤ WAIT) until something accepts TCP connections on 127.0.0.1:`port`.
pub fn wait_port(procs: &mut Procs, port: u16, what: &str) {
    let deadline = Instant::now() + WAIT;
    while TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500)).is_err() {
        procs.assert_alive();
        assert!(Instant::now() < deadline, "{what} not listening on 127.0.0.1:{port} within {}s", WAIT.as_secs());
        std::thread::sleep(Duration::from_millis(200));
    }
}

// ---------------------------------------------------------------- the CLI

pub struct Cli<'a> {
    pub home: &'a Path,
    pub ports: &'a Ports,
}

impl Cli<'_> {
    pub fn run(&self, args: &[&str]) -> Output {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        // `keys`, `tx` and `receipt` take the keyring flags; all but `keys` and `verify-proof` the node flags.
        if matches!(args.first(), Some(&"keys" | &"tx" | &"receipt")) {
            all.extend(["--home".into(), self.home.display().to_string(), "--keyring-backend".into(), "test".into()]);
        }
        if !matches!(args.first(), Some(&"keys" | &"verify-proof")) {
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

    pub fn ok(&self, args: &[&str]) -> String {
        success_stdout(&format!("openledger {}", args.join(" ")), self.run(args))
    }

    pub fn address(&self, key: &str) -> String {
        let a = self.ok(&["keys", "show", key, "-a"]).trim().to_string();
        assert!(a.starts_with("open1") && !a.contains(char::is_whitespace), "keys show {key} -a printed {a:?}");
        a
    }

    /// `tx bank send … -y -o json`: exit 0, the JSON result well formed with code 0.
    pub fn send(&self, from: &str, to: &str, amount: u128, chain_id: &str) -> SentTx {
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

    pub fn cli_balance(&self, address: &str) -> u128 {
        let out = self.ok(&["q", "bank", "balances", address, "-o", "json"]);
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("q bank balances -o json printed non-JSON ({e}): {out}"));
        let balances = v["balances"].as_array().unwrap_or_else(|| panic!("no balances array: {v}"));
        assert_eq!(balances.len(), 1, "{v}");
        assert_eq!(balances[0]["denom"], DENOM, "{v}");
        balances[0]["amount"].as_str().and_then(|a| a.parse().ok()).unwrap_or_else(|| panic!("amount is not a decimal string: {v}"))
    }
}

/// The stdout of a command that must have exited 0 (else a panic showing both streams).
pub fn success_stdout(what: &str, out: Output) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[derive(Debug, Clone)]
pub struct SentTx {
    pub txhash: String,
    pub height: u64,
}

pub fn dev_funding() -> u128 {
    DEV_FUNDING.trim_end_matches(DENOM).parse().expect("DEV_FUNDING")
}

pub fn step(t0: Instant, msg: &str) {
    eprintln!("[{:>6.1}s] {msg}", t0.elapsed().as_secs_f64());
}

/// `openledgerd dev` on free loopback ports (`slot` 0 or 1) in `procs`' home: returns
/// its arguments (to restart it on the same home), its pid and the chain's handles.
pub fn spawn_dev(procs: &mut Procs, slot: u16, t0: Instant) -> (Vec<String>, u32, Chain) {
    let ports = Ports::pick(slot);
    let mut dev_args: Vec<String> = vec!["dev".into(), "--home".into(), procs.home.display().to_string()];
    dev_args.extend(ports.flags());
    step(t0, &format!("openledgerd {}", dev_args.join(" ")));
    let pid = procs.spawn("dev", &openledgerd_bin(), &dev_args);
    (dev_args, pid, Chain::new(ports))
}

// ---------------------------------------------------------------- JSON through the CLI

/// `openledger ARGS… GAS… --chain-id … -y -o json` on the dev chain: must exit 0 with
/// code 0; returns the result (the last line: a claim of all rewards prints a page a line).
pub fn tx_json(cli: &Cli, args: &[&str], gas: &[&str]) -> Value {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(gas);
    all.extend(["--chain-id", openledgerd::dev::DEV_CHAIN_ID, "-y", "-o", "json"]);
    let out = cli.ok(&all);
    let v: Value = serde_json::from_str(out.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{} printed non-JSON ({e}): {out}", args.join(" ")));
    assert_eq!(v["code"], 0, "{v}");
    v
}

/// A CLI command that must fail; returns its stderr.
pub fn fails(cli: &Cli, args: &[&str]) -> String {
    let out = cli.run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "openledger {} succeeded: {}", args.join(" "), String::from_utf8_lossy(&out.stdout));
    stderr
}

/// A tx that must fail (`--gas 1000000 -y`, no simulation: the chain refuses it);
/// returns the CLI's stderr.
pub fn failing_tx(cli: &Cli, args: &[&str]) -> String {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--chain-id", openledgerd::dev::DEV_CHAIN_ID, "--gas", "1000000", "-y"]);
    fails(cli, &all)
}

/// The first message response of a tx result.
pub fn first_response(v: &Value) -> &Value {
    &v["msg_responses"][0]
}

/// `openledger q ARGS… -o json`.
pub fn query_json(cli: &Cli, args: &[&str]) -> Value {
    let mut all = vec!["q"];
    all.extend(args);
    all.extend(["-o", "json"]);
    let out = cli.ok(&all);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("q {} printed non-JSON ({e}): {out}", args.join(" ")))
}

/// uopen balance through `q bank balances -o json` (0 when none).
pub fn cli_uopen(cli: &Cli, address: &str) -> u128 {
    let v = query_json(cli, &["bank", "balances", address]);
    v["balances"].as_array().and_then(|b| b.first()).and_then(|c| c["amount"].as_str()).map_or(0, |a| a.parse().expect("amount"))
}

// ---------------------------------------------------------------- local networks

pub fn localnet_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testnet/localnet.sh")
}

/// A network brought up by `testnet/localnet.sh` in a temp dir, on a free block of
/// loopback ports. Drop runs `down --kill` and SIGKILLs anything still running under
/// the dir; on a failing test it prints each node's log tails and keeps the dir.
pub struct Localnet {
    root: Option<tempfile::TempDir>,
    pub dir: PathBuf,
    pub nodes: u16,
    pub chains: Vec<Chain>,
}

impl Localnet {
    pub fn up(nodes: u16, t0: Instant) -> Localnet {
        Localnet::up_with(nodes, t0, &[])
    }

    /// `up` with more arguments of `localnet.sh up` (e.g. `--bench-accounts`).
    pub fn up_with(nodes: u16, t0: Instant, extra: &[&str]) -> Localnet {
        let (_, _) = (cometbft_bin(), cli_bin()); // fail fast, before anything is started
        let root = tempfile::Builder::new().prefix("openledger-localnet-").tempdir().expect("temp dir");
        let dir = root.path().join("net");
        let base = localnet_base_port(nodes);
        let chains = (0..nodes).map(|i| Chain::new(Ports::of_localnet_node(base, i))).collect();
        let net = Localnet { root: Some(root), dir, nodes, chains };
        step(t0, &format!("localnet.sh up --validators {nodes} --base-port {base} {} --dir {}", extra.join(" "), net.dir.display()));
        let (n, b) = (nodes.to_string(), base.to_string());
        let mut args = vec!["up", "--validators", n.as_str(), "--base-port", b.as_str()];
        args.extend_from_slice(extra);
        net.ok(&args);
        step(t0, "network up");
        net
    }

    /// `localnet.sh --dir DIR ARGS…` with this build's binaries.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(&[], args)
    }

    /// `run` with more environment for the processes it starts (`OPENLEDGER_FAILPOINTS`).
    pub fn run_env(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        Command::new("bash")
            .envs(env.iter().copied())
            .arg(localnet_script())
            .arg("--dir")
            .arg(&self.dir)
            .args(args)
            .env("OPENLEDGERD", openledgerd_bin())
            .env("OPENLEDGER", cli_bin())
            .env("COMETBFT", cometbft_bin())
            .env("LOCALNET_WAIT_SECS", WAIT.as_secs().to_string())
            .env_remove("LOCALNET_DIR")
            .env_remove("OPENLEDGER_LOG")
            .stdin(Stdio::null())
            .output()
            .expect("running testnet/localnet.sh")
    }

    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_env(&[], args)
    }

    pub fn ok_env(&self, env: &[(&str, &str)], args: &[&str]) -> String {
        let out = self.run_env(env, args);
        assert!(
            out.status.success(),
            "localnet.sh {} failed ({}):\nstdout: {}\nstderr: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// The CLI against node `i`, with the network's test keyring.
    pub fn cli(&self, i: usize) -> Cli<'_> {
        Cli { home: &self.dir, ports: &self.chains[i].ports }
    }

    /// Wait (≤ WAIT) until every node in `which` has committed `min`; returns the lowest
    /// of their heights then.
    pub fn wait_all(&self, which: &[usize], min: u64) -> u64 {
        let deadline = Instant::now() + WAIT;
        loop {
            let heights: Vec<Result<u64, String>> = which.iter().map(|i| self.chains[*i].height().map_err(|e| format!("{e:#}"))).collect();
            if heights.iter().all(|h| matches!(h, Ok(h) if *h >= min)) {
                return heights.into_iter().filter_map(Result::ok).min().unwrap_or(min);
            }
            assert!(Instant::now() < deadline, "height {min} not reached on nodes {which:?} within {}s: {heights:?}", WAIT.as_secs());
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Block hash and app hash of every height 1..=`to` identical on every node in `which`.
    pub fn assert_agree(&self, which: &[usize], to: u64) {
        let reference = self.chains[which[0]].blocks(to);
        for i in &which[1..] {
            for (h, ids) in self.chains[*i].blocks(to) {
                assert_eq!(ids, reference[h as usize - 1].1, "node{i} and node{} disagree at height {h}", which[0]);
            }
        }
    }

    pub fn all(&self) -> Vec<usize> {
        (0..self.nodes as usize).collect()
    }
}

impl Drop for Localnet {
    fn drop(&mut self) {
        let _ = self.run(&["down", "--kill"]);
        kill9(&pids_under(&self.dir));
        if std::thread::panicking() {
            for i in 0..self.nodes {
                for log in ["app.log", "cometbft.log"] {
                    let path = self.dir.join(format!("node{i}/{log}"));
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let lines: Vec<&str> = text.lines().collect();
                    eprintln!("----- tail of {} -----\n{}", path.display(), lines[lines.len().saturating_sub(25)..].join("\n"));
                }
            }
            if let Some(root) = self.root.take() {
                eprintln!("kept {} for inspection", root.keep().display());
            }
        }
    }
}

// ---------------------------------------------------------------- load during faults

/// The fault tests' loader: bench accounts funded by `localnet.sh up --bench-accounts`.
pub const BENCH_ACCOUNTS: u64 = 200;
pub const SEED: &str = "e2e-faults";
pub const RATE: f64 = 100.0;

pub fn node_height(net: &Localnet, i: usize) -> Option<u64> {
    net.chains[i].height().ok()
}

/// One `openledger bench load` running in the background.
pub struct Load {
    name: String,
    child: Child,
    out: PathBuf,
    err: PathBuf,
    log: PathBuf,
    secs: u64,
}

impl Drop for Load {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start a load of `secs` seconds at RATE over all four nodes; returns once it sends.
pub fn load_start(net: &Localnet, name: &str, secs: u64, t0: Instant) -> Load {
    let dir = net.dir.join("loads");
    std::fs::create_dir_all(&dir).expect("loads dir");
    let (out, err, log) = (dir.join(format!("{name}.json")), dir.join(format!("{name}.err")), dir.join(format!("{name}.txs")));
    let nodes: Vec<String> = net.chains.iter().map(|c| c.ports.rpc_url()).collect();
    let child = Command::new(cli_bin())
        .args(["bench", "load", "--node", &nodes.join(","), "--rate", &RATE.to_string(), "--duration", &secs.to_string()])
        .args(["--accounts", &BENCH_ACCOUNTS.to_string(), "--seed", SEED, "--chain-id", "openledger-localnet"])
        .args(["--broadcast", "sync", "--send-timeout", "3", "--drain-timeout", "60", "-o", "json", "--tx-log"])
        .arg(&log)
        .env_remove("OPENLEDGER_NODE")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("load stdout"))
        .stderr(std::fs::File::create(&err).expect("load stderr"))
        .spawn()
        .expect("starting openledger bench load");
    // Building and signing takes about a second; give it three before the fault.
    std::thread::sleep(Duration::from_secs(3));
    step(t0, &format!("{name}: bench load at {RATE} tx/s for {secs} s over 4 nodes"));
    Load { name: name.into(), child, out, err, log, secs }
}

/// Wait (bounded) for the load to end; check its report and that every tx it reports
/// committed is in the block it names on node `verify`, once; then that every node has
/// the same block and app hash at every height.
pub fn load_finish(net: &Localnet, mut load: Load, verify: usize, t0: Instant) -> Value {
    let deadline = Instant::now() + Duration::from_secs(load.secs + 60 + 60);
    let status = loop {
        if let Some(s) = load.child.try_wait().expect("waiting for the loader") {
            break s;
        }
        assert!(Instant::now() < deadline, "{}: the loader did not finish within {} s", load.name, load.secs + 120);
        std::thread::sleep(Duration::from_millis(250));
    };
    let stderr = std::fs::read_to_string(&load.err).unwrap_or_default();
    assert!(status.success(), "{}: bench load failed ({status}): {stderr}", load.name);
    let out = std::fs::read_to_string(&load.out).expect("load report");
    let r: Value =
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{}: bench load -o json printed non-JSON ({e}): {out}", load.name));
    let n = |k: &str| r[k].as_u64().unwrap_or_else(|| panic!("no {k} in {r}"));
    let (planned, sent, committed) = (n("planned"), n("sent"), n("committed"));
    step(
        t0,
        &format!(
            "{}: planned {planned}, sent {sent} ({} errors, {} failovers), committed {committed} ({} failed, {} missing, {} duplicates), p99 {:.0} ms",
            load.name,
            n("send_errors"),
            n("send_failovers"),
            n("failed"),
            n("missing"),
            n("duplicates"),
            r["latency_ms"]["p99"].as_f64().unwrap_or(0.0)
        ),
    );
    assert_eq!(sent + n("send_errors"), planned, "{}: {r}", load.name);
    assert_eq!(committed + n("failed") + n("missing"), sent, "{}: {r}", load.name);
    assert_eq!(n("duplicates"), 0, "{}: a tx was committed twice: {r}", load.name);
    assert_eq!(n("failed"), 0, "{}: txs in blocks with a non-zero code: {r}", load.name);
    // Most of the load gets through: a node that is down costs sends a failover, not the
    // tx. What may be lost: a tx a node took but had not gossiped when it was killed,
    // and the later txs of that account (their sequence follows a tx no node has).
    assert!(committed * 10 >= planned * 9, "{}: only {committed} of {planned} committed: {r}", load.name);

    // The tx log against node `verify`'s blocks.
    let text = std::fs::read_to_string(&load.log).expect("tx log");
    let mut by_height: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    let mut hashes = BTreeSet::new();
    let mut reported = 0u64;
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f.len(), 4, "tx log line {line:?}");
        assert!(hashes.insert(f[0].to_string()), "{}: tx {} twice in the tx log", load.name, f[0]);
        let (height, code): (u64, u32) = (f[2].parse().expect("height"), f[3].parse().expect("code"));
        if height > 0 && code == 0 {
            by_height.entry(height).or_default().insert(f[0].to_string());
            reported += 1;
        }
    }
    assert_eq!((hashes.len() as u64, reported), (planned, committed), "{}: tx log vs report", load.name);
    let chain = &net.chains[verify];
    let (lo, hi) = (*by_height.keys().next().expect("no committed tx"), *by_height.keys().next_back().expect("none"));
    // The node that suffered the fault may still be catching up to the last tx's block.
    net.wait_all(&[verify], hi);
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for h in lo..=hi {
        let b = chain
            .rt
            .block_on(chain.rpc.call("block", json!({"height": h.to_string()})))
            .unwrap_or_else(|e| panic!("node{verify} /block {h}: {e:#}"));
        for t in b["block"]["data"]["txs"].as_array().cloned().unwrap_or_default() {
            let bytes = base64::engine::general_purpose::STANDARD.decode(t.as_str().expect("tx")).expect("base64 tx");
            let hash = hex::encode_upper(Sha256::digest(&bytes));
            if hashes.contains(&hash) {
                assert!(
                    seen.insert(hash.clone(), h).is_none(),
                    "{}: tx {hash} in block {} and block {h} on node{verify}",
                    load.name,
                    seen[&hash]
                );
            }
        }
    }
    for (h, txs) in &by_height {
        for t in txs {
            assert_eq!(seen.get(t), Some(h), "{}: tx {t} reported committed at {h} is not in that block on node{verify}", load.name);
        }
    }
    step(t0, &format!("{}: all {committed} committed txs found once, in the blocks named, on node{verify} ({lo}..={hi})", load.name));
    // And every node has the same block and app hash at every height.
    let all = net.all();
    let top = net.wait_all(&all, 0);
    net.assert_agree(&all, top);
    r
}
