//! The load generator behind `openledger bench` (which only parses its arguments): deterministic bench accounts, txs built
//! and signed before the clock starts, sent with CometBFT's `broadcast_tx_async` at a
//! steady rate round-robin over every node, then the blocks walked to count what was
//! committed and how long it took.
//!
//! Two kinds of load, measured the same way: signed transfers (`MsgSend`, 1 uopen to the
//! next bench account) through this chain, and plain `key=value` txs through CometBFT's
//! built-in kvstore app — the ceiling of the same network with an app that does nothing.
//!
//! Commit time of a tx: the first time the loader saw the **app's** last committed height
//! (`abci_info` on the first node, polled every `poll_interval`) reach the tx's block.
//! Then the tx's effects are queryable, and both instants are on the loader's clock. It
//! includes the block's execution (FinalizeBlock + Commit), which a block header time
//! (the previous block's commit, by the validators' clocks) would not; the resolution is
//! the poll interval plus one RPC round trip.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine;
use futures::StreamExt;
use openledger_proto::cosmos::auth::v1beta1 as auth;
use prost::Message;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use openledger_client::rpc::{num, CometRpc};
use openledger_client::txbuilder::{self, SignerKey, TxSpec};

/// Fee and gas limit of a bench transfer (0.025 uopen/gas, the default minimum price).
pub const TRANSFER_FEE: u128 = 5_000;
pub const TRANSFER_GAS: u64 = 200_000;
/// What `bench accounts` funds each account with by default: 1,000,000 OPEN.
pub const DEFAULT_FUNDING: u128 = 1_000_000_000_000;
pub const DEFAULT_SEED: &str = "openledger-bench";
/// The most txs one run builds (memory: a few hundred bytes each).
pub const MAX_TXS: u64 = 5_000_000;

/// Bench account `i` of `seed`: a secp256k1 key from SHA-256 of the seed and index, so
/// the loader and whoever writes the genesis agree without sharing a keyring.
pub fn account_key(seed: &str, i: u64) -> SignerKey {
    let mut bytes = Sha256::digest(format!("openledger bench account {seed} {i}").as_bytes());
    loop {
        if let Ok(k) = k256::ecdsa::SigningKey::from_slice(&bytes) {
            return SignerKey::Secp256k1(k);
        }
        bytes = Sha256::digest(bytes);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Signed `MsgSend`s through the OpenLedger app.
    Transfer,
    /// `key=value` txs through CometBFT's built-in kvstore (`--proxy_app=kvstore`).
    Kvstore,
}

impl std::str::FromStr for Mode {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Mode> {
        match s {
            "transfer" => Ok(Mode::Transfer),
            "kvstore" => Ok(Mode::Kvstore),
            other => bail!("unknown --mode {other:?}: transfer or kvstore"),
        }
    }
}

/// `--node URL[,URL…]`: CometBFT RPC endpoints (http, or tcp:// as in config.toml).
pub fn parse_nodes(s: &str) -> Result<Vec<String>> {
    let mut nodes = Vec::new();
    for part in s.split(',').map(str::trim) {
        let normalised = part.replacen("tcp://", "http://", 1);
        let url = reqwest::Url::parse(&normalised).map_err(|e| anyhow!("invalid --node {part:?}: {e}"))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            bail!("invalid --node {part:?}: expected http://HOST:PORT");
        }
        if url.host_str().is_none_or(str::is_empty) {
            bail!("invalid --node {part:?}: no host");
        }
        nodes.push(normalised.trim_end_matches('/').to_string());
    }
    if nodes.iter().any(String::is_empty) || nodes.is_empty() {
        bail!("invalid --node {s:?}: expected http://HOST:PORT[,http://HOST:PORT…]");
    }
    Ok(nodes)
}

/// `--cpu-pid LABEL=PID`: a local process whose CPU use the report shows.
pub fn parse_cpu_pid(s: &str) -> Result<(String, u32)> {
    let (label, pid) = s.split_once('=').ok_or_else(|| anyhow!("invalid --cpu-pid {s:?}: expected LABEL=PID"))?;
    let pid = pid.parse::<u32>().map_err(|_| anyhow!("invalid --cpu-pid {s:?}: {pid:?} is not a process id"))?;
    if label.is_empty() {
        bail!("invalid --cpu-pid {s:?}: empty label");
    }
    Ok((label.to_string(), pid))
}

/// The send schedule: tx `k` is due `k / rate` seconds after the start. A lane that falls
/// behind sends at once (it never skips), so a late loader shows as lateness, not as a
/// lower offered count.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub rate: f64,
}

impl Schedule {
    pub fn new(rate: f64) -> Result<Schedule> {
        if !(rate.is_finite() && rate > 0.0) {
            bail!("--rate must be a positive number of tx/s (got {rate})");
        }
        Ok(Schedule { rate })
    }
    pub fn due(&self, k: u64) -> Duration {
        Duration::from_secs_f64(k as f64 / self.rate)
    }
    /// How many txs `duration` holds at this rate (at least one).
    pub fn count(&self, duration: Duration) -> u64 {
        ((self.rate * duration.as_secs_f64()).round() as u64).max(1)
    }
}

/// Which sender lane sends tx `k`. A transfer goes on its account's lane, so an account's
/// txs leave one after another over one connection, in sequence order (CheckTx accepts
/// only the next sequence); kvstore txs are dealt round-robin.
pub fn lane_of(mode: Mode, k: u64, accounts: u64, lanes: usize) -> usize {
    let slot = match mode {
        Mode::Transfer => k % accounts.max(1),
        Mode::Kvstore => k,
    };
    (slot % lanes as u64) as usize
}

/// Lanes are dealt over the nodes round-robin.
pub fn node_of_lane(lane: usize, nodes: usize) -> usize {
    lane % nodes.max(1)
}

/// The `p`-th percentile (0..=100) of sorted values, nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Latency {
    /// Summary of latencies in milliseconds (any order).
    pub fn of(mut ms: Vec<f64>) -> Latency {
        if ms.is_empty() {
            return Latency::default();
        }
        ms.sort_by(f64::total_cmp);
        let mean = ms.iter().sum::<f64>() / ms.len() as f64;
        Latency { p50: percentile(&ms, 50.0), p95: percentile(&ms, 95.0), p99: percentile(&ms, 99.0), max: ms[ms.len() - 1], mean }
    }
}

#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub nodes: Vec<String>,
    pub rate: f64,
    pub duration: Duration,
    pub accounts: u64,
    pub mode: Mode,
    pub chain_id: Option<String>,
    pub seed: String,
    /// Sender lanes (sequential HTTP keep-alive connections) per node.
    pub connections: usize,
    /// Longest wait, after the last send, for the sent txs to be committed.
    pub drain_timeout: Duration,
    pub poll_interval: Duration,
    /// kvstore tx size in bytes; default: the size of a signed bench transfer.
    pub tx_bytes: Option<usize>,
    /// Local processes (label, pid) whose CPU use the report shows (Linux /proc).
    pub cpu_pids: Vec<(String, u32)>,
    /// Longest wait for one node's answer to one send; then the tx goes to the next node.
    pub send_timeout: Duration,
    /// broadcast_tx_sync instead of broadcast_tx_async: each send waits for CheckTx, and
    /// a tx CheckTx refuses (e.g. on a node still catching up, whose state is behind)
    /// goes to the next node instead of being lost silently.
    pub broadcast_sync: bool,
}

