//! Mempool bookkeeping: CheckTx and CometBFT's recheck against committed state plus
//! what this node has already accepted from the same senders, so a sender can queue
//! sequence N+1 behind N and cannot queue more fees than its balance; and the
//! verification of a queued batch's signatures on all cores before it is answered.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cnidarium::{StateDelta, StateRead};
use openledger_framework::{sdk, Address, ChainError, ExecMode};
use openledger_token::state_ext::{TokenRead, TokenWrite};

use crate::app::{cores, ChainConstants};
use crate::exec::ante::Preverified;
use crate::exec::perf::prefetch::{self, PrefetchMap, Prefetched};
use crate::exec::perf::sigverify::{self, Verifier};
use crate::exec::pipeline::{execute_tx, TxEnv, TxOutcome};
use crate::exec::tx::{self, DecodedTx};
use crate::App;

/// What CheckTx has accepted since the last commit, per sender: so a sender can queue
/// sequence N+1 behind N, and cannot queue more fees than its balance.
#[derive(Default)]
pub(crate) struct Mempool {
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
    /// Txs CheckTx accepted that a recheck may check on what a block changed only.
    pub(crate) fn accepted_len(&self) -> usize {
        self.accepted.len()
    }

    /// A block included these txs: their rechecks are over.
    pub(crate) fn forget(&mut self, hashes: &[[u8; 32]]) {
        for h in hashes {
            self.accepted.remove(h);
        }
    }

    /// After every commit: CometBFT rechecks the mempool, which rebuilds the pending
    /// sequences and fees.
    pub(crate) fn clear_pending(&mut self) {
        self.pending.clear();
    }

    /// Count a tx CheckTx accepted as pending: each signer's next sequence follows its
    /// own, and the fee is owed by the first signer (the fee payer).
    pub(crate) fn register(&mut self, signers: impl Iterator<Item = (Address, u64)>, fee: u128) {
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

impl App {
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
        if !self.caches() {
            return None;
        }
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

    async fn check_tx_inner(&self, bytes: &[u8], hash: [u8; 32], mode: ExecMode) -> Result<TxOutcome, ChainError> {
        let snap = self.inner.storage.latest_snapshot();
        let constants = self.constants(&snap).await?;
        let tx = tx::decode(bytes, &constants.params, mode)?;
        self.check_mempool_fee(&tx, &constants)?;
        let height = snap.version().wrapping_add(1);
        let pending: Vec<Option<PendingSender>> = {
            let m = self.inner.mempool.lock().map_err(|_| sdk::internal("poisoned"))?;
            tx.signers().iter().map(|s| m.pending.get(&s.address).copied()).collect()
        };
        // Signers' accounts a recent block left in the hot cache are not read again.
        let mut keys: BTreeSet<String> = tx.signers().iter().map(|s| openledger_token::state_key::account(&s.address)).collect();
        let hot: PrefetchMap = Arc::new(if self.caches() {
            self.inner.hot.take_known(snap.version(), &mut keys).into_iter().collect()
        } else {
            Default::default()
        });
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
        let checked = if self.caches() { self.inner.checked.get(&hash) } else { None };
        let preverified: Vec<Option<Preverified>> = checked.iter().flatten().cloned().map(Some).collect();
        let env = TxEnv { constants: &constants, height, mode, preverified: &preverified };
        let outcome = execute_tx(&mut delta, &tx, &env).await?;
        if outcome.code != 0 {
            return Ok(outcome);
        }
        if checked.is_none() && self.caches() {
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
        if !self.caches() {
            return;
        }
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
                // Size and fee before any signature work.
                let t = tx::decode(bytes, &constants.params, ExecMode::Check);
                if let Ok(t) = t.and_then(|t| self.check_mempool_fee(&t, &constants).map(|_| t)) {
                    hashes.push(hash);
                    decoded.push(Ok(t));
                }
            }
            if decoded.is_empty() {
                return;
            }
            let mut keys: BTreeSet<String> = decoded
                .iter()
                .flatten()
                .flat_map(|t: &DecodedTx| t.signers().iter().map(|s| openledger_token::state_key::account(&s.address)))
                .collect();
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

    /// This node's mempool price: the fee must cover the gas limit at the higher of its
    /// own `min_gas_price` and the chain's consensus minimum.
    fn check_mempool_fee(&self, tx: &DecodedTx, constants: &ChainConstants) -> Result<(), ChainError> {
        let price = self.inner.settings.min_gas_price_atto.max(constants.min_gas_price_atto);
        let needed = openledger_framework::amount::fee_for_gas(tx.gas_limit(), price);
        if tx.fee() < needed {
            return Err(crate::exec::ante::min_fee_error(tx.fee(), needed));
        }
        Ok(())
    }

    /// The account number and key each signer of `tx` verified under, read after the
    /// ante step (which records a first-time signer's key) from its state.
    pub(crate) async fn verified_signers<S: StateRead>(state: &S, tx: &DecodedTx) -> Result<Vec<Preverified>, ChainError> {
        let mut out = Vec::with_capacity(tx.signers().len());
        for s in tx.signers() {
            let acct = state
                .account(&s.address)
                .await?
                .ok_or_else(|| sdk::internal(format!("account {} vanished after the ante step", s.address)))?;
            let pubkey = tx::PubKey::for_signer(acct.pub_key.as_ref(), s.pubkey.as_ref())
                .ok_or_else(|| sdk::internal(format!("account {} has no key after the ante step", s.address)))??;
            out.push(Preverified { account_number: acct.account_number, pubkey });
        }
        Ok(out)
    }
}
