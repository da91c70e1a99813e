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
use openledger_framework::amount::parse_coin;
use openledger_framework::Address;
use serde::{Deserialize, Serialize};

use crate::app::{App, NodeSettings};
use crate::genesis::{default_auth_params, AppState};

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
}

/// The indexer block stream's log (`openledger.stream.v1.StreamService`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct StreamConfig {
    /// Blocks whose records are kept (the latest N); 0 keeps every block, as CometBFT's
    /// block store does by default. A request below the lowest kept height fails with
    /// OUT_OF_RANGE naming it.
    pub retain_blocks: u64,
    /// Streams served at once (each holds at most a few MB of records in flight); one
    /// more gets RESOURCE_EXHAUSTED. 0 = no limit.
    pub max_subscribers: u64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig { retain_blocks: 0, max_subscribers: 100 }
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
            abci: AbciConfig { address: "127.0.0.1:26658".into() },
            grpc: GrpcConfig { address: "127.0.0.1:9090".into() },
            mempool: MempoolConfig { min_gas_price: "0.025uopen".into() },
            stream: StreamConfig::default(),
            cometbft: CometbftConfig { rpc: "http://127.0.0.1:26657".into() },
            api: ApiConfig::default(),
        }
    }
}

pub struct Home(pub PathBuf);

impl Home {
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
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("cometbft")).collect())
        .unwrap_or_default();
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
    genesis["consensus_params"]["version"]["app"] = crate::abci::APP_VERSION.to_string().into();
    let mut app_state = AppState::default();
    app_state.auth.params = Some(default_auth_params());
    app_state.token.params = Some(openledger_token::component::default_params());
    if let Some(op) = opts.operator {
        let key: serde_json::Value = serde_json::from_slice(&std::fs::read(home.cometbft().join("config/priv_validator_key.json"))?)?;
        let cons = key["address"].as_str().context("priv_validator_key.json has no address")?.to_string();
        app_state.token.validator_accounts.push(openledger_proto::openledger::token::v1::ValidatorAccount {
            consensus_address: cons,
            operator_address: op.to_string(),
        });
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
    set(&mut cfg, None, "proxy_app", format!("tcp://{}", opts.config.abci.address).into())?;
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
            Err(_) => (openledger_framework::amount::parse_amount(amount).map_err(|e| anyhow::anyhow!("amount: {e}"))?, openledger_token::DENOM.to_string()),
        };
        if denom != openledger_token::DENOM {
            bail!("unknown denom {denom:?}: this chain's denom is {}", openledger_token::DENOM);
        }
        let addr_s = addr.to_string();
        if !known.insert(addr_s.clone()) {
            bail!("{addr_s} already has a genesis balance");
        }
        app_state.auth.accounts.push(openledger_proto::openledger::auth::v1::GenesisAccount { address: addr_s.clone() });
        app_state.token.balances.push(openledger_proto::openledger::token::v1::GenesisBalance {
            address: addr_s,
            coins: vec![openledger_proto::openledger::token::v1::GenesisCoin { denom, amount: amount.to_string() }],
        });
    }
    genesis["app_state"] = serde_json::to_value(&app_state)?;
    write_genesis(home, &genesis)
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
    let entries: Vec<Entry> =
        serde_json::from_slice(&bytes).with_context(|| format!("{}: expected a JSON list of {{\"address\", \"amount\"}}", path.display()))?;
    Ok(entries.into_iter().map(|e| (e.address, e.amount)).collect())
}

/// A running node: ABCI on a thread per CometBFT connection, gRPC on tokio.
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
    }
}

pub async fn start(home: &Home, config: &AppConfig) -> Result<RunningNode> {
    let settings = NodeSettings {
        min_gas_price_atto: openledger_framework::amount::parse_gas_price(&config.mempool.min_gas_price, openledger_token::DENOM).map_err(|e| anyhow::anyhow!("min_gas_price: {e}"))?,
        stream_retain_blocks: config.stream.retain_blocks,
        stream_max_subscribers: config.stream.max_subscribers,
    };
    std::fs::create_dir_all(home.state_dir())?;
    let storage = crate::open_storage(home.state_dir()).await.context("opening the state store")?;
    let app = App::new(storage, tokio::runtime::Handle::current(), settings);

    let server = tendermint_abci::ServerBuilder::new(4 * 1024 * 1024)
        .bind(config.abci.address.as_str(), app.clone())
        .map_err(|e| anyhow::anyhow!("binding ABCI on {}: {e}", config.abci.address))?;
    let abci_addr = server.local_addr();
    std::thread::Builder::new().name("abci-listener".into()).spawn(move || {
        if let Err(e) = server.listen() {
            tracing::error!("ABCI server stopped: {e}");
        }
    })?;

    let grpc_addr: SocketAddr = config.grpc.address.parse().with_context(|| format!("grpc address {:?}", config.grpc.address))?;
    // Bind first so a port clash is reported now, not in the background.
    std::net::TcpListener::bind(grpc_addr).with_context(|| format!("binding gRPC on {grpc_addr}"))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let rpc = cometbft_rpc(home, config);
    let grpc_task = tokio::spawn(crate::grpc::serve_with(app.clone(), grpc_addr, rpc.clone(), async {
        let _ = rx.await;
    }));
    let (mut api_addr, mut api_shutdown, mut api_task) = (None, None, None);
    if !config.api.address.is_empty() {
        let addr: SocketAddr = config.api.address.parse().with_context(|| format!("api address {:?}", config.api.address))?;
        std::net::TcpListener::bind(addr).with_context(|| format!("binding REST on {addr}"))?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        api_task = Some(tokio::spawn(crate::rest::serve(app.clone(), addr, rpc, async {
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

    #[test]
    fn app_toml_without_a_stream_section_still_loads() {
        let old = "[abci]\naddress = \"127.0.0.1:26658\"\n[grpc]\naddress = \"127.0.0.1:9090\"\n[mempool]\nmin_gas_price = \"0.025uopen\"\n";
        let c: AppConfig = toml::from_str(old).expect("old app.toml parses");
        assert_eq!(c.stream, StreamConfig { retain_blocks: 0, max_subscribers: 100 });
        let written = toml::to_string_pretty(&AppConfig::default()).expect("serialises");
        assert!(written.contains("[stream]") && written.contains("retain_blocks = 0"), "{written}");
        let custom: AppConfig = toml::from_str(&format!("{old}[stream]\nretain_blocks = 10\n")).expect("parses");
        assert_eq!(custom.stream, StreamConfig { retain_blocks: 10, max_subscribers: 100 });
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
}
