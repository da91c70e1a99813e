//! Node operations: the home directory layout, `init`, `genesis add-account`, `start`
//! and the one-command local chain `dev`.
//!
//! Home layout:
//! ```text
//! DIR/config/app.toml     this node's settings (ABCI, gRPC addresses, min gas price)
//! DIR/data/state/         the chain state (RocksDB via cnidarium)
//! DIR/cometbft/           CometBFT's home (config.toml, genesis.json, keys, block store)
//! DIR/keyring-test/       dev keys (only `dev` writes these)
//! ```
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use openledger_app::app::{App, NodeSettings};
use openledger_app::genesis::{default_auth_params, AppState};
use openledger_framework::amount::parse_coin;
use openledger_framework::Address;
use serde::{Deserialize, Serialize};
use sha2::Digest;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AppConfig {
    pub abci: AbciConfig,
    pub grpc: GrpcConfig,
    pub mempool: MempoolConfig,
    /// Absent from app.toml files written before the block stream: defaults apply.
    #[serde(default)]
    pub stream: StreamConfig,
    /// Older app.toml files have no [cometbft] section: the RPC is then read from the
    /// CometBFT config in the home.
    #[serde(default)]
    pub cometbft: CometbftConfig,
    /// REST (the Cosmos endpoints wallets call and every openledger query).
    #[serde(default)]
    pub api: ApiConfig,
    /// Bounds on the gRPC and REST servers and on CometBFT's `abci_query`.
    #[serde(default)]
    pub rpc: RpcConfig,
    /// How much history this node keeps.
    #[serde(default)]
    pub pruning: PruningConfig,
}

/// `[pruning]`: how much history this node keeps (README "Pruning").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PruningConfig {
    /// Recent blocks kept: CometBFT may prune blocks below the last `keep_blocks` (the
    /// app returns `retain_height` from Commit; never below the evidence window of the
    /// genesis), and the block stream keeps as many records unless `[stream]
    /// retain_blocks` says otherwise; and `start` first deletes the old state versions no
    /// read can reach (`openledgerd prune`). 0 is archive mode: every block and every
    /// state version is kept.
    pub keep_blocks: u64,
}

/// Blocks a node keeps by default: about a day at one block a second, and CometBFT's
/// default evidence window (`evidence.max_age_num_blocks`).
pub const DEFAULT_KEEP_BLOCKS: u64 = 100_000;

impl Default for PruningConfig {
    fn default() -> Self {
        PruningConfig { keep_blocks: DEFAULT_KEEP_BLOCKS }
    }
}

/// `[rpc]`: what one request may cost this node (see the README's "Failure model").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RpcConfig {
    /// A request not answered in this time is cancelled (DEADLINE_EXCEEDED, HTTP 504).
    pub request_timeout_ms: u64,
    /// Requests served at once, gRPC and REST together; more get RESOURCE_EXHAUSTED
    /// (HTTP 503). The block stream is counted by `[stream] max_subscribers` instead.
    pub max_in_flight: usize,
    /// Largest request accepted, in bytes (OUT_OF_RANGE, HTTP 413).
    pub max_request_bytes: usize,
}

impl Default for RpcConfig {
    fn default() -> Self {
        let d = openledger_app::rpc::limits::RpcLimits::default();
        RpcConfig {
            request_timeout_ms: d.request_timeout.as_millis() as u64,
            max_in_flight: d.max_in_flight,
            max_request_bytes: d.max_request_bytes,
        }
    }
}

impl RpcConfig {
    pub fn limits(&self) -> openledger_app::rpc::limits::RpcLimits {
        openledger_app::rpc::limits::RpcLimits {
            request_timeout: std::time::Duration::from_millis(self.request_timeout_ms),
            max_in_flight: self.max_in_flight,
            max_request_bytes: self.max_request_bytes,
        }
    }
}