impl LoadConfig {
    pub fn validate(&self) -> Result<Schedule> {
        let schedule = Schedule::new(self.rate)?;
        if self.nodes.is_empty() {
            bail!("no --node given");
        }
        let secs = self.duration.as_secs_f64();
        if !(secs > 0.0 && secs <= 3600.0) {
            bail!("--duration must be between 0 and 3600 seconds (got {secs})");
        }
        if self.mode == Mode::Transfer && (self.accounts == 0 || self.accounts < self.nodes.len() as u64) {
            bail!("--accounts must be at least the number of nodes ({}) in transfer mode (got {})", self.nodes.len(), self.accounts);
        }
        if self.send_timeout.is_zero() || self.send_timeout > Duration::from_secs(120) {
            bail!("--send-timeout must be above 0 and at most 120 seconds (got {:?})", self.send_timeout);
        }
        if self.connections == 0 || self.connections > 256 {
            bail!("--connections must be 1..=256 (got {})", self.connections);
        }
        let n = schedule.count(self.duration);
        if n > MAX_TXS {
            bail!("{n} txs (--rate × --duration) is more than one run builds ({MAX_TXS})");
        }
        if let Some(b) = self.tx_bytes {
            if !(16..=1_000_000).contains(&b) {
                bail!("--tx-bytes must be 16..=1000000 (got {b})");
            }
        }
        Ok(schedule)
    }

    /// What is sent where, in a few words (the saturation summary line).
    pub fn describe(&self) -> String {
        match self.mode {
            Mode::Transfer => format!("transfers from {} accounts over {} node(s)", self.accounts, self.nodes.len()),
            Mode::Kvstore => format!("kvstore txs over {} node(s)", self.nodes.len()),
        }
    }

    fn lanes(&self) -> usize {
        let lanes = self.nodes.len() * self.connections;
        match self.mode {
            Mode::Transfer => lanes.min(self.accounts as usize),
            Mode::Kvstore => lanes,
        }
    }
}

/// What one load run measured. Latencies in milliseconds, rates in tx/s.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: Mode,
    pub nodes: Vec<String>,
    pub chain_id: String,
    pub rate: f64,
    pub duration_s: f64,
    pub accounts: u64,
    pub lanes: usize,
    pub tx_bytes: usize,
    /// kvstore: every key is this prefix and the tx index, 9 digits (`{prefix}000000042`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key_prefix: String,
    pub build_s: f64,
    pub planned: u64,
    /// Accepted by broadcast_tx_async (a tx refused by CheckTx is still "sent").
    pub sent: u64,
    /// Txs no node accepted (each node tried once, in turn).
    pub send_errors: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub send_error_sample: String,
    /// Sends that failed on a node (refused, timed out, RPC error) and were tried on the
    /// next: a tx counts once here per failed attempt, and in `sent` if a node took it.
    pub send_failovers: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub send_failover_sample: String,
    /// Sent txs per second between the first and the last send.
    pub send_rate: f64,
    /// How late the latest send was against its schedule.
    pub send_late_max_ms: f64,
    /// In a block with code 0.
    pub committed: u64,
    /// In a block with a non-zero code.
    pub failed: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub failed_sample: String,
    /// Sent but in no block when the run ended.
    pub missing: u64,
    /// Times one of this run's txs was found in a block again after its first inclusion
    /// (0 unless the chain included a tx twice).
    pub duplicates: u64,
    /// Committed (code 0) per second in whole block intervals: the run's txs in the
    /// blocks after the first and before the last that hold any, over the time from the
    /// commit of the first to the commit of the one before the last. (Block h holds what
    /// arrived in about one block interval before it; the first and last blocks hold
    /// partial intervals.) At low load this is the offered rate; when the chain falls
    /// behind, the rate it works the backlog off at: its capacity.
    pub committed_tps: f64,
    /// From the first send to the commit of the last block holding this run's txs.
    pub busy_s: f64,
    pub latency_ms: Latency,
    pub first_height: u64,
    pub last_height: u64,
    pub blocks: u64,
    pub txs_per_block_mean: f64,
    pub txs_per_block_max: u64,
    /// Txs still in the nodes' mempools at the end.
    pub mempool_after: u64,
    pub commit_time: String,
    /// Average cores used from the first send to the end of the drain, per watched
    /// process, by the loader itself (`loader`) and by the whole machine (`machine`,
    /// with `machine_cores` available).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub cpu_cores: BTreeMap<String, f64>,
    pub machine_cores: usize,
    /// Every planned tx (for `--tx-log`).
    #[serde(skip)]
    pub txs: Vec<TxRecord>,
}

/// One planned tx: its CometBFT hash, when it was sent (ms after the start; none if the
/// send failed) and where it landed (height 0: in no block).
#[derive(Debug, Clone, Serialize)]
pub struct TxRecord {
    pub hash: String,
    pub sent_ms: Option<f64>,
    pub height: u64,
    pub code: u32,
}

impl Report {
    /// One line per planned tx: HASH SENT_MS HEIGHT CODE (`-` for a tx never sent).
    pub fn write_tx_log(&self, path: &std::path::Path) -> Result<()> {
        use std::io::Write;
        let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut w = std::io::BufWriter::new(f);
        for t in &self.txs {
            let sent = t.sent_ms.map_or("-".to_string(), |s| format!("{s:.3}"));
            writeln!(w, "{} {sent} {} {}", t.hash, t.height, t.code)?;
        }
        w.flush()?;
        Ok(())
    }

    pub fn print_text(&self) {
        let mode = match self.mode {
            Mode::Transfer => "transfer",
            Mode::Kvstore => "kvstore",
        };
        println!(
            "mode {mode}: {} node(s), {} lanes, target {:.0} tx/s for {:.1} s ({} txs of {} bytes, built in {:.1} s)",
            self.nodes.len(),
            self.lanes,
            self.rate,
            self.duration_s,
            self.planned,
            self.tx_bytes,
            self.build_s
        );
        println!(
            "sent        {} ({} errors{}) at {:.0} tx/s, latest send {:.0} ms behind schedule",
            self.sent,
            self.send_errors,
            sample(&self.send_error_sample),
            self.send_rate,
            self.send_late_max_ms
        );
        if self.send_failovers > 0 {
            println!("failovers   {} sends retried on the next node{}", self.send_failovers, sample(&self.send_failover_sample));
        }
        println!("committed   {} ({} failed{}, {} missing)", self.committed, self.failed, sample(&self.failed_sample), self.missing);
        if self.duplicates > 0 {
            println!("duplicates  {} of this run's txs found in a block again", self.duplicates);
        }
        println!("throughput  {:.1} tx/s committed over {:.2} s", self.committed_tps, self.busy_s);
        let l = &self.latency_ms;
        println!("latency     p50 {:.0} ms  p95 {:.0} ms  p99 {:.0} ms  max {:.0} ms  mean {:.0} ms", l.p50, l.p95, l.p99, l.max, l.mean);
        if !self.cpu_cores.is_empty() {
            let parts: Vec<String> = self.cpu_cores.iter().map(|(k, v)| format!("{k} {v:.2}")).collect();
            println!("cpu cores   {} (of {})", parts.join(", "), self.machine_cores);
        }
        println!(
            "blocks      {} ({}..={}), {:.1} txs/block mean, {} max; {} txs left in mempools",
            self.blocks, self.first_height, self.last_height, self.txs_per_block_mean, self.txs_per_block_max, self.mempool_after
        );
    }
}

