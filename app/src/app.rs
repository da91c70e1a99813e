//! The ABCI 2.0 application: block execution over cnidarium storage.
//!
//! FinalizeBlock executes a block into a `StateDelta` and computes the app hash with
//! `prepare_commit`, writing nothing; Commit writes the staged batch atomically. So a
//! crash at any point leaves the store at the last committed height, which Info reports,
//! and CometBFT's handshake replays the rest.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use cnidarium::{Snapshot, StagedWriteBatch, StateDelta, StateRead, StateWrite, Storage};
use openledger_auth::AuthRead;
use openledger_framework::{sdk, Address, BlockCtx, ChainError, ExecMode, QueryError, StoreWrite, Vote};
use openledger_token::state_ext::{TokenRead, TokenWrite};
use tendermint::abci::Event;

use crate::ante::Preverified;
use crate::genesis::{init_genesis, AppState};
use crate::pipeline::{execute_tx, TxEnv, TxOutcome};
use crate::prefetch::{self, HotUpdates, PrefetchMap, Prefetched};
use crate::sigverify::{self, Verifier};
use crate::tx::{self, DecodedTx};

const CHAIN_ID_KEY: &str = "app/chain_id";
/// Written every block: the height and block time (seconds) the state was produced at.
/// Besides being useful to modules, it makes every version non-empty, so the store's
/// latest version always equals the last committed height (an empty JMT version would
/// not be persisted, and Info would report a stale height after a restart).
const BLOCK_HEIGHT_KEY: &str = "app/block_height";
const BLOCK_TIME_KEY: &str = "app/block_time";

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
    /// Block streams served at once (`[stream] max_subscribers`); 0 = no limit.
    pub stream_max_subscribers: u64,
}

#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    storage: Storage,
    rt: tokio::runtime::Handle,
    settings: NodeSettings,
    /// The block executed by FinalizeBlock, waiting for Commit.
    pending: Mutex<Option<PendingBlock>>,
    mempool: Mutex<Mempool>,
    /// Signers' account numbers from earlier blocks (see sigverify.rs).
    known_signers: sigverify::KnownSigners,
    /// Committed values of keys recent blocks read (see prefetch.rs).
    hot: prefetch::HotCache,
    /// Signatures CheckTx verified (see sigverify.rs).
    checked: sigverify::CheckedTxs,
    /// The chain id and auth params at a version, so CheckTx does not read them per tx.
    constants: Mutex<Option<(u64, Arc<ChainConstants>)>>,
}

/// What every tx of a block is checked against: read from state, cached per version.
#[derive(PartialEq)]
struct ChainConstants {
    chain_id: String,
    params: openledger_proto::openledger::auth::v1::Params,
}

struct PendingBlock {
    height: u64,
    batch: StagedWriteBatch,
    hot: HotUpdates,
}

/// A block executed and staged: its results, and what storage and the hot cache commit.
struct Executed {
    tx_results: Vec<TxOutcome>,
    events: Vec<Event>,
    batch: StagedWriteBatch,
    hot: HotUpdates,
}

/// What CheckTx has accepted since the last commit, per sender: so a sender can queue
/// sequence N+1 behind N, and cannot queue more fees than its balance.
#[derive(Default)]
struct Mempool {
    pending: BTreeMap<Address, PendingSender>,
    /// The txs CheckTx accepted and no block has included yet, by tx hash: what their
    /// recheck after each commit needs (see `recheck_accepted`).
    accepted: BTreeMap<[u8; 32], Accepted>,
}

/// Most accepted txs remembered for rechecks (the cache starts over when full; a tx not
/// in it is rechecked in full).
const ACCEPTED_MAX: usize = 200_000;

/// A tx this node's CheckTx accepted: what a block can change for it. Its bytes decoded,
/// its signatures verified and its stateless rules held on arrival; none of that depends
/// on state a block can change, except through the constants (kept to compare).
#[derive(Clone)]
struct Accepted {
    signers: Vec<(Address, u64)>,
    fee: u128,
    gas_wanted: u64,
    gas_used: u64,
    timeout_height: u64,
    constants: Arc<ChainConstants>,
}

impl Mempool {
    /// Count a tx CheckTx accepted as pending: each signer's next sequence follows its
    /// own, and the fee is owed by the first signer (the fee payer).
    fn register(&mut self, signers: impl Iterator<Item = (Address, u64)>, fee: u128) {
        for (i, (addr, seq)) in signers.enumerate() {
            let entry = self.pending.entry(addr).or_default();
            entry.next_sequence = seq.saturating_add(1);
            if i == 0 {
                entry.fees = entry.fees.saturating_add(fee);
            }
        }
    }
}