/// The indexer block stream's log (`openledger.stream.v1.StreamService`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct StreamConfig {
    /// Blocks whose records are kept (the latest N); 0 keeps every block; unset, as many
    /// as `[pruning] keep_blocks`. A request below the lowest kept height fails with
    /// OUT_OF_RANGE naming it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retain_blocks: Option<u64>,
    /// Streams served at once (each holds at most a few MB of records in flight); one
    /// more gets RESOURCE_EXHAUSTED. 0 = no limit.
    pub max_subscribers: u64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig { retain_blocks: None, max_subscribers: 100 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ApiConfig {
    /// Listen address, e.g. "127.0.0.1:1317"; empty: no REST server.
    pub address: String,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig { address: "127.0.0.1:1317".into() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct CometbftConfig {
    /// The RPC of the CometBFT node beside this app (e.g. "http://127.0.0.1:26657"): the
    /// gRPC Cosmos tx and node services broadcast and read blocks through it.
    #[serde(default)]
    pub rpc: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AbciConfig {
    pub address: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GrpcConfig {
    pub address: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MempoolConfig {
    /// Minimum gas price this node accepts into its mempool, e.g. "0.025uopen".
    pub min_gas_price: String,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            abci: AbciConfig { address: DEFAULT_ABCI_ADDRESS.into() },
            grpc: GrpcConfig { address: "127.0.0.1:9090".into() },
            mempool: MempoolConfig { min_gas_price: "0.025uopen".into() },
            stream: StreamConfig::default(),
            cometbft: CometbftConfig { rpc: "http://127.0.0.1:26657".into() },
            api: ApiConfig::default(),
            rpc: RpcConfig::default(),
            pruning: PruningConfig::default(),
        }
    }
}

/// The ABCI server's default address: a Unix socket in the home (only this node's user
/// can open it). `tcp://127.0.0.1:26658` (or `127.0.0.1:26658`) opts into TCP.
pub const DEFAULT_ABCI_ADDRESS: &str = "unix://data/abci.sock";

pub struct Home(pub PathBuf);

impl Home {
    /// An `[abci] address`, a relative Unix socket path resolved in this home (made
    /// absolute: CometBFT's `proxy_app` is read from another directory).
    pub fn abci_addr(&self, address: &str) -> Result<openledger_app::abci::server::AbciAddr> {
        let home = std::path::absolute(&self.0).with_context(|| format!("home {}", self.0.display()))?;
        Ok(openledger_app::abci::server::AbciAddr::parse(address, &home))
    }

    pub fn app_toml(&self) -> PathBuf {
        self.0.join("config/app.toml")
    }
    pub fn state_dir(&self) -> PathBuf {
        self.0.join("data/state")
    }
    pub fn cometbft(&self) -> PathBuf {
        self.0.join("cometbft")
    }
    pub fn genesis(&self) -> PathBuf {
        self.0.join("cometbft/config/genesis.json")
    }
    pub fn cometbft_config(&self) -> PathBuf {
        self.0.join("cometbft/config/config.toml")
    }
    pub fn is_initialised(&self) -> bool {
        self.app_toml().exists() && self.genesis().exists()
    }
    pub fn load_config(&self) -> Result<AppConfig> {
        let text = std::fs::read_to_string(self.app_toml())
            .with_context(|| format!("reading {} (run `openledgerd init` first)", self.app_toml().display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", self.app_toml().display()))
    }
}

/// The `cometbft` binary: $COMETBFT, then PATH, then Go's install directories.
pub fn find_cometbft() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("COMETBFT") {
        return Ok(PathBuf::from(p));
    }
    let mut candidates: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).map(|d| d.join("cometbft")).collect()).unwrap_or_default();
    if let Some(gobin) = std::env::var_os("GOBIN") {
        candidates.push(PathBuf::from(gobin).join("cometbft"));
    }
    if let Some(gopath) = std::env::var_os("GOPATH") {
        candidates.push(PathBuf::from(gopath).join("bin/cometbft"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join("go/bin/cometbft"));
    }
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .context("cometbft not found: run testnet/install-cometbft.sh (or set COMETBFT=/path/to/cometbft)")
}

pub struct InitOptions<'a> {
    pub chain_id: &'a str,
    pub moniker: &'a str,
    /// Account paid this validator's share of fees.
    pub operator: Option<Address>,
    pub config: AppConfig,
    /// CometBFT listen addresses (host:port).
    pub rpc_laddr: &'a str,
    pub p2p_laddr: &'a str,
}

pub fn init(home: &Home, opts: &InitOptions<'_>) -> Result<()> {
    if home.is_initialised() {
        bail!("{} is already initialised", home.0.display());
    }
    if opts.chain_id.is_empty() || opts.chain_id.len() > 50 {
        bail!("--chain-id must be 1 to 50 characters");
    }
    std::fs::create_dir_all(home.0.join("config"))?;
    std::fs::create_dir_all(home.0.join("data"))?;
    let cometbft = find_cometbft()?;
    let out = Command::new(&cometbft)
        .args(["init", "--home"])
        .arg(home.cometbft())
        .output()
        .with_context(|| format!("running {} init", cometbft.display()))?;
    if !out.status.success() {
        bail!("cometbft init failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    configure_cometbft(home, opts)?;

    let mut genesis = read_genesis(home)?;
    genesis["chain_id"] = opts.chain_id.into();
    genesis["consensus_params"]["version"]["app"] = openledger_app::abci::APP_VERSION.to_string().into();
    let mut app_state = AppState::default();
    app_state.auth.params = Some(default_auth_params());
    // The block gas limit is a chain rule (`auth.params.max_block_gas`); InitChain tells
    // CometBFT, and the genesis file says the same so nobody reads -1 (no limit) there.
    genesis["consensus_params"]["block"]["max_gas"] = default_auth_params().max_block_gas.to_string().into();
    app_state.token.params = Some(openledger_token::component::default_params());
    if let Some(op) = opts.operator {
        let key: serde_json::Value = serde_json::from_slice(&std::fs::read(home.cometbft().join("config/priv_validator_key.json"))?)?;
        let cons = key["address"].as_str().context("priv_validator_key.json has no address")?.to_string();
        app_state
            .token
            .validator_accounts
            .push(openledger_proto::openledger::token::v1::ValidatorAccount { consensus_address: cons, operator_address: op.to_string() });
    }
    genesis["app_state"] = serde_json::to_value(&app_state)?;
    write_genesis(home, &genesis)?;
    let mut config = opts.config.clone();
    config.cometbft.rpc = format!("http://{}", opts.rpc_laddr);
    std::fs::write(home.app_toml(), toml::to_string_pretty(&config)?)?;
    Ok(())
}

/// The CometBFT RPC URL: app.toml's `[cometbft] rpc`, else the `rpc.laddr` of the
/// CometBFT config in the home.
fn cometbft_rpc(home: &Home, config: &AppConfig) -> Option<String> {
    if !config.cometbft.rpc.is_empty() {
        return Some(config.cometbft.rpc.clone());
    }
    cometbft_config_rpc(home)
}

/// The RPC URL the CometBFT config in the home listens on (`rpc.laddr`, as http://).
pub fn cometbft_config_rpc(home: &Home) -> Option<String> {
    let cfg: toml::Table = toml::from_str(&std::fs::read_to_string(home.cometbft_config()).ok()?).ok()?;
    let laddr = cfg.get("rpc")?.get("laddr")?.as_str()?;
    Some(laddr.replace("tcp://", "http://"))
}

fn configure_cometbft(home: &Home, opts: &InitOptions<'_>) -> Result<()> {
    let path = home.cometbft_config();
    let mut cfg: toml::Table = toml::from_str(&std::fs::read_to_string(&path)?)?;
    let set = |cfg: &mut toml::Table, section: Option<&str>, key: &str, v: toml::Value| -> Result<()> {
        let table = match section {
            None => cfg,
            Some(s) => cfg.get_mut(s).and_then(|t| t.as_table_mut()).with_context(|| format!("config.toml has no [{s}]"))?,
        };
        table.insert(key.to_string(), v);
        Ok(())
    };
    set(&mut cfg, None, "moniker", opts.moniker.into())?;
    set(&mut cfg, None, "proxy_app", home.abci_addr(&opts.config.abci.address)?.proxy_app().into())?;
    set(&mut cfg, Some("rpc"), "laddr", format!("tcp://{}", opts.rpc_laddr).into())?;
    set(&mut cfg, Some("p2p"), "laddr", format!("tcp://{}", opts.p2p_laddr).into())?;
    // Local networks: several nodes on one host.
    set(&mut cfg, Some("p2p"), "addr_book_strict", false.into())?;
    set(&mut cfg, Some("p2p"), "allow_duplicate_ip", true.into())?;
    // Index every event attribute so `tx_search` finds transactions by them.
    set(&mut cfg, Some("tx_index"), "indexer", "kv".into())?;
    std::fs::write(&path, toml::to_string(&cfg)?)?;
    Ok(())
}

fn read_genesis(home: &Home) -> Result<serde_json::Value> {
    let bytes = std::fs::read(home.genesis()).with_context(|| format!("reading {}", home.genesis().display()))?;
    Ok(serde_json::from_slice(&bytes)?)
}

fn write_genesis(home: &Home, genesis: &serde_json::Value) -> Result<()> {
    let tmp = home.genesis().with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(genesis)?)?;
    std::fs::rename(&tmp, home.genesis())?;
    Ok(())
}

/// `openledgerd genesis add-account DIR ADDR AMOUNT`: fund an account in genesis.
pub fn genesis_add_account(home: &Home, address: &str, amount: &str) -> Result<()> {
    genesis_add_accounts(home, &[(address.to_string(), amount.to_string())])
}

/// `openledgerd genesis add-accounts --file F`: fund many accounts in one read and one
/// write of the genesis (`F` is a JSON list of `{"address", "amount"}`, as `openledger
/// bench accounts -o json` prints). Every entry is checked before anything is written.
pub fn genesis_add_accounts(home: &Home, accounts: &[(String, String)]) -> Result<()> {
    let mut genesis = read_genesis(home)?;
    let mut app_state: AppState = serde_json::from_value(genesis["app_state"].clone()).context("genesis app_state")?;
    let mut known: std::collections::BTreeSet<String> = app_state.token.balances.iter().map(|b| b.address.clone()).collect();
    for (address, amount) in accounts {
        let addr = Address::parse(address).map_err(|e| anyhow::anyhow!("{e}"))?;
        let (amount, denom) = match parse_coin(amount) {
            Ok(c) => c,
            Err(_) => (
                openledger_framework::amount::parse_amount(amount).map_err(|e| anyhow::anyhow!("amount: {e}"))?,
                openledger_token::DENOM.to_string(),
            ),
        };
        if denom != openledger_token::DENOM {
            bail!("unknown denom {denom:?}: this chain's denom is {}", openledger_token::DENOM);
        }
        let addr_s = addr.to_string();
        if !known.insert(addr_s.clone()) {
            bail!("{addr_s} already has a genesis balance");
        }
        app_state
            .auth
            .accounts
            .push(openledger_proto::openledger::auth::v1::GenesisAccount { address: addr_s.clone(), ..Default::default() });
        app_state.token.balances.push(openledger_proto::openledger::token::v1::GenesisBalance {
            address: addr_s,
            coins: vec![openledger_proto::openledger::token::v1::GenesisCoin { denom, amount: amount.to_string() }],
        });
    }
    genesis["app_state"] = serde_json::to_value(&app_state)?;
    write_genesis(home, &genesis)
}

/// `openledgerd genesis add-arbiter ADDR`: name ADDR among the datanet module's
/// arbiters, who alone decide a challenge its curators did not decide in time
/// (without one, an escalated challenge can only expire).
pub fn genesis_add_arbiter(home: &Home, address: &str) -> Result<()> {
    let addr = Address::parse(address).map_err(|e| anyhow::anyhow!("{e}"))?.to_string();
    let mut genesis = read_genesis(home)?;
    let mut app_state: AppState = serde_json::from_value(genesis["app_state"].clone()).context("genesis app_state")?;
    let params = app_state.datanet.params.get_or_insert_with(openledger_datanet::component::default_params);
    if params.arbiters.contains(&addr) {
        bail!("{addr} is already an arbiter");
    }
    params.arbiters.push(addr);
    genesis["app_state"] = serde_json::to_value(&app_state)?;
    write_genesis(home, &genesis)
}

/// The datanet arbiters the home's genesis names.
pub fn genesis_arbiters(home: &Home) -> Result<Vec<String>> {
    let app_state: AppState = serde_json::from_value(read_genesis(home)?["app_state"].clone()).context("genesis app_state")?;
    Ok(app_state.datanet.params.map(|p| p.arbiters).unwrap_or_default())
}

/// What `genesis add-validator` is given: the validator's ed25519 key (base64, or the
/// JSON `cometbft show-validator` prints) or the home holding it, its voting power and
/// the account its share of fees is paid to.
pub struct NewValidator<'a> {
    pub pubkey: Option<&'a str>,
    pub from_home: Option<&'a Path>,
    pub power: &'a str,
    pub operator: &'a str,
    pub moniker: Option<&'a str>,
}

/// CometBFT's bound on the total voting power (MaxTotalVotingPower = MaxInt64 / 8).
const MAX_TOTAL_VOTING_POWER: i64 = i64::MAX / 8;
const ED25519_PUBKEY_TYPE: &str = "tendermint/PubKeyEd25519";

/// `openledgerd genesis add-validator`: add a validator to genesis `validators`
/// (CometBFT's format) and map its consensus address to its operator account in
/// `app_state.token.validator_accounts`. Returns (consensus address, moniker).
pub fn genesis_add_validator(home: &Home, v: &NewValidator<'_>) -> Result<(String, String)> {
    use base64::Engine;
    let (key_b64, home_moniker) = match (v.pubkey, v.from_home) {
        (Some(k), None) => (parse_pubkey_arg(k)?, None),
        (None, Some(other)) => read_validator_key(other)?,
        _ => bail!("give exactly one of --pubkey or --from-home"),
    };
    let key =
        base64::engine::general_purpose::STANDARD.decode(&key_b64).map_err(|e| anyhow::anyhow!("validator key is not base64: {e}"))?;
    let key: [u8; 32] =
        key.as_slice().try_into().map_err(|_| anyhow::anyhow!("validator key has {} bytes; an ed25519 public key has 32", key.len()))?;
    ed25519_consensus::VerificationKey::try_from(key)
        .map_err(|e| anyhow::anyhow!("validator key is not a valid ed25519 public key: {e}"))?;
    let power: i64 =
        v.power.parse().ok().filter(|p| *p > 0).with_context(|| format!("--power must be a positive integer, got {:?}", v.power))?;
    let operator = Address::parse(v.operator).map_err(|e| anyhow::anyhow!("--operator: {e}"))?;
    let moniker = v.moniker.map(str::to_string).or(home_moniker).unwrap_or_else(|| "validator".to_string());
    let address = hex::encode_upper(&sha2::Sha256::digest(key)[..20]);

    let mut genesis = read_genesis(home)?;
    let validators =
        genesis.as_object_mut().context("genesis is not a JSON object")?.entry("validators").or_insert_with(|| serde_json::json!([]));
    let list = validators.as_array_mut().context("genesis validators is not a list")?;
    let mut total = power;
    for existing in list.iter() {
        let a = existing["address"].as_str().unwrap_or_default();
        if a.eq_ignore_ascii_case(&address) || existing["pub_key"]["value"].as_str() == Some(key_b64.as_str()) {
            bail!("validator {address} ({}) is already in genesis", existing["name"].as_str().unwrap_or(""));
        }
        let p: i64 = existing["power"].as_str().and_then(|p| p.parse().ok()).or_else(|| existing["power"].as_i64()).unwrap_or(0);
        total = total.saturating_add(p);
    }
    if total > MAX_TOTAL_VOTING_POWER {
        bail!("--power {power}: the total voting power would exceed CometBFT's limit {MAX_TOTAL_VOTING_POWER}");
    }
    list.push(serde_json::json!({
        "address": address,
        "pub_key": { "type": ED25519_PUBKEY_TYPE, "value": key_b64 },
        "power": power.to_string(),
        "name": moniker,
    }));
    let mut app_state: AppState = serde_json::from_value(genesis["app_state"].clone()).context("genesis app_state")?;
    let accounts = &mut app_state.token.validator_accounts;
    if let Some(dup) = accounts.iter().find(|a| a.consensus_address.eq_ignore_ascii_case(&address)) {
        bail!("validator {address} already has an operator account in genesis ({})", dup.operator_address);
    }
    accounts.push(openledger_proto::openledger::token::v1::ValidatorAccount {
        consensus_address: address.clone(),
        operator_address: operator.to_string(),
    });
    genesis["app_state"] = serde_json::to_value(&app_state)?;
    write_genesis(home, &genesis)?;
    Ok((address, moniker))
}

/// `--pubkey`: base64, or `{"type":"tendermint/PubKeyEd25519","value":"…"}` as
/// `cometbft show-validator` prints it.
fn parse_pubkey_arg(arg: &str) -> Result<String> {
    let arg = arg.trim();
    if !arg.starts_with('{') {
        return Ok(arg.to_string());
    }
    let v: serde_json::Value = serde_json::from_str(arg).context("--pubkey is neither base64 nor JSON")?;
    let ty = v["type"].as_str().unwrap_or_default();
    if ty != ED25519_PUBKEY_TYPE {
        bail!("--pubkey has type {ty:?}; validators here use {ED25519_PUBKEY_TYPE}");
    }
    v["value"].as_str().map(str::to_string).context("--pubkey JSON has no \"value\"")
}

/// The validator key and moniker of another home (an openledgerd home or a CometBFT one).
fn read_validator_key(other: &Path) -> Result<(String, Option<String>)> {
    let cometbft_home = if other.join("cometbft/config").is_dir() { other.join("cometbft") } else { other.to_path_buf() };
    let key_path = cometbft_home.join("config/priv_validator_key.json");
    let text = std::fs::read_to_string(&key_path).with_context(|| format!("--from-home: reading {}", key_path.display()))?;
    let key: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("parsing {}", key_path.display()))?;
    let value = parse_pubkey_arg(&key["pub_key"].to_string()).with_context(|| format!("the key in {}", key_path.display()))?;
    let moniker = std::fs::read_to_string(cometbft_home.join("config/config.toml"))
        .ok()
        .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
        .and_then(|c| c.get("moniker")?.as_str().map(str::to_string));
    Ok((value, moniker))
}

/// `openledgerd config set`: set existing keys of this home's CometBFT config.toml
/// (`section.key=value`, or `key=value` at the top), each value parsed as the type the
/// key already has. An unknown key is refused, so a typo never silently does nothing.
pub fn cometbft_config_set(home: &Home, assignments: &[String]) -> Result<()> {
    let path = home.cometbft_config();
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {} (run `openledgerd init` first)", path.display()))?;
    let mut cfg: toml::Table = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    for a in assignments {
        let (key, raw) = a.split_once('=').with_context(|| format!("{a:?}: expected KEY=VALUE"))?;
        let mut parts: Vec<&str> = key.split('.').collect();
        let last = parts.pop().unwrap_or_default();
        let mut table = &mut cfg;
        for p in &parts {
            table = table.get_mut(*p).and_then(|t| t.as_table_mut()).with_context(|| format!("config.toml has no section [{p}]"))?;
        }
        let old = table.get(last).with_context(|| format!("config.toml has no key {key:?}"))?;
        let new = match old {
            toml::Value::Boolean(_) => toml::Value::Boolean(raw.parse().map_err(|_| anyhow::anyhow!("{key} is a boolean; got {raw:?}"))?),
            toml::Value::Integer(_) => toml::Value::Integer(raw.parse().map_err(|_| anyhow::anyhow!("{key} is an integer; got {raw:?}"))?),
            toml::Value::String(_) => toml::Value::String(raw.to_string()),
            _ => bail!("{key} is not a string, integer or boolean: edit it with a TOML tool"),
        };
        table.insert(last.to_string(), new);
    }
    std::fs::write(&path, toml::to_string(&cfg)?)?;
    Ok(())
}

/// `openledgerd genesis set`: set an existing `consensus_params.…` value of this home's
/// genesis (CometBFT writes them as strings or numbers; the type is kept). App state
/// has its own commands (add-account, add-validator).
pub fn genesis_set(home: &Home, assignments: &[String]) -> Result<()> {
    let mut genesis = read_genesis(home)?;
    for a in assignments {
        let (key, raw) = a.split_once('=').with_context(|| format!("{a:?}: expected KEY=VALUE"))?;
        if !key.starts_with("consensus_params.") {
            bail!("{key}: only consensus_params.… can be set this way");
        }
        let mut v = &mut genesis;
        for p in key.split('.') {
            v = v.get_mut(p).with_context(|| format!("genesis has no {key}"))?;
        }
        *v = match v {
            serde_json::Value::String(_) => {
                raw.parse::<i64>().map_err(|_| anyhow::anyhow!("{key} is a number; got {raw:?}"))?;
                serde_json::Value::String(raw.to_string())
            }
            serde_json::Value::Number(_) => {
                serde_json::Value::Number(raw.parse::<i64>().map_err(|_| anyhow::anyhow!("{key} is a number; got {raw:?}"))?.into())
            }
            serde_json::Value::Bool(_) => {
                serde_json::Value::Bool(raw.parse().map_err(|_| anyhow::anyhow!("{key} is a boolean; got {raw:?}"))?)
            }
            _ => bail!("{key} is not a number or boolean"),
        };
    }
    write_genesis(home, &genesis)
}

/// `openledgerd export`: the genesis of a new chain holding the committed state of this
/// home at `height` (default: the latest). The node must be stopped — RocksDB allows
/// one process per store, and a stopped store is a consistent snapshot by construction.
pub async fn export(home: &Home, height: Option<u64>, new_chain_id: &str) -> Result<serde_json::Value> {
    if !home.genesis().is_file() {
        bail!("{} is not an openledgerd home: {} is missing", home.0.display(), home.genesis().display());
    }
    let base = read_genesis(home)?;
    let state_dir = home.state_dir();
    if !state_dir.join("CURRENT").is_file() {
        bail!("{} holds no chain state yet (the node has never committed a block)", state_dir.display());
    }
    let storage = open_storage_quietly(state_dir.clone()).await?;
    let result = openledger_app::export::genesis_doc(&storage, height, &base, new_chain_id).await;
    storage.release().await;
    result
}

/// `openledgerd prune`, and `start` before it opens the store: delete the state versions
/// no read can reach (`openledger_app::prune`). Says what it did.
pub fn prune_state(home: &Home) -> Result<String> {
    let dir = home.state_dir();
    if !dir.join("CURRENT").is_file() {
        return Ok(format!("{} holds no state yet: nothing to prune", dir.display()));
    }
    let before = dir_bytes(&dir);
    let started = std::time::Instant::now();
    let r = openledger_app::prune::prune_state_versions(&dir)?;
    let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
    Ok(format!(
        "pruned old state versions in {:.1} s: {} of {} tree nodes and {} of {} values deleted; {} {:.1} MiB -> {:.1} MiB",
        started.elapsed().as_secs_f64(),
        r.nodes_deleted,
        r.nodes_deleted + r.nodes_kept,
        r.values_deleted,
        r.values_deleted + r.values_kept,
        dir.display(),
        mib(before),
        mib(dir_bytes(&dir))
    ))
}

/// The bytes of the files under `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Open the store, turning cnidarium's panic on a locked RocksDB into an error that says
/// what to do.
async fn open_storage_quietly(dir: PathBuf) -> Result<cnidarium::Storage> {
    let opened = crate::failstop::expecting_panics(openledger_app::open_storage(dir.clone())).await;
    opened.map_err(|e| {
        if format!("{e:#}").contains("lock") {
            anyhow::anyhow!(
                "the state store {} is in use: stop this node's openledgerd first (export reads a stopped node's store)",
                dir.display()
            )
        } else {
            anyhow::anyhow!("opening {}: {e:#}", dir.display())
        }
    })
}

/// Read an `add-accounts` file: `[{"address": "open1…", "amount": "1000uopen"}, …]`.
pub fn read_accounts_file(path: &Path) -> Result<Vec<(String, String)>> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        address: String,
        amount: String,
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let entries: Vec<Entry> = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: expected a JSON list of {{\"address\", \"amount\"}}", path.display()))?;
    Ok(entries.into_iter().map(|e| (e.address, e.amount)).collect())
}

/// A running node: ABCI on a thread per CometBFT connection, gRPC and REST on the
/// app's low-priority RPC runtime.
pub struct RunningNode {
    pub app: App,
    pub abci_addr: String,
    pub grpc_addr: SocketAddr,
    pub api_addr: Option<SocketAddr>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    grpc_task: Option<tokio::task::JoinHandle<Result<()>>>,
    api_shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    api_task: Option<tokio::task::JoinHandle<Result<()>>>,
}

impl RunningNode {
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(tx) = self.api_shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut t) = self.grpc_task.take() {
            // The graceful shutdown waits for open streams; a block-stream client that
            // stopped reading never lets its stream finish. Give up on it after a while.
            if tokio::time::timeout(std::time::Duration::from_secs(5), &mut t).await.is_err() {
                tracing::warn!("gRPC server still had open streams after 5 s; closing them");
                t.abort();
            }
        }
        if let Some(t) = self.api_task.take() {
            let _ = t.await;
        }
        // What the RPC threads are still reading finishes before the process exits.
        let app = self.app.clone();
        let _ = tokio::task::spawn_blocking(move || app.stop_rpc(std::time::Duration::from_secs(5))).await;
    }
}

