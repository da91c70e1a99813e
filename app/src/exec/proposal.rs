//! What a valid block is, as consensus rules: ProcessProposal rejects a proposal that
//! breaks one, PrepareProposal never builds one. Every tx of the block, in order:
//!
//! - decodes, with every stateless check (size, canonical encoding, messages, signers);
//! - keeps the block's total gas wanted (the sum of gas limits) within the chain's
//!   `max_block_gas`;
//! - passes its ante step against the committed state plus the ante steps of the txs
//!   before it: a fee at least the chain's `min_gas_price` × gas limit, that the fee
//!   payer can pay; the signers' next sequences; valid signatures.
//!
//! So a block's every tx pays its fee, and nobody — least of all a byzantine proposer —
//! can fill blocks with txs that cost their senders nothing or that take every validator
//! longer than the gas limit allows. The ante steps run without the messages (as the
//! Cosmos SDK's proposal checks do): both proposal checks see the same state, so
//! PrepareProposal's choice always passes ProcessProposal.
//!
//! Signatures are verified on all cores first (those this node's CheckTx verified are
//! not verified again), and every signature verified here is recorded in the CheckTx
//! cache, which FinalizeBlock takes its results from: a block's signatures are
//! verified once.
use std::collections::BTreeSet;
use std::sync::Arc;

use cnidarium::StateDelta;
use openledger_framework::{sdk, ChainError, ExecMode};

use super::ante::Preverified;
use super::block::decode_all;
use super::perf::prefetch::{self, PrefetchMap, Prefetched};
use super::perf::sigverify::{self, Verifier};
use super::pipeline::{execute_tx, TxEnv};
use crate::app::cores;
use crate::App;

/// How a proposal is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vet {
    /// ProcessProposal: the first tx that breaks a rule rejects the proposal.
    Process,
    /// PrepareProposal: keep, in order, the txs that pass and fit `max_bytes`; drop the rest.
    Prepare { max_bytes: usize },
}

/// What vetting a proposal found.
#[derive(Debug)]
pub enum Vetted {
    /// Every tx passes (ProcessProposal), or these are the txs kept, by index (PrepareProposal).
    Valid(Vec<usize>),
    /// ProcessProposal: tx `index` breaks a rule, with the error it would get.
    Invalid { index: usize, refusal: Refusal },
}

/// Why a tx has no place in a block: the error CheckTx or the ante step gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub codespace: String,
    pub code: u32,
    pub log: String,
}

impl From<&ChainError> for Refusal {
    fn from(e: &ChainError) -> Self {
        Refusal { codespace: e.codespace.to_string(), code: e.code, log: e.message.clone() }
    }
}

impl App {
    /// Check `txs` as the proposal for the next height. `Err` is a node fault (the store
    /// failed): the caller stops the node.
    pub async fn vet_proposal(&self, txs: &[Vec<u8>], how: Vet) -> Result<Vetted, ChainError> {
        let snap = self.inner.storage.latest_snapshot();
        let constants = self.constants(&snap).await?;
        let params = &constants.params;
        let threads = cores();
        let decoded = decode_all(txs, params, threads);
        let hashes: Vec<[u8; 32]> = txs.iter().map(|t| sigverify::tx_hash(t)).collect();

        // Signatures verified before (by CheckTx, or an earlier check of this proposal).
        let caches = self.caches();
        let checked: Vec<Option<Vec<Preverified>>> = hashes.iter().map(|h| if caches { self.inner.checked.get(h) } else { None }).collect();
        let mut verified = Vec::new();
        for (i, (c, t)) in checked.iter().zip(&decoded).enumerate() {
            if let (Some(c), Ok(t)) = (c, t) {
                if c.len() == t.signers().len() {
                    verified.extend(c.iter().cloned().enumerate().map(|(j, p)| (i, j, p)));
                }
            }
        }
        let started: BTreeSet<(usize, usize)> = verified.iter().map(|(i, j, _)| (*i, *j)).collect();

        // The signers' accounts, read concurrently; then the other signatures on all cores.
        let mut keys = BTreeSet::new();
        for t in decoded.iter().flatten() {
            keys.extend(t.signers().iter().map(|s| openledger_token::state_key::account(&s.address)));
        }
        let version = snap.version();
        let shape: Vec<usize> = decoded.iter().map(|t| t.as_ref().map_or(0, |t| t.signers().len())).collect();
        let (accounts, table) = if caches {
            let cached = self.inner.hot.take_known(version, &mut keys);
            let mut accounts = prefetch::fetch(&snap, keys, 64).await;
            accounts.extend(cached);
            let accounts: PrefetchMap = Arc::new(accounts);
            let jobs = sigverify::jobs(&accounts, &decoded, &constants.chain_id, &started, &self.inner.known_signers);
            let (table, _) = Verifier::start(jobs, threads.saturating_sub(1).max(1), shape, verified).finish();
            (accounts, table)
        } else {
            // Every signature verified inline by the ante step below.
            (PrefetchMap::default(), shape.iter().map(|n| vec![None; *n]).collect())
        };

        // The ante steps, in block order.
        let height = version.wrapping_add(1);
        let reads = Prefetched::new(snap, accounts);
        let mut state = StateDelta::new(if caches { reads } else { reads.without_read_cache() });
        let (mut gas, mut bytes) = (0u64, 0usize);
        let mut kept = Vec::with_capacity(txs.len());
        for (i, (d, pre)) in decoded.iter().zip(&table).enumerate() {
            let refusal = match d {
                Err(e) => Some(Refusal::from(e)),
                Ok(t) => {
                    let total = gas.saturating_add(t.gas_limit());
                    if let Vet::Prepare { max_bytes } = how {
                        if bytes.saturating_add(t.len()) > max_bytes {
                            break;
                        }
                    }
                    if total > params.max_block_gas {
                        Some(Refusal::from(&block_gas_error(total, params.max_block_gas)))
                    } else {
                        let env = TxEnv { constants: &constants, height, mode: ExecMode::Proposal, preverified: pre };
                        let o = execute_tx(&mut state, t, &env).await?;
                        if o.code == 0 {
                            gas = total;
                            bytes = bytes.saturating_add(t.len());
                            if checked[i].is_none() && caches {
                                self.inner.checked.insert(hashes[i], Self::verified_signers(&state, t).await?);
                            }
                            None
                        } else {
                            Some(Refusal { codespace: o.codespace, code: o.code, log: o.log })
                        }
                    }
                }
            };
            match (refusal, how) {
                (None, _) => kept.push(i),
                (Some(refusal), Vet::Process) => return Ok(Vetted::Invalid { index: i, refusal }),
                (Some(_), Vet::Prepare { .. }) => {}
            }
        }
        Ok(Vetted::Valid(kept))
    }
}

fn block_gas_error(total: u64, limit: u64) -> ChainError {
    sdk::out_of_gas(format!("the block's txs want {total} gas, the block gas limit is {limit}: out of gas"))
}