#[derive(Default, Clone, Copy)]
struct PendingSender {
    next_sequence: u64,
    fees: u128,
}

/// The result of executing one block.
pub struct BlockOutcome {
    pub tx_results: Vec<TxOutcome>,
    pub events: Vec<Event>,
    pub app_hash: Vec<u8>,
}

pub struct BlockInput<'a> {
    pub height: u64,
    /// Block time from the header, in seconds since the epoch (consensus time, never wall-clock).
    pub time_seconds: i64,
    /// Nanoseconds of the block time (recorded in the block stream only).
    pub time_nanos: i32,
    pub txs: &'a [Vec<u8>],
    pub last_commit: &'a [Vote],
}

impl App {
    pub fn new(storage: Storage, rt: tokio::runtime::Handle, settings: NodeSettings) -> App {
        App {
            inner: Arc::new(Inner {
                storage,
                rt,
                settings,
                pending: Mutex::new(None),
                mempool: Mutex::new(Mempool::default()),
                known_signers: sigverify::KnownSigners::default(),
                hot: prefetch::HotCache::default(),
                checked: sigverify::CheckedTxs::default(),
                constants: Mutex::new(None),
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
        self.inner.mempool.lock().map_or(0, |m| m.accepted.len())
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
        let root = storage.commit(delta).await?;
        Ok(root.0.to_vec())
    }

    pub(crate) async fn chain_id(snap: &Snapshot) -> Result<String, ChainError> {
        snap.get_raw(CHAIN_ID_KEY)
            .await?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .ok_or_else(|| sdk::internal("chain not initialised"))
    }

    /// Execute a block on top of the last committed state and stage (not write) it.
    pub async fn finalize_block(&self, input: BlockInput<'_>) -> Result<BlockOutcome, ChainError> {
        let snap = self.inner.storage.latest_snapshot();
        let expected = snap.version().wrapping_add(1);
        if input.height != expected {
            return Err(sdk::invalid_height(format!("FinalizeBlock for height {}, but the next height is {expected}", input.height)));
        }
        let constants = self.constants(&snap).await?;
        let (chain_id, params) = (&constants.chain_id, &constants.params);

        // Decode (in parallel); read what the block will read, concurrently; then verify
        // signatures on background threads while the block executes speculatively
        // (see sigverify.rs). Phase timings go to the debug log only.
        let t_start = std::time::Instant::now();
        let threads = cores();
        let decoded = decode_all(input.txs, params, threads);
        let t_decoded = t_start.elapsed();
        let shape = decoded.iter().map(|t| t.as_ref().map_or(0, |t| t.signers().len())).collect();
        let known = &self.inner.known_signers;
        // Each tx's hash, once: the CheckTx results are found by it, the stream records it.
        let tx_hashes: Vec<[u8; 32]> = input.txs.iter().map(|t| sigverify::tx_hash(t)).collect();
        let checked = self.inner.checked.take_block(&tx_hashes, &decoded);
        if let Ok(mut m) = self.inner.mempool.lock() {
            for h in &tx_hashes {
                m.accepted.remove(h);
            }
        }
        let skip = checked.iter().map(|(tx, signer, _)| (*tx, *signer)).collect();
        let early = sigverify::early_jobs(known, &decoded, chain_id, &skip);
        let mut verifier = Verifier::start(early, threads.saturating_sub(1).max(1), shape, checked);
        let mut keys = BTreeSet::new();
        for t in decoded.iter().flatten() {
            t.prefetch_keys(&mut keys);
        }
        // Keys an earlier block left in the hot cache need no read.
        let version = snap.version();
        let cached = self.inner.hot.take_known(version, &mut keys);
        let mut prefetched = prefetch::fetch(&snap, keys, 64).await;
        self.inner.hot.remember(version, &prefetched);
        prefetched.extend(cached);
        let prefetched: PrefetchMap = Arc::new(prefetched);
        let t_prefetched = t_start.elapsed();
        verifier.add(sigverify::jobs(&prefetched, &decoded, chain_id, &verifier.started(), known));
        let block = BlockRun {
            height: input.height,
            time_seconds: input.time_seconds,
            time_nanos: input.time_nanos,
            tx_hashes: &tx_hashes,
            chain_id,
            params,
            last_commit: input.last_commit,
        };
        let speculative = self.execute_block(&block, snap.clone(), prefetched.clone(), &decoded, &verifier.assumed()).await?;
        let t_executed = t_start.elapsed();
        let (actual, all_valid) = verifier.finish();
        let t_verified = t_start.elapsed();
        let Executed { tx_results, events, batch, hot } = if all_valid {
            speculative
        } else {
            // Some signature failed: run the block again with the real results.
            drop(speculative);
            self.execute_block(&block, snap, prefetched, &decoded, &actual).await?
        };
        let app_hash = batch.root_hash().0.to_vec();
        tracing::debug!(
            height = input.height,
            txs = input.txs.len(),
            decode_ms = t_decoded.as_millis() as u64,
            prefetch_ms = (t_prefetched - t_decoded).as_millis() as u64,
            execute_and_hash_ms = (t_executed - t_prefetched).as_millis() as u64,
            verify_wait_ms = (t_verified - t_executed).as_millis() as u64,
            reexecuted = !all_valid,
            "finalized block"
        );
        *self.inner.pending.lock().map_err(|_| sdk::internal("poisoned"))? = Some(PendingBlock { height: input.height, batch, hot });
        Ok(BlockOutcome { tx_results, events, app_hash })
    }

    /// Execute a block's txs and end-of-block hooks on `snap` and stage the result.
    async fn execute_block(
        &self,
        block: &BlockRun<'_>,
        snap: Snapshot,
        prefetched: PrefetchMap,
        decoded: &[Result<DecodedTx, ChainError>],
        preverified: &[Vec<Option<Preverified>>],
    ) -> Result<Executed, ChainError> {
        let t0 = std::time::Instant::now();
        let version = snap.version();
        let mut delta = StateDelta::new(Prefetched::new(snap, prefetched.clone()));
        delta.put_u64(BLOCK_HEIGHT_KEY.to_string(), block.height);
        delta.put_raw(BLOCK_TIME_KEY.to_string(), block.time_seconds.to_be_bytes().to_vec());
        let mut tx_results = Vec::with_capacity(decoded.len());
        for (d, pre) in decoded.iter().zip(preverified) {
            let outcome = match d {
                Err(e) => TxOutcome::failed(e, 0, 0),
                Ok(t) => {
                    let env = TxEnv { chain_id: block.chain_id, height: block.height, params: block.params, mode: ExecMode::Finalize, preverified: pre };
                    execute_tx(&mut delta, t, &env).await
                }
            };
            tx_results.push(outcome);
        }

        // End of block: every module's hook, in registry order.
        let mut end = StateDelta::new(&mut delta);
        let ctx = BlockCtx { height: block.height, time_seconds: block.time_seconds, votes: block.last_commit };
        crate::registry::end_block(&mut end, &ctx).await?;
        let (_, events) = end.apply();

        // Move the block's writes onto the bare snapshot, which is what storage commits.
        let (prefetched_snap, changes) = delta.flatten();
        let parent = prefetched_snap.into_inner();
        let hot = self.inner.hot.updates(version, &prefetched, changes.unwritten_changes());
        let mut delta = StateDelta::new(parent.clone());
        changes.apply_to(&mut delta);
        // The block's record for the indexer stream: non-verifiable, in the same batch.
        let t_record = std::time::Instant::now();
        let record = crate::stream::encode::block_record(block.height, block.time_seconds, block.time_nanos, block.tx_hashes, decoded, &tx_results, &events);
        crate::stream::stage(&mut delta, &parent, block.height, record, self.inner.settings.stream_retain_blocks).await?;
        let record_us = t_record.elapsed().as_micros() as u64;
        let t_executed = t0.elapsed();
        let batch = self.inner.storage.prepare_commit(delta).await?;
        tracing::debug!(
            height = block.height,
            execute_ms = t_executed.as_millis() as u64,
            merkle_ms = (t0.elapsed() - t_executed).as_millis() as u64,
            stream_record_us = record_us,
            "executed block"
        );
        Ok(Executed { tx_results, events, batch, hot })
    }

    /// Write the staged block atomically. Returns the committed height.
    pub fn commit(&self) -> Result<u64, ChainError> {
        let pending = self.inner.pending.lock().map_err(|_| sdk::internal("poisoned"))?.take();
        let Some(p) = pending else { return Err(sdk::internal("Commit without FinalizeBlock")) };
        let version = p.batch.version();
        self.inner.storage.commit_batch(p.batch)?;
        self.inner.hot.advance(p.hot, version);
        // CometBFT rechecks the mempool after every commit; pending sequences are rebuilt.
        if let Ok(mut m) = self.inner.mempool.lock() {
            m.pending.clear();
        }
        Ok(p.height)
    }

    /// CheckTx: decode, price, then the ante step against committed state plus what this
    /// node has already accepted from the same senders. A recheck (CometBFT's, of every tx
    /// left in the mempool after a commit) of a tx this node accepted checks only what the
    /// block can have changed (`recheck_accepted`), and in full whenever that is unsure.
    pub async fn check_tx(&self, bytes: &[u8], recheck: bool) -> TxOutcome {
        let hash = sigverify::tx_hash(bytes);
        if recheck {
            if let Some(o) = self.recheck_accepted(&hash).await {
                return o;
            }
        }
        let mode = if recheck { ExecMode::Recheck } else { ExecMode::Check };
        let o = match self.check_tx_inner(bytes, hash, mode).await {
            Ok(o) => o,
            Err(e) => TxOutcome::failed(&e, 0, 0),
        };
        if o.code != 0 {
            if let Ok(mut m) = self.inner.mempool.lock() {
                m.accepted.remove(&hash);
            }
        }
        o
    }

    /// The recheck of an accepted tx, if it still passes on what a block can change: each
    /// signer's sequence is the next one (committed, or after this node's pending txs), the
    /// fee payer's balance covers its pending fees plus this fee, the height is within
    /// the tx's timeout, and the constants are those it was checked under. None — check
    /// in full, which gives the exact error — when any of that fails or is unknown, and
    /// for txs with a signer whose key no block had recorded on arrival (recording it
    /// changes what the ante step reads). Registers the tx as pending, as CheckTx does.
    async fn recheck_accepted(&self, hash: &[u8; 32]) -> Option<TxOutcome> {
        let a = self.inner.mempool.lock().ok()?.accepted.get(hash).cloned()?;
        let snap = self.inner.storage.latest_snapshot();
        let constants = self.constants(&snap).await.ok()?;
        let height = snap.version().wrapping_add(1);
        if *a.constants != *constants || (a.timeout_height != 0 && height > a.timeout_height) {
            return None;
        }
        let pending: Vec<Option<PendingSender>> = {
            let m = self.inner.mempool.lock().ok()?;
            a.signers.iter().map(|(addr, _)| m.pending.get(addr).copied()).collect()
        };
        let mut keys: BTreeSet<String> = a.signers.iter().map(|(addr, _)| openledger_token::state_key::account(addr)).collect();
        let hot: PrefetchMap = Arc::new(self.inner.hot.take_known(snap.version(), &mut keys).into_iter().collect());
        let state = Prefetched::new(snap, hot);
        for ((addr, seq), p) in a.signers.iter().zip(&pending) {
            let expected = match p {
                Some(p) => p.next_sequence,
                None => state.account(addr).await.ok()??.sequence,
            };
            if expected != *seq {
                return None;
            }
        }
        let payer = a.signers.first()?.0;
        let payer_pending = pending.first().copied().flatten().map_or(0, |p| p.fees);
        if state.balance(&payer).await.ok()? < payer_pending.saturating_add(a.fee) {
            return None;
        }
        self.inner.mempool.lock().ok()?.register(a.signers.iter().copied(), a.fee);
        Some(TxOutcome { gas_wanted: a.gas_wanted, gas_used: a.gas_used, ..Default::default() })
    }

    /// The chain id and auth params of `snap`, read once per version.
    async fn constants(&self, snap: &Snapshot) -> Result<Arc<ChainConstants>, ChainError> {
        let version = snap.version();
        if let Some((v, c)) = self.inner.constants.lock().map_err(|_| sdk::internal("poisoned"))?.as_ref() {
            if *v == version {
                return Ok(c.clone());
            }
        }
        let c = Arc::new(ChainConstants { chain_id: Self::chain_id(snap).await?, params: snap.auth_params().await? });
        *self.inner.constants.lock().map_err(|_| sdk::internal("poisoned"))? = Some((version, c.clone()));
        Ok(c)
    }

    async fn check_tx_inner(&self, bytes: &[u8], hash: [u8; 32], mode: ExecMode) -> Result<TxOutcome, ChainError> {
        let snap = self.inner.storage.latest_snapshot();
        let constants = self.constants(&snap).await?;
        let (chain_id, params) = (&constants.chain_id, &constants.params);
        let tx = tx::decode(bytes, params, mode)?;
        let needed = openledger_framework::amount::fee_for_gas(tx.gas_limit(), self.inner.settings.min_gas_price_atto);
        if tx.fee() < needed {
            return Err(sdk::insufficient_fee(format!(
                "insufficient fees; got: {}uopen required: {needed}uopen: insufficient fee",
                tx.fee()
            )));
        }
        let height = snap.version().wrapping_add(1);
        let pending: Vec<Option<PendingSender>> = {
            let m = self.inner.mempool.lock().map_err(|_| sdk::internal("poisoned"))?;
            tx.signers().iter().map(|s| m.pending.get(&s.address).copied()).collect()
        };
        // Signers' accounts a recent block left in the hot cache are not read again.
        let mut keys: BTreeSet<String> = tx.signers().iter().map(|s| openledger_token::state_key::account(&s.address)).collect();
        let hot: PrefetchMap = Arc::new(self.inner.hot.take_known(snap.version(), &mut keys).into_iter().collect());
        let mut delta = StateDelta::new(Prefetched::new(snap.clone(), hot.clone()));
        // Rechecks of this tx may take the short path only if every signer's key was on
        // record before it (see `recheck_accepted`).
        let mut keys_recorded = true;
        for (s, p) in tx.signers().iter().zip(&pending) {
            let Some(mut acct) = delta.account(&s.address).await? else {
                keys_recorded = false;
                continue;
            };
            keys_recorded &= acct.pub_key.is_some();
            if let Some(p) = p {
                acct.sequence = p.next_sequence;
                delta.set_account_auth(&acct, &s.address).await?;
            }
        }
        // A tx this node verified before (the recheck after every commit) is not
        // verified again; the ante step still checks account numbers and keys.
        let checked = self.inner.checked.get(&hash);
        let preverified: Vec<Option<Preverified>> = checked.iter().flatten().cloned().map(Some).collect();
        let env = TxEnv { chain_id, height, params, mode, preverified: &preverified };
        let outcome = execute_tx(&mut delta, &tx, &env).await;
        if outcome.code != 0 {
            return Ok(outcome);
        }
        if checked.is_none() {
            self.inner.checked.insert(hash, Self::verified_signers(&delta, &tx).await?);
        }
        // The ante saw committed balances; fees this node already queued count too.
        let payer_pending = pending.first().copied().flatten().map_or(0, |p| p.fees);
        let balance = Prefetched::new(snap, hot).balance(&tx.fee_payer()).await?;
        if balance < payer_pending.saturating_add(tx.fee()) {
            return Err(sdk::insufficient_funds(format!(
                "{balance}uopen is smaller than {}uopen (this fee plus {payer_pending}uopen pending): insufficient funds",
                payer_pending.saturating_add(tx.fee())
            )));
        }
        {
            let mut m = self.inner.mempool.lock().map_err(|_| sdk::internal("poisoned"))?;
            if keys_recorded {
                if m.accepted.len() >= ACCEPTED_MAX {
                    m.accepted.clear();
                }
                let accepted = Accepted {
                    signers: tx.signers().iter().map(|s| (s.address, s.sequence)).collect(),
                    fee: tx.fee(),
                    gas_wanted: outcome.gas_wanted,
                    gas_used: outcome.gas_used,
                    timeout_height: tx.timeout_height(),
                    constants: constants.clone(),
                };
                m.accepted.insert(hash, accepted);
            }
            m.register(tx.signers().iter().map(|s| (s.address, s.sequence)), tx.fee());
        }
        Ok(outcome)
    }

    /// Verify, on all cores, the signatures of CheckTx requests queued on the mempool
    /// connection, before they are answered one by one. A tx whose signers all verify
    /// is recorded in the CheckTx cache exactly as CheckTx records it (account number and
    /// key per signer, the rule of `PubKey::for_signer`), so its CheckTx does not verify
    /// it again. Whatever this cannot settle — an undecodable tx, an unknown signer, a bad
    /// signature — is left to CheckTx, which gives the error; nothing here is state.
    pub fn preverify_check_txs(&self, txs: &[&[u8]]) {
        self.block_on(async {
            let snap = self.inner.storage.latest_snapshot();
            let Ok(constants) = self.constants(&snap).await else { return };
            let mut hashes = Vec::with_capacity(txs.len());
            let mut decoded = Vec::with_capacity(txs.len());
            for bytes in txs {
                let hash = sigverify::tx_hash(bytes);
                if self.inner.checked.get(&hash).is_some() {
                    continue;
                }
                if let Ok(t) = tx::decode(bytes, &constants.params, ExecMode::Check) {
                    hashes.push(hash);
                    decoded.push(Ok(t));
                }
            }
            if decoded.is_empty() {
                return;
            }
            let mut keys: BTreeSet<String> =
                decoded.iter().flatten().flat_map(|t: &DecodedTx| t.signers().iter().map(|s| openledger_token::state_key::account(&s.address))).collect();
            let cached = self.inner.hot.take_known(snap.version(), &mut keys);
            // Not remembered in the hot cache: CheckTx runs beside FinalizeBlock, whose
            // record of the block's writes to cached keys could miss entries added now.
            let mut accounts = prefetch::fetch(&snap, keys, 64).await;
            accounts.extend(cached);
            let accounts: PrefetchMap = Arc::new(accounts);
            let jobs = sigverify::jobs(&accounts, &decoded, &constants.chain_id, &BTreeSet::new(), &self.inner.known_signers);
            let shape = decoded.iter().map(|t| t.as_ref().map_or(0, |t| t.signers().len())).collect();
            let threads = cores().saturating_sub(1).max(1);
            let (table, _) = Verifier::start(jobs, threads, shape, vec![]).finish();
            for (hash, signers) in hashes.into_iter().zip(table) {
                if !signers.is_empty() && signers.iter().all(Option::is_some) {
                    self.inner.checked.insert(hash, signers.into_iter().flatten().collect());
                }
            }
        })
    }

    /// The account number and key each signer of `tx` verified under, read after the
    /// ante step (which records a first-time signer's key) from its state.
    async fn verified_signers<S: StateRead>(state: &S, tx: &DecodedTx) -> Result<Vec<Preverified>, ChainError> {
        let mut out = Vec::with_capacity(tx.signers().len());
        for s in tx.signers() {
            let acct = state.account(&s.address).await?.ok_or_else(|| sdk::internal(format!("account {} vanished after the ante step", s.address)))?;
            let pubkey = crate::tx::PubKey::for_signer(acct.pub_key.as_ref(), s.pubkey.as_ref())
                .ok_or_else(|| sdk::internal(format!("account {} has no key after the ante step", s.address)))??;
            out.push(Preverified { account_number: acct.account_number, pubkey });
        }
        Ok(out)
    }

    /// Run a tx against the latest state without signature checks and report its gas
    /// (`cosmos.tx.v1beta1.Service/Simulate`). Nothing is written.
    pub async fn simulate(&self, bytes: &[u8]) -> Result<TxOutcome, QueryError> {
        let snap = self.inner.storage.latest_snapshot();
        let params = snap.auth_params().await?;
        let tx = tx::decode(bytes, &params, ExecMode::Simulate).map_err(|e| QueryError::invalid_argument(e.message))?;
        let chain_id = Self::chain_id(&snap).await?;
        let height = snap.version().wrapping_add(1);
        let mut delta = StateDelta::new(snap);
        let env = TxEnv { chain_id: &chain_id, height, params: &params, mode: ExecMode::Simulate, preverified: &[] };
        Ok(execute_tx(&mut delta, &tx, &env).await)
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
            return Err(QueryError::invalid_argument(format!(
                "height {height} is above the latest committed height {}",
                latest.version()
            )));
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
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()).max(1))
}

/// Decode a block's txs on `threads` threads, keeping their order.
fn decode_all(txs: &[Vec<u8>], params: &openledger_proto::openledger::auth::v1::Params, threads: usize) -> Vec<Result<DecodedTx, ChainError>> {
    if txs.len() < 64 || threads < 2 {
        return txs.iter().map(|b| tx::decode(b, params, ExecMode::Finalize)).collect();
    }
    let chunk = txs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = txs
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(|b| tx::decode(b, params, ExecMode::Finalize)).collect::<Vec<_>>()))
            .collect();
        let mut out = Vec::with_capacity(txs.len());
        for (part, handle) in txs.chunks(chunk).zip(parts) {
            match handle.join() {
                Ok(v) => out.extend(v),
                // A decoder thread cannot panic on any input; if it did, decode here.
                Err(_) => out.extend(part.iter().map(|b| tx::decode(b, params, ExecMode::Finalize))),
            }
        }
        out
    })
}

/// The per-block inputs execution needs besides the txs.
struct BlockRun<'a> {
    height: u64,
    time_seconds: i64,
    time_nanos: i32,
    tx_hashes: &'a [[u8; 32]],
    chain_id: &'a str,
    params: &'a openledger_proto::openledger::auth::v1::Params,
    last_commit: &'a [Vote],
}