/// The blocks CometBFT keeps: `[pruning] keep_blocks`, but never fewer than the
/// genesis evidence window (a validator must keep what evidence may still name); 0 keeps
/// every block.
fn cometbft_retain_blocks(home: &Home, keep_blocks: u64) -> Result<u64> {
    if keep_blocks == 0 {
        return Ok(0);
    }
    let genesis = read_genesis(home)?;
    let window = &genesis["consensus_params"]["evidence"]["max_age_num_blocks"];
    let window = window.as_str().and_then(|s| s.parse().ok()).or(window.as_u64()).unwrap_or(DEFAULT_KEEP_BLOCKS);
    if keep_blocks < window {
        tracing::warn!("[pruning] keep_blocks = {keep_blocks} is below the evidence window of {window} blocks: keeping {window}");
    }
    Ok(keep_blocks.max(window))
}

pub async fn start(home: &Home, config: &AppConfig) -> Result<RunningNode> {
    let settings = NodeSettings {
        min_gas_price_atto: openledger_framework::amount::parse_gas_price(&config.mempool.min_gas_price, openledger_token::DENOM)
            .map_err(|e| anyhow::anyhow!("min_gas_price: {e}"))?,
        stream_retain_blocks: config.stream.retain_blocks.unwrap_or(config.pruning.keep_blocks),
        retain_blocks: cometbft_retain_blocks(home, config.pruning.keep_blocks)?,
        stream_max_subscribers: config.stream.max_subscribers,
        no_memory_index: false,
        no_caches: false,
        rpc: config.rpc.limits(),
        failpoints: match std::env::var("OPENLEDGER_FAILPOINTS") {
            Ok(spec) => {
                let armed = openledger_app::failpoint::parse(&spec).map_err(|e| anyhow::anyhow!("OPENLEDGER_FAILPOINTS: {e}"))?;
                tracing::warn!("fault injection armed (OPENLEDGER_FAILPOINTS={spec}): this node will fail on purpose");
                armed
            }
            Err(_) => vec![],
        },
    };
    std::fs::create_dir_all(home.state_dir())?;
    if config.pruning.keep_blocks != 0 {
        let home = Home(home.0.clone());
        // A failure deletes nothing a read needs (see prune.rs): start without it.
        match tokio::task::spawn_blocking(move || prune_state(&home)).await? {
            Ok(pruned) => tracing::info!("{pruned}"),
            Err(e) => tracing::warn!("old state versions not pruned: {e:#}"),
        }
    }
    let storage = openledger_app::open_storage(home.state_dir()).await.context("opening the state store")?;
    let app = App::new(storage, tokio::runtime::Handle::current(), settings);

    let abci = home.abci_addr(&config.abci.address)?;
    let listener =
        openledger_app::abci::server::Listener::bind(&abci).map_err(|e| anyhow::anyhow!("binding ABCI on {}: {e}", abci.proxy_app()))?;
    let abci_addr = listener.address()?;
    let abci_app = app.clone();
    std::thread::Builder::new().name("abci-listener".into()).spawn(move || {
        if let Err(e) = openledger_app::abci::server::serve(listener, abci_app) {
            tracing::error!("ABCI server stopped: {e}");
        }
    })?;

    let grpc_addr: SocketAddr = config.grpc.address.parse().with_context(|| format!("grpc address {:?}", config.grpc.address))?;
    // Bind first so a port clash is reported now, not in the background.
    std::net::TcpListener::bind(grpc_addr).with_context(|| format!("binding gRPC on {grpc_addr}"))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let rpc = cometbft_rpc(home, config);
    // The public servers run on the app's low-priority runtime (rpc/runtime.rs).
    let rpc_runtime = app.rpc_runtime().clone();
    let grpc_task = rpc_runtime.spawn(openledger_app::rpc::grpc::serve_with(app.clone(), grpc_addr, rpc.clone(), async {
        let _ = rx.await;
    }));
    let (mut api_addr, mut api_shutdown, mut api_task) = (None, None, None);
    if !config.api.address.is_empty() {
        let addr: SocketAddr = config.api.address.parse().with_context(|| format!("api address {:?}", config.api.address))?;
        std::net::TcpListener::bind(addr).with_context(|| format!("binding REST on {addr}"))?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        api_task = Some(rpc_runtime.spawn(openledger_app::rpc::rest::serve(app.clone(), addr, rpc, async {
            let _ = rx.await;
        })));
        (api_addr, api_shutdown) = (Some(addr), Some(tx));
    }
    Ok(RunningNode { app, abci_addr, grpc_addr, api_addr, shutdown: Some(tx), grpc_task: Some(grpc_task), api_shutdown, api_task })
}

