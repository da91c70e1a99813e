//! The application's state: its storage, the block staged between FinalizeBlock and
//! Commit, the mempool's bookkeeping and the node-local caches; genesis, the committed
//! height and hash Info reports, simulation and the snapshots queries read. How a block
//! executes is `exec`; how CheckTx answers is `mempool`.
//!
//! FinalizeBlock executes a block into a `StateDelta` and computes the app hash with
//! `prepare_commit`, writing nothing; Commit writes the staged batch atomically. So a
//! crash at any point leaves the store at the last committed height, which Info reports,
//! and CometBFT's handshake replays the rest.
use std::sync::{Arc, Mutex};

use cnidarium::{Snapshot, StagedWriteBatch, StateDelta, StateRead, StateWrite, Storage};
use openledger_auth::AuthRead;
use openledger_framework::{sdk, ChainError, ExecMode, QueryError};

use crate::exec::perf::prefetch::{self, HotUpdates};
use crate::exec::perf::replica;
use crate::exec::perf::sigverify;
use crate::exec::pipeline::{execute_tx, TxEnv, TxOutcome};
use crate::exec::tx;
use crate::genesis::{init_genesis, AppState};
use crate::mempool::Mempool;

use openledger_framework::store::CHAIN_ID_KEY;
/// Written every block: the height and block time (seconds) the state was produced at.
/// Besides being useful to modules, it makes every version non-empty, so the store's
/// latest version always equals the last committed height (an empty JMT version would
/// not be persisted, and Info would report a stale height after a restart).
pub(crate) const BLOCK_HEIGHT_KEY: &str = "app/block_height";
pub(crate) const BLOCK_TIME_KEY: &str = "app/block_time";

/// Open (or create) the state store at `path` with the substores of the registry's
/// modules: a module whose state grows with its users' data keeps it in its own
/// Jellyfish Merkle tree and RocksDB column families (cnidarium routes every key under
/// `{name}/` there; the main tree holds the substore's root). Consensus: changing which
/// modules have one changes every app hash.
pub async fn open_storage(path: std::path::PathBuf) -> anyhow::Result<Storage> {
    Storage::load(path, crate::registry::substores()).await
}

/// The prefixes that together list every key of the state: the main store, then each
/// substore (a prefix scan sees one store only).
pub fn state_prefixes() -> Vec<String> {
    std::iter::once(String::new()).chain(crate::registry::substores().iter().map(|s| format!("{s}/"))).collect()
}

/// Node-local settings that are not consensus: they shape this node's mempool and its
/// non-verifiable block log, never the app hash.
#[derive(Clone, Debug, Default)]
pub struct NodeSettings {
    /// Minimum gas price for CheckTx, in 10^-18 uopen per gas.
    pub min_gas_price_atto: u128,
    /// Blocks the stream log keeps (`[stream] retain_blocks`); 0 keeps every block.
    pub stream_retain_blocks: u64,
    /// Blocks CometBFT keeps (`[pruning] keep_blocks`, at least the evidence window):
    /// Commit returns `retain_height` so that the latest this many remain; 0 keeps all.
    pub retain_blocks: u64,
    /// Block streams served at once (`[stream] max_subscribers`); 0 = no limit.
    pub stream_max_subscribers: u64,
    /// Read the modules' memory prefixes from storage, not from the in-memory copy
    /// (`exec/perf/replica.rs`): for tests that compare the two.
    pub no_memory_index: bool,
    /// Every performance cache off (`exec/perf`: prefetch, the per-block read cache, the
    /// hot cache, the memory index, known signers, CheckTx's signature cache and the
    /// recheck's short path; signatures verified inline, no speculative execution): for
    /// the simulation, which shows results identical with and without them.
    pub no_caches: bool,
    /// Injected faults, for the fail-stop and crash tests (`failpoint.rs`); none in production.
    pub failpoints: Vec<crate::failpoint::Failpoint>,
    /// Bounds on the gRPC and REST servers (`rpc/limits.rs`).
    pub rpc: crate::rpc::limits::RpcLimits,
}

