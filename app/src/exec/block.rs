//! Executing a block: FinalizeBlock decodes its txs (in parallel), prefetches what they
//! read, verifies their signatures on the other cores while the block executes
//! speculatively, runs every module's end-block hook, and computes the app hash with
//! `prepare_commit` — writing nothing; Commit writes the staged batch atomically.
use std::collections::BTreeSet;
use std::sync::Arc;

use cnidarium::{Snapshot, StagedWriteBatch, StateDelta, StateWrite};
use openledger_framework::{sdk, BlockCtx, ChainError, ExecMode, StoreWrite, Vote};
use tendermint::abci::Event;

use super::ante::Preverified;
use super::perf::prefetch::{self, HotUpdates, PrefetchMap, Prefetched};
use super::perf::replica::ReplicaUpdates;
use super::perf::sigverify::{self, Verifier};
use super::pipeline::{execute_tx, TxEnv, TxOutcome};
use super::tx::{self, DecodedTx};
use crate::app::{cores, ChainConstants, PendingBlock, BLOCK_HEIGHT_KEY, BLOCK_TIME_KEY};
use crate::{failpoint, App};

/// A block executed and staged: its results, and what storage and the hot cache commit.
struct Executed {
    tx_results: Vec<TxOutcome>,
    events: Vec<Event>,
    batch: StagedWriteBatch,
    hot: HotUpdates,
    replica: ReplicaUpdates,
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
            m.forget(&tx_hashes);
        }
        if !self.caches() {
            return self.finalize_uncached(&input, snap, &constants, &decoded, &tx_hashes).await;
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
        self.inner.replica.ensure(&snap).await;
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
            constants: &constants,
            last_commit: input.last_commit,
        };
        let speculative = self.execute_block(&block, snap.clone(), prefetched.clone(), &decoded, &verifier.assumed()).await?;
        let t_executed = t_start.elapsed();
        let (actual, all_valid) = verifier.finish();
        let t_verified = t_start.elapsed();
        let executed = if all_valid {
            speculative
        } else {
            // Some signature failed: run the block again with the real results.
            drop(speculative);
            self.execute_block(&block, snap, prefetched, &decoded, &actual).await?
        };
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
        self.stage(input.height, executed)
    }

    /// Keep an executed block for Commit; its results and app hash for CometBFT.
    fn stage(&self, height: u64, executed: Executed) -> Result<BlockOutcome, ChainError> {
        let Executed { tx_results, events, batch, hot, replica } = executed;
        let app_hash = batch.root_hash().0.to_vec();
        *self.inner.pending.lock().map_err(|_| sdk::internal("poisoned"))? = Some(PendingBlock { height, batch, hot, replica });
        Ok(BlockOutcome { tx_results, events, app_hash })
    }

    /// `finalize_block` with every performance cache off: no prefetch, no caches, every
    /// signature verified inline by the ante step, one sequential execution.
    async fn finalize_uncached(
        &self,
        input: &BlockInput<'_>,
        snap: Snapshot,
        constants: &ChainConstants,
        decoded: &[Result<DecodedTx, ChainError>],
        tx_hashes: &[[u8; 32]],
    ) -> Result<BlockOutcome, ChainError> {
        let block = BlockRun {
            height: input.height,
            time_seconds: input.time_seconds,
            time_nanos: input.time_nanos,
            tx_hashes,
            constants,
            last_commit: input.last_commit,
        };
        let none: Vec<Vec<Option<Preverified>>> = decoded.iter().map(|t| vec![None; t.as_ref().map_or(0, |t| t.signers().len())]).collect();
        let executed = self.execute_block(&block, snap, Arc::new(Default::default()), decoded, &none).await?;
        self.stage(input.height, executed)
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
        let mut reads = Prefetched::new(snap, prefetched.clone());
        reads = if self.caches() { reads.with_replica(self.inner.replica.clone(), version) } else { reads.without_read_cache() };
        let failpoints = &self.inner.settings.failpoints;
        if failpoint::fails(failpoints, failpoint::Point::Finalize, block.height) {
            reads = reads.failing_reads(block.height);
        } else {
            failpoint::check(failpoints, failpoint::Point::Finalize, block.height)?;
        }
        let mut delta = StateDelta::new(reads);
        delta.put_u64(BLOCK_HEIGHT_KEY.to_string(), block.height);
        delta.put_raw(BLOCK_TIME_KEY.to_string(), block.time_seconds.to_be_bytes().to_vec());
        let mut tx_results = Vec::with_capacity(decoded.len());
        for (d, pre) in decoded.iter().zip(preverified) {
            let outcome = match d {
                Err(e) => TxOutcome::failed(e, 0, 0),
                Ok(t) => {
                    let env = TxEnv { constants: block.constants, height: block.height, mode: ExecMode::Finalize, preverified: pre };
                    execute_tx(&mut delta, t, &env).await?
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
        let (reads_prefetched, reads_replica, reads_cached, reads_storage) = prefetched_snap.stats().counts();
        let parent = prefetched_snap.into_inner();
        let hot = self.inner.hot.updates(version, &prefetched, changes.unwritten_changes());
        let replica = self.inner.replica.updates(version, changes.unwritten_changes());
        let changes_len = changes.unwritten_changes().len();
        let mut delta = StateDelta::new(parent.clone());
        changes.apply_to(&mut delta);
        // The block's record for the indexer stream: non-verifiable, in the same batch.
        let t_record = std::time::Instant::now();
        failpoint::check(failpoints, failpoint::Point::Stream, block.height)?;
        let record = crate::stream::encode::block_record(
            block.height,
            block.time_seconds,
            block.time_nanos,
            block.tx_hashes,
            decoded,
            &tx_results,
            &events,
        );
        crate::stream::stage(&mut delta, &parent, block.height, record, self.inner.settings.stream_retain_blocks).await?;
        let record_us = t_record.elapsed().as_micros() as u64;
        let t_executed = t0.elapsed();
        let batch = self.inner.storage.prepare_commit(delta).await?;
        tracing::debug!(
            height = block.height,
            execute_ms = t_executed.as_millis() as u64,
            merkle_ms = (t0.elapsed() - t_executed).as_millis() as u64,
            stream_record_us = record_us,
            writes = changes_len,
            reads_prefetched,
            reads_replica,
            reads_cached,
            reads_storage,
            "executed block"
        );
        Ok(Executed { tx_results, events, batch, hot, replica })
    }

    /// Write the staged block atomically. Returns the committed height.
    pub fn commit(&self) -> Result<u64, ChainError> {
        let pending = self.inner.pending.lock().map_err(|_| sdk::internal("poisoned"))?.take();
        let Some(p) = pending else { return Err(sdk::internal("Commit without FinalizeBlock")) };
        let version = p.batch.version();
        let failpoints = &self.inner.settings.failpoints;
        failpoint::check(failpoints, failpoint::Point::Commit, p.height)?;
        self.inner
            .storage
            .commit_batch(p.batch)
            .map_err(|e| openledger_framework::error::node_fault::storage(format!("storage: writing block {}: {e:#}", p.height)))?;
        failpoint::check(failpoints, failpoint::Point::Committed, p.height)?;
        self.inner.hot.advance(p.hot, version);
        self.inner.replica.advance(p.replica, version);
        if let Ok(mut m) = self.inner.mempool.lock() {
            m.clear_pending();
        }
        Ok(p.height)
    }
}

/// Decode a block's txs on `threads` threads, keeping their order.
pub(crate) fn decode_all(
    txs: &[Vec<u8>],
    params: &openledger_proto::openledger::auth::v1::Params,
    threads: usize,
) -> Vec<Result<DecodedTx, ChainError>> {
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
    constants: &'a ChainConstants,
    last_commit: &'a [Vote],
}