pub fn home_or_default(home: Option<PathBuf>, default_name: &str) -> PathBuf {
    home.unwrap_or_else(|| {
        let base = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
        base.join(default_name)
    })
}

pub fn ensure_dir(p: &Path) -> Result<()> {
    std::fs::create_dir_all(p).with_context(|| format!("creating {}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key and address `cometbft init` (v0.38) wrote.
    const COMETBFT_KEY: &str = "Os8tZ5OVzdjpUMFuHPCe/Dqfh3KqmV5sagKDd2xOKJ8=";
    const COMETBFT_ADDRESS: &str = "2A763354DF9E25BEA3F6C6CB8C3D052D593486FB";
    const OPERATOR: &str = "open1e8atc4666zpehz4rjzfyh0926s86968055qqmp";

    fn home_with_genesis(validators: serde_json::Value) -> (tempfile::TempDir, Home) {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = Home(dir.path().to_path_buf());
        std::fs::create_dir_all(home.genesis().parent().expect("parent")).expect("mkdir");
        let genesis = serde_json::json!({
            "chain_id": "t", "validators": validators,
            "consensus_params": { "block": { "max_bytes": "22020096", "max_gas": "1000000000" } },
            "app_state": serde_json::to_value(AppState::default()).expect("json"),
        });
        write_genesis(&home, &genesis).expect("write");
        (dir, home)
    }

    fn add(home: &Home, pubkey: &str, power: &str, operator: &str) -> Result<(String, String)> {
        genesis_add_validator(home, &NewValidator { pubkey: Some(pubkey), from_home: None, power, operator, moniker: Some("v") })
    }

    #[test]
    fn add_validator_writes_cometbft_validators_and_the_operator_mapping() {
        let (_d, home) = home_with_genesis(serde_json::json!([]));
        let shown = format!("{{\"type\":\"tendermint/PubKeyEd25519\",\"value\":\"{COMETBFT_KEY}\"}}");
        assert_eq!(add(&home, &shown, "7", OPERATOR).expect("added"), (COMETBFT_ADDRESS.to_string(), "v".to_string()));
        let g = read_genesis(&home).expect("genesis");
        assert_eq!(
            g["validators"],
            serde_json::json!([{ "address": COMETBFT_ADDRESS, "pub_key": { "type": "tendermint/PubKeyEd25519", "value": COMETBFT_KEY }, "power": "7", "name": "v" }])
        );
        let st: AppState = serde_json::from_value(g["app_state"].clone()).expect("app_state");
        assert_eq!(st.token.validator_accounts[0].consensus_address, COMETBFT_ADDRESS);
        assert_eq!(st.token.validator_accounts[0].operator_address, OPERATOR);
        // Refusals, each naming what is wrong; genesis unchanged by them.
        let cases = [
            (COMETBFT_KEY, "7", OPERATOR, "already in genesis"),
            ("not base64!", "7", OPERATOR, "not base64"),
            ("AAAA", "7", OPERATOR, "has 3 bytes"),
            ("AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "7", OPERATOR, "not a valid ed25519 public key"),
            ("Os8tZ5OVzdjpUMFuHPCe/Dqfh3KqmV5sagKDd2xOKJ8=", "0", OPERATOR, "positive integer"),
            ("{\"type\":\"tendermint/PubKeySecp256k1\",\"value\":\"AAAA\"}", "1", OPERATOR, "PubKeyEd25519"),
            ("xT3tKK+L9hChbu0toe1uJP53VCBFvFjr3ewUT4AAzG8=", "x", OPERATOR, "positive integer"),
            ("xT3tKK+L9hChbu0toe1uJP53VCBFvFjr3ewUT4AAzG8=", "1", "open1xyz", "--operator"),
            ("xT3tKK+L9hChbu0toe1uJP53VCBFvFjr3ewUT4AAzG8=", &(i64::MAX / 8).to_string(), OPERATOR, "total voting power"),
        ];
        for (key, power, op, needle) in cases {
            let e = add(&home, key, power, op).expect_err(needle);
            assert!(format!("{e:#}").contains(needle), "{key} {power} {op}: {e:#}");
        }
        assert_eq!(read_genesis(&home).expect("genesis"), g);
        // An operator mapping without a validator entry (as `init --operator` writes) is a duplicate too.
        let (_d2, home2) = home_with_genesis(serde_json::json!([]));
        let mut g2 = read_genesis(&home2).expect("genesis");
        let mut st2 = AppState::default();
        st2.token.validator_accounts.push(openledger_proto::openledger::token::v1::ValidatorAccount {
            consensus_address: COMETBFT_ADDRESS.into(),
            operator_address: OPERATOR.into(),
        });
        g2["app_state"] = serde_json::to_value(&st2).expect("json");
        write_genesis(&home2, &g2).expect("write");
        let e = add(&home2, COMETBFT_KEY, "1", OPERATOR).expect_err("dup operator");
        assert!(format!("{e:#}").contains("already has an operator account"), "{e:#}");
    }

    #[test]
    fn genesis_set_and_config_set_change_existing_keys_only() {
        let (_d, home) = home_with_genesis(serde_json::json!([]));
        genesis_set(&home, &["consensus_params.block.max_bytes=1048576".into()]).expect("set");
        assert_eq!(read_genesis(&home).expect("genesis")["consensus_params"]["block"]["max_bytes"], "1048576");
        for (a, needle) in [
            ("consensus_params.block.nope=1", "has no"),
            ("chain_id=x", "only consensus_params"),
            ("consensus_params.block.max_bytes=big", "is a number"),
        ] {
            let e = genesis_set(&home, &[a.into()]).expect_err(a);
            assert!(format!("{e:#}").contains(needle), "{a}: {e:#}");
        }
        std::fs::write(
            home.cometbft_config(),
            "moniker = \"n\"\n[consensus]\ntimeout_commit = \"1s\"\ncreate_empty_blocks = true\n[mempool]\nsize = 5000\n",
        )
        .expect("write");
        cometbft_config_set(
            &home,
            &["consensus.timeout_commit=500ms".into(), "mempool.size=10000".into(), "consensus.create_empty_blocks=false".into()],
        )
        .expect("set");
        let cfg: toml::Table = toml::from_str(&std::fs::read_to_string(home.cometbft_config()).expect("read")).expect("toml");
        assert_eq!(cfg["consensus"]["timeout_commit"].as_str(), Some("500ms"));
        assert_eq!(cfg["mempool"]["size"].as_integer(), Some(10000));
        assert_eq!(cfg["consensus"]["create_empty_blocks"].as_bool(), Some(false));
        for (a, needle) in [
            ("consensus.timeout_comit=1s", "no key"),
            ("nosuch.key=1", "no section"),
            ("mempool.size=many", "integer"),
            ("moniker", "KEY=VALUE"),
        ] {
            let e = cometbft_config_set(&home, &[a.into()]).expect_err(a);
            assert!(format!("{e:#}").contains(needle), "{a}: {e:#}");
        }
    }

    #[test]
    fn app_toml_without_a_stream_section_still_loads() {
        let old =
            "[abci]\naddress = \"127.0.0.1:26658\"\n[grpc]\naddress = \"127.0.0.1:9090\"\n[mempool]\nmin_gas_price = \"0.025uopen\"\n";
        let c: AppConfig = toml::from_str(old).expect("old app.toml parses");
        assert_eq!(c.stream, StreamConfig { retain_blocks: None, max_subscribers: 100 });
        assert_eq!(c.pruning.keep_blocks, DEFAULT_KEEP_BLOCKS, "an old app.toml gets the pruning defaults");
        let written = toml::to_string_pretty(&AppConfig::default()).expect("serialises");
        assert!(written.contains("[pruning]") && written.contains("keep_blocks = 100000"), "{written}");
        assert!(!written.contains("retain_blocks"), "the stream follows [pruning] unless set: {written}");
        let custom: AppConfig = toml::from_str(&format!("{old}[stream]\nretain_blocks = 10\n")).expect("parses");
        assert_eq!(custom.stream, StreamConfig { retain_blocks: Some(10), max_subscribers: 100 });
        let archive: AppConfig = toml::from_str(&format!("{old}[pruning]\nkeep_blocks = 0\n")).expect("parses");
        assert_eq!(archive.pruning.keep_blocks, 0);
    }

    #[test]
    fn genesis_add_accounts_funds_a_list_in_one_write_and_refuses_bad_entries_before_writing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = Home(dir.path().to_path_buf());
        std::fs::create_dir_all(home.genesis().parent().expect("config dir")).expect("mkdir");
        let genesis = serde_json::json!({"chain_id": "t", "app_state": serde_json::to_value(AppState::default()).expect("app state")});
        write_genesis(&home, &genesis).expect("write");
        let addr = |i: u8| Address::from_secp256k1_pubkey(&[2, i, i, i]).to_string();
        let file = dir.path().join("accounts.json");
        let list = serde_json::json!([{"address": addr(1), "amount": "10uopen"}, {"address": addr(2), "amount": "20"}]);
        std::fs::write(&file, list.to_string()).expect("write list");
        genesis_add_accounts(&home, &read_accounts_file(&file).expect("read list")).expect("add");
        let state: AppState = serde_json::from_value(read_genesis(&home).expect("read")["app_state"].clone()).expect("app state");
        let balances: Vec<(String, String)> = state.token.balances.iter().map(|b| (b.address.clone(), b.coins[0].amount.clone())).collect();
        assert_eq!(balances, vec![(addr(1), "10".to_string()), (addr(2), "20".to_string())]);
        assert_eq!(state.auth.accounts.len(), 2);

        // A duplicate (already in genesis, or twice in the list) or a bad entry anywhere:
        // nothing is written.
        let before = std::fs::read(home.genesis()).expect("genesis");
        for bad in [
            vec![(addr(3), "1uopen".to_string()), (addr(1), "1uopen".to_string())],
            vec![(addr(3), "1uopen".to_string()), (addr(3), "1uopen".to_string())],
            vec![(addr(3), "1uopen".to_string()), ("open1xyz".to_string(), "1uopen".to_string())],
            vec![(addr(3), "1stake".to_string())],
        ] {
            assert!(genesis_add_accounts(&home, &bad).is_err(), "{bad:?} accepted");
            assert_eq!(std::fs::read(home.genesis()).expect("genesis"), before, "{bad:?} changed the genesis");
        }
        std::fs::write(&file, r#"[{"address": "x"}]"#).expect("write");
        let e = read_accounts_file(&file).expect_err("missing amount");
        assert!(format!("{e:#}").contains("expected a JSON list"), "{e:#}");
    }
    #[test]
    fn genesis_add_arbiter_names_canonical_addresses_once_and_keeps_the_other_params() {
        let (_d, home) = home_with_genesis(serde_json::json!([]));
        let addr = |i: u8| Address::from_secp256k1_pubkey(&[3, i, i, i]).to_string();
        genesis_add_arbiter(&home, &addr(1)).expect("first");
        genesis_add_arbiter(&home, &addr(2)).expect("second");
        let state: AppState = serde_json::from_value(read_genesis(&home).expect("read")["app_state"].clone()).expect("app state");
        let params = state.datanet.params.expect("params written");
        assert_eq!(params.arbiters, vec![addr(1), addr(2)]);
        assert_eq!(genesis_arbiters(&home).expect("arbiters"), vec![addr(1), addr(2)]);
        let defaults = openledger_datanet::component::default_params();
        assert_eq!(openledger_proto::openledger::datanet::v1::Params { arbiters: vec![], ..params }, defaults, "only arbiters changed");
        let before = std::fs::read(home.genesis()).expect("genesis");
        for (bad, needle) in [(addr(1), "already an arbiter"), ("open1xyz".to_string(), "")] {
            let e = genesis_add_arbiter(&home, &bad).expect_err(&bad);
            assert!(format!("{e:#}").contains(needle), "{bad}: {e:#}");
            assert_eq!(std::fs::read(home.genesis()).expect("genesis"), before, "{bad} changed the genesis");
        }
    }
}