#[derive(Clone)]
pub struct App {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) storage: Storage,
    pub(crate) rt: tokio::runtime::Handle,
    pub(crate) settings: NodeSettings,
    /// The block executed by FinalizeBlock, waiting for Commit.
    pub(crate) pending: Mutex<Option<PendingBlock>>,
    pub(crate) mempool: Mutex<Mempool>,
    /// Signers' account numbers from earlier blocks (see sigverify.rs).
    pub(crate) known_signers: sigverify::KnownSigners,
    /// Committed values of keys recent blocks read (see prefetch.rs).
    pub(crate) hot: prefetch::HotCache,
    /// Every committed entry under the modules' memory prefixes (see replica.rs).
    pub(crate) replica: Arc<replica::Replica>,
    /// Signatures CheckTx verified (see sigverify.rs).
    pub(crate) checked: sigverify::CheckedTxs,
    /// The chain id and auth params at a version, so CheckTx does not read them per tx.
    pub(crate) constants: Mutex<Option<(u64, Arc<ChainConstants>)>>,
    /// This process has handled an InitChain (a second one is refused).
    pub(crate) init_chain_done: std::sync::atomic::AtomicBool,
    /// Requests in flight on the gRPC and REST servers, and their limits.
    pub(crate) rpc_gate: crate::rpc::limits::Gate,
    /// Where public requests run, below block execution's priority (`rpc/runtime.rs`);
    /// started on first use (most test nodes never serve a query).
    pub(crate) rpc_runtime: std::sync::OnceLock<Option<crate::rpc::runtime::RpcRuntime>>,
}

/// What every tx of a block is checked against: read from state, cached per version.
#[derive(PartialEq)]
pub struct ChainConstants {
    pub(crate) chain_id: String,
    pub(crate) params: openledger_proto::openledger::auth::v1::Params,
    /// `params.min_gas_price`, parsed: 10^-18 uopen per gas.
    pub(crate) min_gas_price_atto: u128,
}

impl ChainConstants {
    pub(crate) async fn read(snap: &Snapshot) -> Result<ChainConstants, ChainError> {
        let chain_id = App::chain_id(snap).await?;
        let params = snap.auth_params().await?;
        let min_gas_price_atto = openledger_auth::min_gas_price_atto(&params)?;
        Ok(ChainConstants { chain_id, params, min_gas_price_atto })
    }
}

pub(crate) struct PendingBlock {
    pub(crate) height: u64,
    pub(crate) batch: StagedWriteBatch,
    pub(crate) hot: HotUpdates,
    pub(crate) replica: replica::ReplicaUpdates,
}

impl App {
    pub fn new(storage: Storage, rt: tokio::runtime::Handle, settings: NodeSettings) -> App {
        let replica_max = if settings.no_memory_index || settings.no_caches { 0 } else { replica::REPLICA_MAX_ENTRIES };
        App {
            inner: Arc::new(Inner {
                storage,
                rt,
                rpc_gate: crate::rpc::limits::Gate::new(settings.rpc.clone()),
                rpc_runtime: std::sync::OnceLock::new(),
                pending: Mutex::new(None),
                mempool: Mutex::new(Mempool::default()),
                known_signers: sigverify::KnownSigners::default(),
                hot: prefetch::HotCache::default(),
                replica: Arc::new(replica::Replica::new(crate::registry::memory_prefixes(), replica_max)),
                checked: sigverify::CheckedTxs::default(),
                constants: Mutex::new(None),
                init_chain_done: std::sync::atomic::AtomicBool::new(false),
                settings,
            }),
        }
    }

    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// Txs whose signatures CheckTx verified and no block has included yet.
    pub fn checked_txs(&self) -> usize {
        self.inner.checked.len()
    }

    /// Txs CheckTx accepted that a recheck may check on what a block changed only.
    pub fn accepted_txs(&self) -> usize {
        self.inner.mempool.lock().map_or(0, |m| m.accepted_len())
    }

    /// The gRPC and REST servers' shared gate (`rpc/limits.rs`).
    pub fn rpc_gate(&self) -> &crate::rpc::limits::Gate {
        &self.inner.rpc_gate
    }

    /// The runtime the gRPC and REST servers and `abci_query` run on: its threads run at
    /// a lower OS priority than block execution (`rpc/runtime.rs`).
    /// If it cannot start (no threads left), they share the node's runtime, with a warning.
    pub fn rpc_runtime(&self) -> &tokio::runtime::Handle {
        let started = self.inner.rpc_runtime.get_or_init(|| {
            crate::rpc::runtime::RpcRuntime::new()
                .map_err(|e| tracing::warn!("RPC runtime not started ({e}): queries run beside block execution"))
                .ok()
        });
        started.as_ref().map_or(&self.inner.rt, |r| r.handle())
    }

    /// Stop the gRPC, REST and `abci_query` work and wait up to `timeout` for what is in
    /// flight (`RpcRuntime::stop`); a query arriving after it is refused.
    /// Not from async code.
    pub fn stop_rpc(&self, timeout: std::time::Duration) {
        if let Some(Some(r)) = self.inner.rpc_runtime.get() {
            r.stop(timeout);
        }
    }

    /// Whether the performance caches are on (`NodeSettings::no_caches`).
    pub(crate) fn caches(&self) -> bool {
        !self.inner.settings.no_caches
    }

    pub fn settings(&self) -> &NodeSettings {
        &self.inner.settings
    }