fn sample(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(", e.g. {s}")
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// A tx ready to go: the JSON-RPC request body, its CometBFT hash, its lane.
struct Planned {
    body: Vec<u8>,
    hash: [u8; 32],
    lane: usize,
}

fn request_body(k: u64, tx: &[u8], sync: bool) -> Vec<u8> {
    let method = if sync { "broadcast_tx_sync" } else { "broadcast_tx_async" };
    json!({"jsonrpc": "2.0", "id": k, "method": method, "params": {"tx": b64().encode(tx)}}).to_string().into_bytes()
}

/// The size of a signed bench transfer: the default kvstore tx size, so both loads move
/// the same bytes.
pub fn transfer_tx_size() -> usize {
    let (a, b) = (account_key(DEFAULT_SEED, 0), account_key(DEFAULT_SEED, 1));
    let spec = TxSpec::new(vec![txbuilder::msg_send(&a.address(), &b.address(), 1)], TRANSFER_FEE, TRANSFER_GAS);
    txbuilder::sign_tx(&spec, &a, "openledger-bench", 100, 100).len()
}

/// kvstore tx `k`: `{prefix}{k:09}=vvv…`, padded to `size` bytes.
pub fn kv_tx(prefix: &str, k: u64, size: usize) -> Vec<u8> {
    let mut tx = format!("{prefix}{k:09}=v").into_bytes();
    tx.resize(tx.len().max(size), b'v');
    tx
}

async fn account_numbers(rpc: &CometRpc, keys: &[SignerKey], seed: &str) -> Result<Vec<(u64, u64)>> {
    let total = keys.len();
    let answers: Vec<Result<(usize, u64, u64)>> = futures::stream::iter(keys.iter().enumerate())
        .map(|(i, key)| async move {
            let addr = key.address();
            let req = auth::QueryAccountRequest { address: addr.to_string() };
            let r = rpc.abci_query("/cosmos.auth.v1beta1.Query/Account", &req.encode_to_vec(), 0).await?;
            if r.code != 0 {
                bail!(
                    "bench account {i} ({addr}) is not on the chain ({}): fund the accounts first — \
                     `openledger bench accounts --count {total} --seed {seed} -o json > accounts.json` and \
                     `openledgerd genesis add-accounts --home HOME --file accounts.json`",
                    r.log
                );
            }
            let any = auth::QueryAccountResponse::decode(r.value.as_slice())?.account.ok_or_else(|| anyhow!("empty account answer"))?;
            let acct = auth::BaseAccount::decode(any.value.as_slice()).context("decoding account")?;
            Ok((i, acct.account_number, acct.sequence))
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let mut out = vec![(0, 0); total];
    for a in answers {
        let (i, number, sequence) = a?;
        out[i] = (number, sequence);
    }
    Ok(out)
}

/// Sign on every core, in order.
fn sign_parallel(jobs: Vec<(u64, usize, u64)>, keys: &[SignerKey], chain_id: &str, numbers: &[(u64, u64)]) -> Vec<Vec<u8>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = jobs.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|&(_, a, seq)| {
                            let from = &keys[a];
                            let to = keys[(a + 1) % keys.len()].address();
                            let spec = TxSpec::new(vec![txbuilder::msg_send(&from.address(), &to, 1)], TRANSFER_FEE, TRANSFER_GAS);
                            txbuilder::sign_tx(&spec, from, chain_id, numbers[a].0, seq)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

/// The outcome of one send.
struct Sent {
    k: usize,
    at: Duration,
    /// Why no node took the tx (none: one did).
    error: Option<String>,
    /// Attempts that failed on a node before one took it (or all refused).
    failovers: Vec<String>,
}

/// Which nodes recently failed a send: a node that failed is skipped for a backoff
/// (1 s, doubling per further failure up to 16 s), then one send probes it again.
pub struct NodeHealth {
    nodes: Mutex<Vec<(u32, Option<tokio::time::Instant>)>>, // (consecutive failures, skipped until)
}

impl NodeHealth {
    pub fn new(nodes: usize) -> NodeHealth {
        NodeHealth { nodes: Mutex::new(vec![(0, None); nodes]) }
    }

    /// The order to try the nodes in for a lane whose own node is `home`: its own node
    /// first, then the next ones, nodes in backoff last. A node whose backoff has passed
    /// is claimed for `probe` (one send probes it, the others skip it meanwhile).
    pub fn order(&self, home: usize, probe: Duration) -> Vec<usize> {
        let now = tokio::time::Instant::now();
        let Ok(mut nodes) = self.nodes.lock() else { return vec![home] };
        let n = nodes.len();
        let (mut ready, mut backing_off) = (Vec::with_capacity(n), Vec::new());
        for i in (0..n).map(|d| (home + d) % n) {
            match nodes[i].1 {
                Some(until) if until > now => backing_off.push(i),
                Some(_) => {
                    nodes[i].1 = Some(now + probe);
                    ready.push(i);
                }
                None => ready.push(i),
            }
        }
        ready.extend(backing_off);
        ready
    }

    pub fn failed(&self, node: usize) {
        if let Ok(mut nodes) = self.nodes.lock() {
            let e = &mut nodes[node];
            e.0 = e.0.saturating_add(1);
            e.1 = Some(tokio::time::Instant::now() + Duration::from_secs(1u64 << (e.0 - 1).min(4)));
        }
    }

    pub fn ok(&self, node: usize) {
        if let Ok(mut nodes) = self.nodes.lock() {
            nodes[node] = (0, None);
        }
    }
}

/// One broadcast_tx_async: none if the node took the tx (or already had it), else why not.
async fn send_one(http: &reqwest::Client, url: &str, body: &[u8], timeout: Duration) -> Option<String> {
    match http.post(url).header("content-type", "application/json").body(body.to_vec()).timeout(timeout).send().await {
        Ok(resp) if !resp.status().is_success() => Some(format!("{url}: HTTP {}", resp.status())),
        Ok(resp) => match resp.bytes().await {
            Ok(b) if b.windows(8).any(|w| w == b"\"error\":") => {
                let v: Value = serde_json::from_slice(&b).unwrap_or_default();
                let e = &v["error"];
                let msg = e["data"].as_str().or_else(|| e["message"].as_str()).unwrap_or("rpc error");
                // Resent after a timeout, the tx may already be there (gossiped or taken late).
                (!msg.contains("tx already exists in cache")).then(|| format!("{url}: {msg}"))
            }
            Ok(b) => {
                // broadcast_tx_sync: CheckTx's answer (async answers code 0 before CheckTx).
                let v: Value = serde_json::from_slice(&b).unwrap_or_default();
                let code = num(&v["result"]["code"]);
                (code != 0).then(|| format!("{url}: CheckTx code {code}: {}", v["result"]["log"].as_str().unwrap_or_default()))
            }
            Err(e) => Some(format!("{url}: {e}")),
        },
        Err(e) if e.is_timeout() => Some(format!("{url}: no answer within {} ms", timeout.as_millis())),
        Err(e) if e.is_connect() => Some(format!("{url}: connection refused or failed")),
        Err(e) => Some(format!("{url}: {e}")),
    }
}

/// Sends a lane's txs on schedule to its own node; a send that fails there (refused,
/// timed out, RPC error) goes to the next node, so a node that is down or stopped costs
/// at most one `timeout` per backoff period and the txs reach the live nodes. Resending
/// a tx is harmless: a tx commits at most once (its account sequence), and a node that
/// already has it answers "already exists in cache", taken as accepted.
/// What every sender lane shares.
#[derive(Clone)]
struct Lanes {
    http: reqwest::Client,
    urls: Arc<Vec<String>>,
    health: Arc<NodeHealth>,
    start: tokio::time::Instant,
    schedule: Schedule,
    timeout: Duration,
}

async fn send_lane(lanes: Lanes, home: usize, items: Vec<(usize, Vec<u8>)>) -> Vec<Sent> {
    let Lanes { http, urls, health, start, schedule, timeout } = lanes;
    let mut out = Vec::with_capacity(items.len());
    for (k, body) in items {
        tokio::time::sleep_until(start + schedule.due(k as u64)).await;
        let at = start.elapsed();
        let mut failovers = Vec::new();
        let mut error = None;
        for node in health.order(home, timeout) {
            match send_one(&http, &urls[node], &body, timeout).await {
                None => {
                    health.ok(node);
                    error = None;
                    break;
                }
                Some(e) => {
                    health.failed(node);
                    failovers.push(e.clone());
                    error = Some(e);
                }
            }
        }
        if error.is_some() {
            failovers.pop(); // the last attempt's error is the send error
        }
        out.push(Sent { k, at, error, failovers });
    }
    out
}

/// `method` on the first node that answers, trying them in order.
async fn call_any(rpcs: &[CometRpc], method: &str, params: Value) -> Result<Value> {
    let mut last = None;
    for rpc in rpcs {
        match rpc.call(method, params.clone()).await {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| anyhow!("no node")).context(format!("{method} on every node")))
}

/// The app's committed height (abci_info) on the first node that answers.
async fn app_height(rpcs: &[CometRpc]) -> Result<u64> {
    Ok(openledger_client::rpc::app_height_of(&call_any(rpcs, "abci_info", json!({})).await?))
}

/// Polls the app's committed height until `stop`, recording when each height was first
/// seen. Bounded by `deadline`.
async fn observe_commits(
    rpc: Vec<CometRpc>,
    mut last: u64,
    interval: Duration,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<BTreeMap<u64, tokio::time::Instant>>>,
    deadline: tokio::time::Instant,
) {
    while !stop.load(Ordering::Relaxed) && tokio::time::Instant::now() < deadline {
        if let Ok(h) = app_height(&rpc).await {
            if h > last {
                let now = tokio::time::Instant::now();
                if let Ok(mut m) = seen.lock() {
                    for height in last + 1..=h {
                        m.insert(height, now);
                    }
                }
                last = h;
            }
        }
        tokio::time::sleep(interval).await;
    }
}

/// A block's txs (CometBFT hashes, in order), from the first node that answers.
async fn block_tx_hashes(rpcs: &[CometRpc], height: u64) -> Result<Vec<[u8; 32]>> {
    openledger_client::rpc::block_tx_hashes(&call_any(rpcs, "block", json!({"height": height.to_string()})).await?)
}

/// Txs in every node's mempool; None if a node does not answer.
/// Txs in the mempools of the nodes that answer (a node that is down holds none that
/// matter here); None when no node answers.
async fn mempool_size(rpcs: &[CometRpc]) -> Option<u64> {
    let mut total = None;
    for rpc in rpcs {
        if let Ok(r) = rpc.call("num_unconfirmed_txs", json!({})).await {
            total = Some(total.unwrap_or(0) + num(&r["total"]));
        }
    }
    total
}

/// Build, send, wait for the blocks, measure.
pub async fn run(cfg: &LoadConfig) -> Result<Report> {
    let schedule = cfg.validate()?;
    let rpcs: Vec<CometRpc> = cfg.nodes.iter().map(|n| CometRpc::new(n)).collect();
    let mut chain_id = String::new();
    for (rpc, url) in rpcs.iter().zip(&cfg.nodes) {
        let network = rpc.chain_id().await.with_context(|| format!("node {url}"))?;
        if chain_id.is_empty() {
            chain_id = network;
        } else if network != chain_id {
            bail!("the nodes are on different chains: {} is on {chain_id:?}, {url} on {network:?}", cfg.nodes[0]);
        }
    }
    if let Some(want) = &cfg.chain_id {
        if *want != chain_id {
            bail!("wrong chain id: the node at {} is on {chain_id:?}, --chain-id is {want:?}", cfg.nodes[0]);
        }
    }

    // A previous run's txs still pending would collide with this run's sequences.
    let waited = tokio::time::Instant::now() + cfg.drain_timeout;
    let mut pending = mempool_size(&rpcs).await.unwrap_or(0);
    while pending > 0 && tokio::time::Instant::now() < waited {
        tokio::time::sleep(Duration::from_millis(200)).await;
        pending = mempool_size(&rpcs).await.unwrap_or(0);
    }
    if pending > 0 && cfg.mode == Mode::Transfer {
        bail!("the nodes' mempools still hold {pending} txs after {} s: wait for them to be committed", cfg.drain_timeout.as_secs());
    }

    // 1. Build every tx before the clock starts.
    let built = Instant::now();
    let n = schedule.count(cfg.duration);
    let lanes = cfg.lanes();
    let (txs, key_prefix): (Vec<Vec<u8>>, String) = match cfg.mode {
        Mode::Transfer => {
            let keys: Vec<SignerKey> = (0..cfg.accounts).map(|i| account_key(&cfg.seed, i)).collect();
            let numbers = account_numbers(&rpcs[0], &keys, &cfg.seed).await?;
            let a = cfg.accounts;
            let jobs: Vec<(u64, usize, u64)> = (0..n).map(|k| (k, (k % a) as usize, numbers[(k % a) as usize].1 + k / a)).collect();
            let chain = chain_id.clone();
            let txs = tokio::task::block_in_place(|| sign_parallel(jobs, &keys, &chain, &numbers));
            (txs, String::new())
        }
        Mode::Kvstore => {
            let size = cfg.tx_bytes.unwrap_or_else(transfer_tx_size);
            let run_id = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
            let prefix = format!("load{run_id}x");
            ((0..n).map(|k| kv_tx(&prefix, k, size)).collect(), prefix)
        }
    };
    let tx_bytes = txs.first().map_or(0, Vec::len);
    let planned: Vec<Planned> = txs
        .iter()
        .enumerate()
        .map(|(k, tx)| Planned {
            body: request_body(k as u64, tx, cfg.broadcast_sync),
            hash: Sha256::digest(tx).into(),
            lane: lane_of(cfg.mode, k as u64, cfg.accounts, lanes),
        })
        .collect();
    drop(txs);
    let index: BTreeMap<[u8; 32], usize> = planned.iter().enumerate().map(|(k, p)| (p.hash, k)).collect();
    let hashes: Vec<[u8; 32]> = planned.iter().map(|p| p.hash).collect();
    let mut per_lane: Vec<Vec<(usize, Vec<u8>)>> = (0..lanes).map(|_| Vec::new()).collect();
    for (k, p) in planned.into_iter().enumerate() {
        per_lane[p.lane].push((k, p.body));
    }
    let build_s = built.elapsed().as_secs_f64();

    // 2. Watch commits, then send on every lane.
    let h0 = app_height(&rpcs).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<BTreeMap<u64, tokio::time::Instant>>> = Arc::default();
    let hard_deadline = tokio::time::Instant::now() + cfg.duration + cfg.drain_timeout + Duration::from_secs(30);
    let observer = tokio::spawn(observe_commits(
        cfg.nodes.iter().map(|n| CometRpc::new(n)).collect(),
        h0,
        cfg.poll_interval,
        stop.clone(),
        seen.clone(),
        hard_deadline,
    ));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(lanes)
        .tcp_nodelay(true)
        .connect_timeout(cfg.send_timeout.min(Duration::from_secs(2)))
        .timeout(cfg.send_timeout)
        .build()
        .context("HTTP client")?;
    let urls = Arc::new(cfg.nodes.clone());
    let health = Arc::new(NodeHealth::new(cfg.nodes.len()));
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let cpu_before = cpu::sample(&cfg.cpu_pids);
    let shared = Lanes { http, urls, health, start, schedule, timeout: cfg.send_timeout };
    let tasks: Vec<_> = per_lane
        .into_iter()
        .enumerate()
        .map(|(lane, items)| {
            let home = node_of_lane(lane, cfg.nodes.len());
            tokio::spawn(send_lane(shared.clone(), home, items))
        })
        .collect();
    let mut sent_at: Vec<Option<Duration>> = vec![None; n as usize];
    let (mut send_errors, mut send_error_sample, mut late_max) = (0u64, String::new(), Duration::ZERO);
    let (mut send_failovers, mut send_failover_sample) = (0u64, String::new());
    for t in tasks {
        for s in t.await.context("sender lane")? {
            late_max = late_max.max(s.at.saturating_sub(schedule.due(s.k as u64)));
            send_failovers += s.failovers.len() as u64;
            if send_failover_sample.is_empty() {
                send_failover_sample = s.failovers.into_iter().next().unwrap_or_default();
            }
            match s.error {
                None => sent_at[s.k] = Some(s.at),
                Some(e) => {
                    send_errors += 1;
                    if send_error_sample.is_empty() {
                        send_error_sample = e;
                    }
                }
            }
        }
    }
    let sent = sent_at.iter().filter(|s| s.is_some()).count() as u64;
    let (first_send, last_send) = sent_at.iter().flatten().fold((Duration::MAX, Duration::ZERO), |(lo, hi), t| (lo.min(*t), hi.max(*t)));
    let send_rate = if sent > 1 { (sent - 1) as f64 / (last_send - first_send).as_secs_f64().max(1e-9) } else { 0.0 };

    // 3. Walk the blocks until every sent tx is found, the mempools are empty, or the
    // drain timeout passes.
    let drain_deadline = tokio::time::Instant::now() + cfg.drain_timeout;
    let mut found: Vec<Option<(u64, u32)>> = vec![None; n as usize];
    let mut blocks: BTreeMap<u64, (usize, Vec<(usize, usize)>)> = BTreeMap::new(); // height → (txs, [(tx index, k)])
    let mut walked = h0;
    let mut found_count = 0u64;
    let mut quiet: Option<(u64, u64)> = None; // (height, txs found) when the mempools were first seen empty
    let (mut in_a_block, mut duplicates) = (vec![false; n as usize], 0u64);
    loop {
        let top = seen.lock().map_err(|_| anyhow!("poisoned"))?.keys().next_back().copied().unwrap_or(h0);
        while walked < top {
            walked += 1;
            let hashes = block_tx_hashes(&rpcs, walked).await?;
            let mut ours = Vec::new();
            for (i, h) in hashes.iter().enumerate() {
                if let Some(&k) = index.get(h) {
                    if in_a_block[k] {
                        duplicates += 1;
                    }
                    in_a_block[k] = true;
                    if sent_at[k].is_some() && found[k].is_none() {
                        found[k] = Some((walked, 0));
                        found_count += 1;
                    }
                    ours.push((i, k));
                }
            }
            blocks.insert(walked, (hashes.len(), ours));
        }
        if found_count >= sent {
            break;
        }
        // Nothing more comes once the mempools have stayed empty, with nothing new found,
        // over two more committed blocks, all walked. One empty reading is not enough: an
        // accepted broadcast_tx_async may still wait for its CheckTx (behind a recheck)
        // while the block before it has just emptied the mempool.
        match mempool_size(&rpcs).await {
            Some(0) => match quiet {
                Some((h, n)) if n == found_count => {
                    if walked >= h + 2 {
                        break;
                    }
                }
                _ => quiet = Some((app_height(&rpcs).await.unwrap_or(walked).max(walked), found_count)),
            },
            _ => quiet = None,
        }
        if tokio::time::Instant::now() >= drain_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let _ = observer.await;
    let cpu_cores = cpu::cores_used(&cpu_before, &cpu::sample(&cfg.cpu_pids), start.elapsed());
    // The other nodes drop the txs when they commit the same blocks, a moment later.
    let settle =
        tokio::time::Instant::now() + Duration::from_secs(5).min(drain_deadline.saturating_duration_since(tokio::time::Instant::now()));
    let mut mempool_after = mempool_size(&rpcs).await.unwrap_or(0);
    while mempool_after > 0 && found_count >= sent && tokio::time::Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(100)).await;
        mempool_after = mempool_size(&rpcs).await.unwrap_or(0);
    }

    // 4. Codes, latencies, blocks.
    let seen = seen.lock().map_err(|_| anyhow!("poisoned"))?.clone();
    let mut failed_sample = String::new();
    let (mut failed, mut committed) = (0u64, 0u64);
    let mut latencies = Vec::with_capacity(found_count as usize);
    let mut last_commit = Duration::ZERO;
    let our_blocks: Vec<u64> = blocks.iter().filter(|(_, (_, ours))| !ours.is_empty()).map(|(h, _)| *h).collect();
    for h in &our_blocks {
        let r = call_any(&rpcs, "block_results", json!({"height": h.to_string()})).await?;
        let results = r["txs_results"].as_array().cloned().unwrap_or_default();
        let commit_at = seen.get(h).map(|t| t.saturating_duration_since(start));
        for &(i, k) in &blocks[h].1 {
            let (Some(sent), Some(commit_at)) = (sent_at[k], commit_at) else { continue };
            if found[k].map(|f| f.0) != Some(*h) {
                continue;
            }
            let code = num(&results.get(i).cloned().unwrap_or_default()["code"]) as u32;
            found[k] = Some((*h, code));
            if code == 0 {
                committed += 1;
            } else {
                failed += 1;
                if failed_sample.is_empty() {
                    failed_sample = format!("code {code}: {}", results[i]["log"].as_str().unwrap_or(""));
                }
            }
            latencies.push(commit_at.saturating_sub(sent).as_secs_f64() * 1e3);
            last_commit = last_commit.max(commit_at);
        }
    }
    let (first_height, last_height) = (our_blocks.first().copied().unwrap_or(0), our_blocks.last().copied().unwrap_or(0));
    let span: Vec<usize> = blocks.range(first_height..=last_height).map(|(_, (txs, _))| *txs).collect();
    let busy_s = last_commit.saturating_sub(if sent > 0 { first_send } else { Duration::ZERO }).as_secs_f64();
    let records = hashes
        .iter()
        .zip(&sent_at)
        .zip(&found)
        .map(|((h, s), f)| TxRecord {
            hash: hex::encode_upper(h),
            sent_ms: s.map(|d| d.as_secs_f64() * 1e3),
            height: f.map_or(0, |f| f.0),
            code: f.map_or(0, |f| f.1),
        })
        .collect();
    let committed_tps = committed_rate(&found, &seen, first_height, last_height, start, committed, busy_s);
    Ok(Report {
        mode: cfg.mode,
        nodes: cfg.nodes.clone(),
        chain_id,
        rate: cfg.rate,
        duration_s: cfg.duration.as_secs_f64(),
        accounts: if cfg.mode == Mode::Transfer { cfg.accounts } else { 0 },
        lanes,
        tx_bytes,
        key_prefix,
        build_s,
        planned: n,
        sent,
        send_errors,
        send_error_sample,
        send_failovers,
        send_failover_sample,
        send_rate,
        send_late_max_ms: late_max.as_secs_f64() * 1e3,
        committed,
        failed,
        failed_sample,
        missing: sent - committed - failed,
        duplicates,
        committed_tps,
        busy_s,
        latency_ms: Latency::of(latencies),
        first_height,
        last_height,
        blocks: span.len() as u64,
        txs_per_block_mean: if span.is_empty() { 0.0 } else { span.iter().sum::<usize>() as f64 / span.len() as f64 },
        txs_per_block_max: span.iter().copied().max().unwrap_or(0) as u64,
        mempool_after,
        commit_time: format!(
            "first poll of abci_info on {} showing the block committed by the app (every {} ms)",
            cfg.nodes[0],
            cfg.poll_interval.as_millis()
        ),
        cpu_cores,
        machine_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        txs: records,
    })
}

/// See `Report::committed_tps`: with fewer than three blocks, committed over the busy
/// interval.
fn committed_rate(
    found: &[Option<(u64, u32)>],
    seen: &BTreeMap<u64, tokio::time::Instant>,
    first: u64,
    last: u64,
    start: tokio::time::Instant,
    committed: u64,
    busy_s: f64,
) -> f64 {
    let at = |h: u64| seen.get(&h).map(|t| t.saturating_duration_since(start).as_secs_f64());
    match (at(first), at(last.saturating_sub(1))) {
        (Some(a), Some(b)) if last >= first + 2 && b > a => {
            let middle = found.iter().flatten().filter(|(h, code)| *h > first && *h < last && *code == 0).count();
            middle as f64 / (b - a)
        }
        _ if busy_s > 0.0 => committed as f64 / busy_s,
        _ => 0.0,
    }
}
/// CPU time of local processes from /proc (Linux; elsewhere nothing is reported).
/// CPU time from /proc: of processes (by pid, or this one) and of the machine.
pub mod cpu {
    use std::collections::BTreeMap;
    use std::time::Duration;

    /// Clock ticks per second of /proc's CPU times: USER_HZ, 100 on Linux.
    pub const TICKS: f64 = 100.0;

    /// (label, CPU ticks): each watched pid, this process as `loader`, the machine's busy
    /// ticks summed over its cores as `machine`.
    pub fn sample(pids: &[(String, u32)]) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (label, pid) in pids {
            if let Some(t) = process_ticks(&format!("/proc/{pid}/stat")) {
                out.insert(label.clone(), t);
            }
        }
        if let Some(t) = process_ticks("/proc/self/stat") {
            out.insert("loader".into(), t);
        }
        if let Some(t) = machine_busy_ticks() {
            out.insert("machine".into(), t);
        }
        out
    }

    /// utime + stime: fields 14 and 15, counted after the parenthesised command name.
    pub fn process_ticks(path: &str) -> Option<u64> {
        let text = std::fs::read_to_string(path).ok()?;
        let rest: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
        Some(rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?)
    }

    /// All CPU time but idle and iowait, from the `cpu` line of /proc/stat.
    fn machine_busy_ticks() -> Option<u64> {
        let text = std::fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = text.lines().next()?.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
        let total: u64 = fields.iter().take(8).sum();
        Some(total - fields.get(3)? - fields.get(4).copied().unwrap_or(0))
    }

    pub fn cores_used(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>, wall: Duration) -> BTreeMap<String, f64> {
        let secs = wall.as_secs_f64().max(1e-3);
        after
            .iter()
            .filter_map(|(k, a)| Some((k.clone(), (a.saturating_sub(*before.get(k)?)) as f64 / TICKS / secs)))
            .map(|(k, v)| (k, (v * 100.0).round() / 100.0))
            .collect()
    }
}

// ---------------------------------------------------------------- the loader's own ceiling

/// What the loader alone can send: kvstore-sized txs on `lanes` keep-alive connections,
/// unpaced, for `duration`, to an HTTP sink in this process that answers every request
/// as CometBFT answers `broadcast_tx_async` without doing anything. On a shared machine
/// the sink takes some of the CPU the loader would have, so this is a lower bound.
#[derive(Debug, Clone, Serialize)]
pub struct LoaderCeiling {
    pub lanes: usize,
    pub tx_bytes: usize,
    pub duration_s: f64,
    pub sent: u64,
    pub errors: u64,
    pub send_rate: f64,
}

pub async fn loader_ceiling(lanes: usize, duration: Duration) -> Result<LoaderCeiling> {
    if !(1..=256).contains(&lanes) {
        bail!("--connections must be 1..=256 (got {lanes})");
    }
    if duration.is_zero() || duration > Duration::from_secs(60) {
        bail!("--duration must be above 0 and at most 60 seconds");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("binding the sink")?;
    let url = format!("http://{}", listener.local_addr()?);
    let sink = tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(sink_connection(conn));
        }
    });
    let size = transfer_tx_size();
    // Bodies built up front, as in a real run; each lane cycles through its share.
    let per_lane = 2_000usize;
    let bodies: Vec<Vec<u8>> = (0..per_lane as u64).map(|k| request_body(k, &kv_tx("ceiling", k, size), false)).collect();
    let http = reqwest::Client::builder().pool_max_idle_per_host(lanes).tcp_nodelay(true).timeout(Duration::from_secs(10)).build()?;
    let end = tokio::time::Instant::now() + duration;
    let tasks: Vec<_> = (0..lanes)
        .map(|_| {
            let (http, url, bodies) = (http.clone(), url.clone(), bodies.clone());
            tokio::spawn(async move {
                let (mut sent, mut errors) = (0u64, 0u64);
                for body in bodies.iter().cycle() {
                    if tokio::time::Instant::now() >= end {
                        break;
                    }
                    let ok = match http.post(&url).header("content-type", "application/json").body(body.clone()).send().await {
                        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    if ok {
                        sent += 1;
                    } else {
                        errors += 1;
                    }
                }
                (sent, errors)
            })
        })
        .collect();
    let started = tokio::time::Instant::now();
    let (mut sent, mut errors) = (0, 0);
    for t in tasks {
        let (s, e) = t.await?;
        sent += s;
        errors += e;
    }
    let secs = started.elapsed().as_secs_f64();
    sink.abort();
    Ok(LoaderCeiling { lanes, tx_bytes: size, duration_s: secs, sent, errors, send_rate: sent as f64 / secs })
}

/// One keep-alive HTTP/1.1 connection of the sink: read a request (headers, then
/// Content-Length bytes), answer with a fixed broadcast_tx_async result; until EOF.
async fn sink_connection(mut conn: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const BODY: &str = r#"{"jsonrpc":"2.0","id":0,"result":{"code":0,"data":"","log":"","codespace":"","hash":"00"}}"#;
    let answer = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{BODY}", BODY.len());
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    loop {
        // Headers.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let length: usize = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
        while buf.len() < head_end + length {
            match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_end + length);
        if conn.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------- saturation search

#[derive(Debug, Clone)]
pub struct SaturateConfig {
    /// Everything but the rate, which each step sets.
    pub load: LoadConfig,
    pub start_rate: f64,
    /// Each step offers this many times the previous rate.
    pub factor: f64,
    pub max_steps: usize,
    /// A step whose p99 latency exceeds this ends the search.
    pub max_p99_ms: f64,
}

impl SaturateConfig {
    pub fn validate(&self) -> Result<()> {
        Schedule::new(self.start_rate).map_err(|_| anyhow!("--start-rate must be a positive number of tx/s (got {})", self.start_rate))?;
        if !(self.factor.is_finite() && self.factor > 1.0 && self.factor <= 10.0) {
            bail!("--factor must be above 1 and at most 10 (got {})", self.factor);
        }
        if !(1..=30).contains(&self.max_steps) {
            bail!("--max-steps must be 1..=30 (got {})", self.max_steps);
        }
        if self.max_p99_ms.is_nan() || self.max_p99_ms <= 0.0 {
            bail!("--max-p99-ms must be positive (got {})", self.max_p99_ms);
        }
        let mut first = self.load.clone();
        first.rate = self.start_rate;
        first.validate().map(|_| ())
    }
}

/// A step the chain did not keep up with: it committed under 90% of the offered rate,
/// or refused / lost more than 1% of what was sent.
pub fn is_saturated(r: &Report) -> bool {
    let lost = r.send_errors + r.missing + r.failed;
    r.committed_tps < 0.9 * r.rate || lost * 100 > r.planned
}

/// Why the search stops after the last step of `steps`, if it does: latency past the
/// cap, or saturated with committed tx/s no longer rising (under 5% above the best
/// earlier step), or saturated twice in a row.
pub fn stop_reason(steps: &[Report], max_p99_ms: f64) -> Option<String> {
    let last = steps.last()?;
    if last.latency_ms.p99 > max_p99_ms {
        return Some(format!("p99 latency {:.0} ms above {max_p99_ms:.0} ms", last.latency_ms.p99));
    }
    if !is_saturated(last) {
        return None;
    }
    let earlier = &steps[..steps.len() - 1];
    let best = earlier.iter().map(|r| r.committed_tps).fold(0.0, f64::max);
    if !earlier.is_empty() && last.committed_tps < 1.05 * best {
        return Some(format!("committed tx/s stopped rising ({:.0} at {:.0} offered, best {best:.0})", last.committed_tps, last.rate));
    }
    if earlier.last().is_some_and(is_saturated) {
        return Some("saturated twice in a row".into());
    }
    None
}

#[derive(Debug, Clone, Serialize)]
pub struct Saturation {
    pub steps: Vec<Report>,
    pub stop_reason: String,
    /// The best committed tx/s of any step.
    pub saturation_tps: f64,
    pub at_50: Option<Report>,
    pub at_90: Option<Report>,
}

impl Saturation {
    /// The table of every step and the 50% / 90% runs, then the one-line summary.
    pub fn print_text(&self, load: &LoadConfig) {
        println!("{TABLE_HEADER}");
        for (i, r) in self.steps.iter().enumerate() {
            println!("{}", table_row(&(i + 1).to_string(), r));
        }
        for (label, r) in [("50%", &self.at_50), ("90%", &self.at_90)] {
            if let Some(r) = r {
                println!("{}", table_row(label, r));
            }
        }
        println!("saturation: {:.0} tx/s committed ({}; stopped: {})", self.saturation_tps, load.describe(), self.stop_reason);
    }
}

/// Step the rate up until the chain stops keeping up, then measure latency at 50% and
/// 90% of the best committed rate. `progress` sees each report as it is made.
pub async fn saturate(cfg: &SaturateConfig, mut progress: impl FnMut(&str, &Report)) -> Result<Saturation> {
    cfg.validate()?;
    let mut steps: Vec<Report> = Vec::new();
    let mut rate = cfg.start_rate;
    let mut stop = format!("{} steps", cfg.max_steps);
    for _ in 0..cfg.max_steps {
        let mut load = cfg.load.clone();
        load.rate = rate;
        let r = run(&load).await?;
        progress("step", &r);
        steps.push(r);
        if let Some(reason) = stop_reason(&steps, cfg.max_p99_ms) {
            stop = reason;
            break;
        }
        rate *= cfg.factor;
        if load.validate().is_err() || Schedule::new(rate)?.count(load.duration) > MAX_TXS {
            stop = "the next step would exceed the largest run".into();
            break;
        }
    }
    let saturation_tps = steps.iter().map(|r| r.committed_tps).fold(0.0, f64::max);
    let at = |fraction: f64| {
        let mut load = cfg.load.clone();
        load.rate = (saturation_tps * fraction).max(1.0);
        load
    };
    let (l50, l90) = (at(0.5), at(0.9));
    let at_50 = run(&l50).await?;
    progress("50%", &at_50);
    let at_90 = run(&l90).await?;
    progress("90%", &at_90);
    Ok(Saturation { steps, stop_reason: stop, saturation_tps, at_50: Some(at_50), at_90: Some(at_90) })
}

/// One table row: offered rate, sent, committed tx/s, latency, blocks, CPU (cores).
pub fn table_row(label: &str, r: &Report) -> String {
    let cpu: Vec<String> = r.cpu_cores.iter().map(|(k, v)| format!("{k} {v:.2}")).collect();
    format!(
        "{label:<6} {:>8.0} {:>8} {:>7} {:>6} {:>9.1} {:>8.0} {:>8.0} {:>8.0} {:>7.1} {:>7}  {}",
        r.rate,
        r.sent,
        r.send_errors,
        r.missing + r.failed,
        r.committed_tps,
        r.latency_ms.p50,
        r.latency_ms.p95,
        r.latency_ms.p99,
        r.txs_per_block_mean,
        r.mempool_after,
        cpu.join(", ")
    )
}

pub const TABLE_HEADER: &str = "step    offered     sent  errors   lost  commit/s  p50(ms)  p95(ms)  p99(ms) txs/blk mempool  cpu (cores)";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_loader_alone_measures_its_send_rate_against_an_in_process_sink() {
        let c = loader_ceiling(4, Duration::from_millis(500)).await.expect("ceiling");
        assert_eq!(c.errors, 0, "{c:?}");
        assert!(c.sent > 200 && c.send_rate > 400.0, "{c:?}");
        assert!(loader_ceiling(0, Duration::from_secs(1)).await.is_err());
    }

    /// A node that refuses connections and one that accepts but never answers (as a
    /// SIGSTOPped node does): every tx still reaches the live node, each failed attempt
    /// is counted, and nothing waits longer than the send timeout.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lane_fails_over_from_refusing_and_silent_nodes_to_a_live_one() {
        let refused = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let url = format!("http://{}", l.local_addr().expect("addr"));
            drop(l);
            url
        };
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let silent_url = format!("http://{}", silent.local_addr().expect("addr"));
        let live = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let live_url = format!("http://{}", live.local_addr().expect("addr"));
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((c, _)) = silent.accept().await {
                held.push(c); // accepted, never read or answered
            }
        });
        tokio::spawn(async move {
            while let Ok((c, _)) = live.accept().await {
                tokio::spawn(sink_connection(c));
            }
        });
        let urls = Arc::new(vec![refused, silent_url, live_url]);
        let http = reqwest::Client::builder().connect_timeout(Duration::from_millis(300)).build().expect("client");
        let items: Vec<(usize, Vec<u8>)> = (0..20).map(|k| (k, request_body(k as u64, b"k=v", false))).collect();
        for home in 0..3 {
            let health = Arc::new(NodeHealth::new(3));
            let t = Instant::now();
            let timeout = Duration::from_millis(300);
            let start = tokio::time::Instant::now();
            let lanes =
                Lanes { http: http.clone(), urls: urls.clone(), health, start, schedule: Schedule::new(200.0).expect("rate"), timeout };
            let sent = send_lane(lanes, home, items.clone()).await;
            assert_eq!(sent.len(), 20);
            assert!(sent.iter().all(|s| s.error.is_none()), "home {home}: a tx was not sent");
            let failovers: usize = sent.iter().map(|s| s.failovers.len()).sum();
            // The refusing node and the silent one are each tried, then skipped for their backoff.
            let expected = match home {
                2 => 0..=0,
                _ => 1..=4,
            };
            assert!(expected.contains(&failovers), "home {home}: {failovers} failovers");
            assert!(t.elapsed() < Duration::from_secs(3), "home {home}: {:?}", t.elapsed());
        }
    }

    #[test]
    fn percentiles_are_nearest_rank_and_ordered() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!((percentile(&v, 50.0), percentile(&v, 95.0), percentile(&v, 99.0), percentile(&v, 100.0)), (50.0, 95.0, 99.0, 100.0));
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
        // Unsorted input, a long tail.
        let l = Latency::of(vec![900.0, 10.0, 30.0, 20.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0]);
        assert_eq!((l.p50, l.p95, l.p99, l.max), (50.0, 900.0, 900.0, 900.0));
        assert!((l.mean - 135.0).abs() < 1e-9, "{l:?}");
        assert!(l.p50 <= l.p95 && l.p95 <= l.p99 && l.p99 <= l.max);
        assert_eq!(Latency::of(vec![]), Latency::default());
    }

    #[test]
    fn the_schedule_spaces_txs_evenly_and_refuses_a_rate_that_is_not_positive() {
        let s = Schedule::new(200.0).expect("rate");
        assert_eq!(s.due(0), Duration::ZERO);
        assert_eq!(s.due(200), Duration::from_secs(1));
        assert_eq!(s.due(1), Duration::from_millis(5));
        assert_eq!(s.count(Duration::from_secs(5)), 1000);
        assert_eq!(Schedule::new(0.5).expect("rate").count(Duration::from_millis(100)), 1, "at least one tx");
        for bad in [0.0, -3.0, f64::NAN, f64::INFINITY] {
            let e = Schedule::new(bad).expect_err("bad rate accepted");
            assert!(e.to_string().starts_with("--rate must be a positive number"), "{e}");
        }
    }

    #[test]
    fn nodes_parse_as_a_comma_list_of_http_urls_and_bad_ones_say_which() {
        assert_eq!(
            parse_nodes("http://127.0.0.1:26657, tcp://127.0.0.1:26757/").expect("nodes"),
            vec!["http://127.0.0.1:26657".to_string(), "http://127.0.0.1:26757".to_string()]
        );
        for (bad, says) in [
            ("127.0.0.1:26657", "invalid --node \"127.0.0.1:26657\""),
            ("ftp://x:1", "expected http://"),
            ("", "invalid --node"),
            ("http://a:1,,http://b:1", "invalid --node"),
        ] {
            let e = parse_nodes(bad).expect_err(bad).to_string();
            assert!(e.contains(says), "{bad:?}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }

    #[test]
    fn an_unknown_mode_is_one_clear_line() {
        assert_eq!("transfer".parse::<Mode>().expect("mode"), Mode::Transfer);
        assert_eq!("kvstore".parse::<Mode>().expect("mode"), Mode::Kvstore);
        assert_eq!("kv".parse::<Mode>().expect_err("kv").to_string(), "unknown --mode \"kv\": transfer or kvstore");
    }

    #[test]
    fn an_accounts_txs_share_one_lane_and_lanes_cover_every_node() {
        let (accounts, lanes, nodes) = (10u64, 8usize, 4usize);
        for k in 0..200u64 {
            assert_eq!(lane_of(Mode::Transfer, k, accounts, lanes), lane_of(Mode::Transfer, k % accounts, accounts, lanes));
        }
        let used: std::collections::BTreeSet<usize> = (0..accounts).map(|k| lane_of(Mode::Transfer, k, accounts, lanes)).collect();
        assert_eq!(used.len(), lanes);
        let hit: std::collections::BTreeSet<usize> = (0..lanes).map(|l| node_of_lane(l, nodes)).collect();
        assert_eq!(hit.len(), nodes);
        // Consecutive txs go to consecutive nodes.
        let seq: Vec<usize> = (0..4).map(|k| node_of_lane(lane_of(Mode::Kvstore, k, 0, lanes), nodes)).collect();
        assert_eq!(seq, vec![0, 1, 2, 3]);
    }

    #[test]
    fn bench_accounts_are_deterministic_per_seed() {
        let a = account_key("s", 0).address();
        assert_eq!(a, account_key("s", 0).address());
        assert_ne!(a, account_key("s", 1).address());
        assert_ne!(a, account_key("t", 0).address());
        assert!(a.to_string().starts_with("open1"));
    }

    #[test]
    fn kvstore_txs_are_valid_unique_and_sized() {
        let size = transfer_tx_size();
        assert!((150..400).contains(&size), "transfer size {size}");
        let t = kv_tx("load1x", 42, size);
        assert_eq!(t.len(), size);
        assert!(t.starts_with(b"load1x000000042=v"));
        // CometBFT's kvstore: exactly one '=', not first or last, no ':'.
        assert_eq!(t.iter().filter(|b| **b == b'=').count(), 1);
        assert!(!t.contains(&b':') && t[0] != b'=' && t[t.len() - 1] != b'=');
        assert_ne!(kv_tx("p", 1, 10), kv_tx("p", 2, 10));
        assert_eq!(kv_tx("p", 1, 0), b"p000000001=v".to_vec(), "never shorter than the key");
    }

    fn config() -> LoadConfig {
        LoadConfig {
            nodes: vec!["http://127.0.0.1:1".into()],
            rate: 100.0,
            duration: Duration::from_secs(5),
            accounts: 50,
            mode: Mode::Transfer,
            chain_id: None,
            seed: DEFAULT_SEED.into(),
            connections: 4,
            drain_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(20),
            tx_bytes: None,
            cpu_pids: vec![],
            send_timeout: Duration::from_secs(10),
            broadcast_sync: false,
        }
    }

    #[test]
    fn load_settings_are_checked_before_anything_is_sent() {
        assert!(config().validate().is_ok());
        type Change = Box<dyn Fn(&mut LoadConfig)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|c| c.rate = 0.0), "--rate must be a positive"),
            (Box::new(|c| c.duration = Duration::ZERO), "--duration must be"),
            (Box::new(|c| c.accounts = 0), "--accounts must be at least"),
            (Box::new(|c| c.connections = 0), "--connections must be"),
            (Box::new(|c| c.rate = 1e7), "more than one run builds"),
            (Box::new(|c| c.tx_bytes = Some(3)), "--tx-bytes must be"),
        ];
        for (change, says) in cases {
            let mut c = config();
            change(&mut c);
            let e = c.validate().expect_err(says).to_string();
            assert!(e.contains(says), "{says}: {e}");
        }
        let mut c = config();
        c.mode = Mode::Kvstore;
        c.accounts = 0;
        assert!(c.validate().is_ok(), "kvstore needs no accounts");
        assert_eq!(c.lanes(), 4);
        let mut c = config();
        c.accounts = 2;
        assert_eq!(c.lanes(), 2, "never more lanes than accounts");
    }

    fn report(rate: f64, tps: f64, p99: f64) -> Report {
        let sent = (rate * 10.0) as u64;
        Report {
            mode: Mode::Kvstore,
            nodes: vec![],
            chain_id: String::new(),
            rate,
            duration_s: 10.0,
            accounts: 0,
            lanes: 1,
            tx_bytes: 1,
            key_prefix: String::new(),
            build_s: 0.0,
            planned: sent,
            sent,
            send_errors: 0,
            send_error_sample: String::new(),
            send_failovers: 0,
            send_failover_sample: String::new(),
            send_rate: rate,
            send_late_max_ms: 0.0,
            committed: sent,
            failed: 0,
            failed_sample: String::new(),
            missing: 0,
            duplicates: 0,
            committed_tps: tps,
            busy_s: 10.0,
            latency_ms: Latency { p50: p99 / 2.0, p95: p99, p99, max: p99, mean: p99 / 2.0 },
            first_height: 1,
            last_height: 2,
            blocks: 2,
            txs_per_block_mean: 1.0,
            txs_per_block_max: 1,
            mempool_after: 0,
            commit_time: String::new(),
            cpu_cores: BTreeMap::new(),
            machine_cores: 2,
            txs: vec![],
        }
    }

    #[test]
    fn the_search_stops_when_committed_rate_stops_rising_or_latency_explodes() {
        let cap = 10_000.0;
        let keeping_up = report(100.0, 99.0, 1200.0);
        assert!(!is_saturated(&keeping_up));
        assert_eq!(stop_reason(std::slice::from_ref(&keeping_up), cap), None);
        // Behind at 400 offered, but 300 is well above the best so far: keep going.
        let behind = report(400.0, 300.0, 3000.0);
        assert!(is_saturated(&behind));
        assert_eq!(stop_reason(&[keeping_up.clone(), behind.clone()], cap), None);
        // Behind again, no better: stop.
        let flat = report(600.0, 310.0, 5000.0);
        assert!(stop_reason(&[keeping_up.clone(), behind.clone(), flat], cap).expect("stops").contains("stopped rising"));
        // Behind again and still rising: twice saturated in a row stops too.
        let rising = report(600.0, 400.0, 5000.0);
        assert_eq!(stop_reason(&[keeping_up.clone(), behind, rising], cap).as_deref(), Some("saturated twice in a row"));
        // Latency past the cap.
        assert!(stop_reason(&[report(100.0, 99.0, 20_000.0)], cap).expect("stops").contains("p99 latency"));
        // Lost txs count as saturation.
        let mut lossy = keeping_up;
        lossy.send_errors = 20;
        assert!(is_saturated(&lossy));
    }
}

#[cfg(all(test, target_os = "linux"))]
mod cpu_tests {
    use super::*;

    #[test]
    fn cpu_use_of_this_process_and_the_machine_is_read_from_proc() {
        let me = std::process::id();
        let before = cpu::sample(&[("me".into(), me), ("gone".into(), u32::MAX)]);
        assert!(before.contains_key("me") && before.contains_key("loader") && before.contains_key("machine"), "{before:?}");
        assert!(!before.contains_key("gone"), "a pid that does not exist is left out");
        let t = Instant::now();
        let mut x = 0u64;
        while t.elapsed() < Duration::from_millis(300) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let used = cpu::cores_used(&before, &cpu::sample(&[("me".into(), me)]), t.elapsed());
        // The process is this test binary: other tests may run on other threads at the
        // same time, so "me" is at least the busy loop and at most every core.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        assert!(used["me"] > 0.3 && used["me"] <= cores + 0.25, "a busy loop on one thread ({cores} cores): {used:?}");
        assert!(used["machine"] >= used["me"] - 0.2, "{used:?}");
    }
}