    pub(crate) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.inner.rt.block_on(f)
    }

    /// (height, app hash) of the last committed block; (0, []) before genesis.
    pub async fn last_committed(&self) -> anyhow::Result<(u64, Vec<u8>)> {
        let snap = self.inner.storage.latest_snapshot();
        let version = snap.version();
        if version == u64::MAX {
            return Ok((0, vec![]));
        }
        Ok((version, snap.root_hash().await?.0.to_vec()))
    }

    /// Write genesis as version 0 and return its app hash. Called again for a chain
    /// already initialised (a crash before block 1), it returns the stored hash.
    pub async fn init_chain(&self, chain_id: &str, app_state_json: &[u8]) -> Result<Vec<u8>, ChainError> {
        let storage = &self.inner.storage;
        let snap = storage.latest_snapshot();
        if snap.version() != u64::MAX {
            if snap.version() > 0 {
                return Err(sdk::invalid_height(format!(
                    "InitChain refused: the chain is at height {}; InitChain starts a new chain",
                    snap.version()
                )));
            }
            let stored: Option<String> = snap.get_raw(CHAIN_ID_KEY).await?.map(|b| String::from_utf8_lossy(&b).into_owned());
            if stored.as_deref() != Some(chain_id) {
                return Err(sdk::invalid_chain_id(format!("store holds chain {stored:?}, genesis is for {chain_id:?}")));
            }
            return Ok(snap.root_hash().await?.0.to_vec());
        }
        let app_state = AppState::from_json(app_state_json)?;
        let mut delta = StateDelta::new(snap);
        delta.put_raw(CHAIN_ID_KEY.to_string(), chain_id.as_bytes().to_vec());
        init_genesis(&mut delta, &app_state).await?;
        let t = std::time::Instant::now();
        let root = storage.commit(delta).await?;
        tracing::debug!(ms = t.elapsed().as_millis() as u64, "committed genesis");
        Ok(root.0.to_vec())
    }

    pub(crate) async fn chain_id(snap: &Snapshot) -> Result<String, ChainError> {
        snap.get_raw(CHAIN_ID_KEY)
            .await?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .ok_or_else(|| sdk::internal("chain not initialised"))
    }

    /// The chain id and auth params of `snap`, read once per version.
    pub(crate) async fn constants(&self, snap: &Snapshot) -> Result<Arc<ChainConstants>, ChainError> {
        let version = snap.version();
        if let Some((v, c)) = self.inner.constants.lock().map_err(|_| sdk::internal("poisoned"))?.as_ref() {
            if *v == version {
                return Ok(c.clone());
            }
        }
        let c = Arc::new(ChainConstants::read(snap).await?);
        *self.inner.constants.lock().map_err(|_| sdk::internal("poisoned"))? = Some((version, c.clone()));
        Ok(c)
    }

    /// Run a tx against the latest state without signature checks and report its gas
    /// (`cosmos.tx.v1beta1.Service/Simulate`). Nothing is written.
    pub async fn simulate(&self, bytes: &[u8]) -> Result<TxOutcome, QueryError> {
        let snap = self.inner.storage.latest_snapshot();
        let constants = self.constants(&snap).await?;
        let tx = tx::decode(bytes, &constants.params, ExecMode::Simulate).map_err(|e| QueryError::invalid_argument(e.message))?;
        let height = snap.version().wrapping_add(1);
        let mut delta = StateDelta::new(snap);
        let env = TxEnv { constants: &constants, height, mode: ExecMode::Simulate, preverified: &[] };
        Ok(execute_tx(&mut delta, &tx, &env).await?)
    }

    /// The snapshot a query reads: the latest, or the one at `height` while retained.
    pub fn snapshot_at(&self, height: u64) -> Result<Snapshot, QueryError> {
        let storage = &self.inner.storage;
        let latest = storage.latest_snapshot();
        if latest.version() == u64::MAX {
            return Err(QueryError::failed_precondition("the chain has no committed state yet"));
        }
        if height == 0 || height == latest.version() {
            return Ok(latest);
        }
        if height > latest.version() {
            return Err(QueryError::invalid_argument(format!("height {height} is above the latest committed height {}", latest.version())));
        }
        storage.snapshot(height).ok_or_else(|| {
            QueryError::failed_precondition(format!(
                "height {height} is no longer retained for queries (latest {}; recent heights only)",
                latest.version()
            ))
        })
    }
}

/// The block time (seconds since the epoch) the state at `snap` was produced at; None
/// for the genesis state.
pub(crate) async fn block_time_seconds(snap: &Snapshot) -> Result<Option<i64>, ChainError> {
    Ok(snap.get_raw(BLOCK_TIME_KEY).await?.and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok()).map(i64::from_be_bytes))
}

/// The cores this process may use, read once (`available_parallelism` reads cgroup files
/// on every call: measurable per CheckTx batch).
pub(crate) fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()).max(1))
}
